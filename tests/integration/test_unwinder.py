"""The unwinder against real targets: exact stacks, positions and statuses."""

from __future__ import annotations

from typing import Any

import pytest
from known_target import TARGET, KnownTarget
from pythons import Python

from pysampler import Snapshot, Thread, ThreadStatus, Unwinder

PARKED_THREADS = ("MainThread", "coroutine-sleeper", "exception-handler", "busy-worker")


@pytest.fixture(scope="module")
def snapshot(known_target: KnownTarget) -> Snapshot:
    with Unwinder(known_target.pid) as unwinder:
        return unwinder.snapshot(opcodes=True)


def thread_named(snapshot: Snapshot, target: KnownTarget, name: str) -> Thread:
    ident = target.expected(name)["ident"]
    (thread,) = [t for t in snapshot.threads if t.thread_id == ident]
    return thread


def qualname(python: Python, modern: str) -> str:
    """co_qualname where the version has it; older ones only know co_name."""
    return modern if python.minor >= (3, 11) else modern.rsplit(".", 1)[-1]


def test_target_version_is_detected(known_target: KnownTarget, python: Python) -> None:
    with Unwinder(known_target.pid) as unwinder:
        version = unwinder.target.python_version
    assert (version.major, version.minor, version.micro) == python.version


def test_target_command_line_is_read(known_target: KnownTarget) -> None:
    with Unwinder(known_target.pid) as unwinder:
        assert unwinder.target.command_line == tuple(known_target.process.args)


def test_every_thread_is_found(snapshot: Snapshot, known_target: KnownTarget) -> None:
    expected = {int(ident) for ident in known_target.report["threads"]}
    assert {t.thread_id for t in snapshot.threads} == expected
    for thread in snapshot.threads:
        assert thread.error is None
        info = known_target.report["threads"][str(thread.thread_id)]
        if thread.native_id is not None:
            assert thread.native_id == info["native_id"]


def test_thread_names_are_read_from_the_target(
    snapshot: Snapshot, known_target: KnownTarget
) -> None:
    """Each thread is named by its threading.Thread.name, not the kernel's comm."""
    expected = {int(ident): info["name"] for ident, info in known_target.report["threads"].items()}
    assert sorted(expected.values()) == sorted(PARKED_THREADS)
    assert {t.thread_id: t.name for t in snapshot.threads} == expected


@pytest.mark.parametrize("name", PARKED_THREADS)
def test_frames_match_the_interpreter(
    snapshot: Snapshot, known_target: KnownTarget, name: str
) -> None:
    """Every frame agrees with what the target's own sys._current_frames() said."""
    thread = thread_named(snapshot, known_target, name)
    expected: list[dict[str, Any]] = known_target.expected(name)["frames"]
    got = [(f.filename, f.qualname, f.lineno) for f in thread.frames]
    assert got == [(e["filename"], e["qualname"], e["lineno"]) for e in expected]
    moving = name == "busy-worker"
    for index, (frame, want) in enumerate(zip(thread.frames, expected, strict=True)):
        if moving and index == 0:
            continue  # the spinning leaf moves between instructions of its line
        assert (frame.end_lineno, frame.col, frame.end_col) == (
            want["end_lineno"] if want["end_lineno"] is not None else frame.lineno,
            want["col"],
            want["end_col"],
        )
        assert frame.base_opname == want["instruction"]


def test_specialized_instructions_are_named(
    snapshot: Snapshot, known_target: KnownTarget, python: Python
) -> None:
    """The recursion's call, run 499 times, is read in the form it now has:
    specialized on 3.11+ (its base opcode beside it), plain before."""
    thread = thread_named(snapshot, known_target, "MainThread")
    line = known_target.lines["recurse_call"]
    calls = [f for f in thread.frames if f.filename == str(TARGET) and f.lineno == line]
    assert len(calls) == 499
    for frame in calls:
        assert frame.opcode is not None
        if python.minor >= (3, 11):
            assert frame.base_opname == "CALL"
            assert frame.opname is not None and frame.opname.startswith("CALL_PY_"), frame.opname
        else:
            assert frame.opname == frame.base_opname == "CALL_FUNCTION"


def test_main_thread_recursion(
    snapshot: Snapshot, known_target: KnownTarget, python: Python
) -> None:
    thread = thread_named(snapshot, known_target, "MainThread")
    ours = [(f.qualname, f.lineno) for f in reversed(thread.frames) if f.filename == str(TARGET)]
    lines = known_target.lines
    assert ours == [
        ("<module>", lines["module_call"]),
        ("main", lines["main_call"]),
        ("nested_outer", lines["nested_outer"]),
        ("nested_middle", lines["nested_middle"]),
        *[("recurse", lines["recurse_call"])] * 499,
        ("recurse", lines["recurse_base"]),
        ("leaf_wait", lines["leaf_wait"]),
    ]


def test_method_and_lambda_qualnames(
    snapshot: Snapshot, known_target: KnownTarget, python: Python
) -> None:
    thread = thread_named(snapshot, known_target, "busy-worker")
    ours = [(f.qualname, f.lineno) for f in reversed(thread.frames) if f.filename == str(TARGET)]
    lines = known_target.lines
    assert ours == [
        (qualname(python, "Worker.spin"), lines["method_call"]),
        (qualname(python, "Worker.spin.<locals>.<lambda>"), lines["lambda_call"]),
        ("spin_forever", lines["busy_loop"]),
    ]


def test_generator_and_coroutine_frames(snapshot: Snapshot, known_target: KnownTarget) -> None:
    thread = thread_named(snapshot, known_target, "coroutine-sleeper")
    ours = [(f.qualname, f.lineno) for f in reversed(thread.frames) if f.filename == str(TARGET)]
    lines = known_target.lines
    assert ours == [
        ("drive_coroutine", lines["drive_send"]),
        ("coroutine_body", lines["coroutine_call"]),
        ("numbers", lines["generator_wait"]),
    ]


def test_thread_statuses(snapshot: Snapshot, known_target: KnownTarget) -> None:
    main = thread_named(snapshot, known_target, "MainThread")
    handler = thread_named(snapshot, known_target, "exception-handler")
    sleeper = thread_named(snapshot, known_target, "coroutine-sleeper")

    assert main.status == ThreadStatus.MAIN_THREAD
    assert main.is_idle
    assert handler.status == ThreadStatus.HAS_EXCEPTION
    assert handler.is_idle
    assert sleeper.status == ThreadStatus(0)
    assert sleeper.is_idle
    # The spinning thread holds the GIL and runs, but a loaded machine can
    # catch it in the instant it hands the GIL over: most snapshots, not all.
    with Unwinder(known_target.pid) as unwinder:
        busy = [
            thread_named(unwinder.snapshot(), known_target, "busy-worker").status for _ in range(20)
        ]
    assert busy.count(ThreadStatus.HAS_GIL | ThreadStatus.ON_CPU) >= 15, busy
