"""Cross-check against an independent reader of the same process: py-spy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from known_target import KnownTarget

from pysampler import Unwinder


def py_spy() -> str:
    """The py-spy installed beside the test runner (a test dependency)."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    assert found, "py-spy is a test dependency: pip install py-spy"
    return found


def py_spy_dump(pid: int) -> list[dict[str, Any]]:
    out = subprocess.run(
        [py_spy(), "dump", "--pid", str(pid), "--json", "--nonblocking"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    threads: list[dict[str, Any]] = json.loads(out)
    return threads


def test_stacks_agree_with_py_spy(known_target: KnownTarget) -> None:
    theirs = {t["thread_id"]: t for t in py_spy_dump(known_target.pid)}
    with Unwinder(known_target.pid) as unwinder:
        ours = {t.thread_id: t for t in unwinder.snapshot().threads}

    assert set(ours) == set(theirs)
    for thread_id, thread in ours.items():
        other = theirs[thread_id]
        assert len(thread.frames) == len(other["frames"])
        for frame, their in zip(thread.frames, other["frames"], strict=True):
            assert frame.filename == their["filename"]
            assert frame.lineno == their["line"]
            # py-spy names frames by co_name; ours are qualified where the version can.
            assert frame.qualname.rsplit(".", 1)[-1] == their["name"].rsplit(".", 1)[-1]
        assert thread.holds_gil == other["owns_gil"]
        assert thread.name == other["thread_name"]
