"""``pysampler dump`` through the command line, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from known_target import TARGET, KnownTarget
from pythons import INSTALLED, Python, unsupported

UNSUPPORTED = unsupported()
TIMEOUT = 60


def pysampler(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pysampler", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def thread_block(output: str, thread_id: int) -> str:
    """The lines of one thread in the dump output."""
    blocks = output.split("\n\n")
    (block,) = [b for b in blocks if b.startswith(f"Thread {thread_id:#x}")]
    return block


def test_dump_prints_every_thread_root_first(known_target: KnownTarget) -> None:
    result = pysampler("dump", str(known_target.pid))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = known_target.lines
    command = " ".join(known_target.process.args)
    assert out.splitlines()[0] == f"Process {known_target.pid}: {command}"

    main = thread_block(out, known_target.expected("MainThread")["ident"])
    assert "(main thread, idle)" in main.splitlines()[0]
    assert main.index(f"line {lines['module_call']}, in <module>") < main.index(
        f"line {lines['leaf_wait']}, in leaf_wait"
    )
    assert "[Previous line repeated 496 more times]" in main
    assert "HOLD.wait()  # @leaf_wait" in main

    busy = thread_block(out, known_target.expected("busy-worker")["ident"])
    assert "(holds the GIL, on CPU)" in busy.splitlines()[0]
    handler = thread_block(out, known_target.expected("exception-handler")["ident"])
    assert "(handling an exception, idle)" in handler.splitlines()[0]
    assert f'File "{TARGET}", line {lines["except_wait"]}, in handler' in handler


def test_dump_names_threads_by_their_threading_names(known_target: KnownTarget) -> None:
    """Each thread's header carries its threading.Thread.name (MainThread too)."""
    out = pysampler("dump", str(known_target.pid)).stdout
    for ident, info in known_target.report["threads"].items():
        header = thread_block(out, int(ident)).splitlines()[0]
        assert f'"{info["name"]}"' in header, header


def test_dump_marks_the_executing_columns(known_target: KnownTarget) -> None:
    out = pysampler("dump", str(known_target.pid)).stdout
    main = thread_block(out, known_target.expected("MainThread")["ident"])
    frames = known_target.expected("MainThread")["frames"]
    source_line = "    nested_middle()  # @nested_outer"
    after = main[main.index(source_line) :].splitlines()[1]
    if frames[2]["col"] is None:  # 3.8-3.10 record lines only: nothing to mark
        assert "^" not in after
    else:
        assert after == "    " + "^" * len("nested_middle()")


def test_dump_opcodes(known_target: KnownTarget, python: Python) -> None:
    out = pysampler("dump", "--opcodes", str(known_target.pid)).stdout
    leaf = known_target.expected("MainThread")["frames"][2]
    main = thread_block(out, known_target.expected("MainThread")["ident"])
    (line,) = [x for x in main.splitlines() if f"line {leaf['lineno']}, in leaf_wait" in x]
    assert re.search(r"\[\w+.* at offset \d+\]", line), line
    assert leaf["instruction"] in line
    # The recursion's call ran 499 times: 3.11+ shows it specialized, with its base.
    calls = {
        x
        for x in main.splitlines()
        if f"line {known_target.lines['recurse_call']}, in recurse" in x
    }
    assert calls, main
    pattern = r"\[CALL_PY_\w+ \(CALL\) at offset \d+\]" if python.minor >= (3, 11) else None
    for call in calls:
        if pattern:
            assert re.search(pattern, call), call
        else:
            assert "[CALL_FUNCTION at offset" in call, call


def test_dump_json(known_target: KnownTarget) -> None:
    result = pysampler("dump", "--json", str(known_target.pid))
    data = json.loads(result.stdout)
    assert data["pid"] == known_target.pid
    threads = {t["thread_id"]: t for i in data["interpreters"] for t in i["threads"]}
    assert set(threads) == {int(k) for k in known_target.report["threads"]}
    main = threads[known_target.expected("MainThread")["ident"]]
    assert main["status"] == ["MAIN_THREAD"]
    assert [f["lineno"] for f in main["frames"]] == [
        f["lineno"] for f in known_target.expected("MainThread")["frames"]
    ]


def test_missing_pid() -> None:
    probe = subprocess.Popen(["true"])
    probe.wait()
    assert_one_line_error(pysampler("dump", str(probe.pid)), rf"no process with pid {probe.pid}")


def test_not_a_pid() -> None:
    result = pysampler("dump", "abc")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not a process id: 'abc'" in result.stderr


def test_non_python_process() -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.1)
        assert_one_line_error(pysampler("dump", str(sleeper.pid)), r"is not a CPython 3 process")
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("old", UNSUPPORTED, ids=[p.id for p in UNSUPPORTED])
def test_unsupported_version_is_named(old: object) -> None:
    path = old.path  # type: ignore[attr-defined]
    version = ".".join(map(str, old.version))  # type: ignore[attr-defined]
    target = subprocess.Popen([path, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)
        assert_one_line_error(
            pysampler("dump", str(target.pid)),
            rf"Python {re.escape(version)}, which .* not support",
        )
    finally:
        target.kill()
        target.wait()


ACCEPTED_WHILE_EXITING = (
    r"process \d+ exited",
    r"no process with pid \d+",
    r"is not a CPython 3 process",
    r"process \d+: .* while walking its threads",
)


def test_targets_exiting_while_read() -> None:
    """200 short-lived targets, read as they start and exit: each dump either
    succeeds or says in one line why not; nothing crashes or hangs."""
    python = INSTALLED[0].path if INSTALLED else sys.executable
    outcomes = {"dumped": 0, "refused": 0}
    for i in range(200):
        lifetime = (i % 12) * 0.05
        target = subprocess.Popen([python, "-c", f"import time; time.sleep({lifetime})"])
        time.sleep(0.01 * (i % 7))
        result = pysampler("dump", str(target.pid))
        target.wait()
        if result.returncode == 0:
            outcomes["dumped"] += 1
            continue
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert any(re.search(p, lines[0]) for p in ACCEPTED_WHILE_EXITING), lines[0]
        outcomes["refused"] += 1
    assert sum(outcomes.values()) == 200
    assert outcomes["dumped"] > 0, "no target was alive long enough to be read"


def test_permission_denied_names_the_fix() -> None:
    """Without ptrace rights (here: dropped to nobody) the error says how to get them."""
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    drop_then_dump = (
        "import os, sys, pysampler.cli; "
        "os.setgroups([]); os.setgid(65534); os.setuid(65534); "
        f"sys.exit(pysampler.cli.main(['dump', '{target.pid}']))"
    )
    try:
        time.sleep(0.2)
        result = subprocess.run(
            [sys.executable, "-c", drop_then_dump],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert_one_line_error(result, r"permission denied .*CAP_SYS_PTRACE.*ptrace_scope")
    finally:
        target.kill()
        target.wait()
