"""Starting tests/targets/known_stacks.py and reading what it reports."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET = Path(__file__).parent / "targets" / "known_stacks.py"
READY_TIMEOUT = 60.0


def markers() -> dict[str, int]:
    """``# @name`` marker -> line number in the target's source."""
    found = {}
    for number, line in enumerate(TARGET.read_text().splitlines(), 1):
        for name in re.findall(r"# @(\w+)", line):
            found[name] = number
    return found


@dataclass
class KnownTarget:
    """A running known_stacks.py and the stacks it says it has."""

    process: subprocess.Popen[str]
    report: dict[str, Any]
    lines: dict[str, int] = field(default_factory=markers)

    @property
    def pid(self) -> int:
        return self.process.pid

    def expected(self, thread_name: str) -> dict[str, Any]:
        for ident, thread in self.report["threads"].items():
            if thread["name"] == thread_name:
                return {"ident": int(ident), **thread}
        raise KeyError(thread_name)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()


def start(python: str, workdir: Path) -> KnownTarget:
    """Start the target under ``python`` and wait until every thread is parked."""
    report_path = workdir / f"report-{os.getpid()}-{time.monotonic_ns()}.json"
    return launch([python, str(TARGET), str(report_path)], report_path, workdir)


def launch(
    command: list[str], report_path: Path, workdir: Path, env: dict[str, str] | None = None
) -> KnownTarget:
    """Run ``command``, which must become (exec) the target writing its report
    to what we see as ``report_path``, and wait until every thread is parked."""
    errors = workdir / f"stderr-{os.getpid()}-{time.monotonic_ns()}.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=workdir, env=env
        )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], READY_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if line.strip() != "ready":
        process.kill()
        process.wait(timeout=30)
        raise RuntimeError(
            f"{command}: target did not get ready (said {line!r}; stderr {errors.read_text()!r})"
        )
    # The reporter thread exits after printing; wait for it to be gone.
    deadline = time.monotonic() + READY_TIMEOUT
    tasks = Path(f"/proc/{process.pid}/task")
    while len(list(tasks.iterdir())) > 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    return KnownTarget(process, json.loads(report_path.read_text()))
