"""Frozen values the unwinder returns: snapshots, threads and frames."""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "Frame",
    "FrameKind",
    "Interpreter",
    "PythonVersion",
    "Snapshot",
    "TargetInfo",
    "Thread",
    "ThreadStatus",
]


class ThreadStatus(enum.IntFlag):
    """What a thread was doing when it was read (the stdlib profiler's bits)."""

    HAS_GIL = 1
    ON_CPU = 2
    UNKNOWN = 4
    GIL_REQUESTED = 8
    HAS_EXCEPTION = 16
    MAIN_THREAD = 32


class FrameKind(enum.IntEnum):
    """A Python frame, or a marker for time spent outside Python code."""

    PYTHON = 0
    NATIVE = 1
    GC = 2

    @property
    def marker_name(self) -> str:
        """How a marker frame is named (as CPython's profiler names it)."""
        return {FrameKind.NATIVE: "<native>", FrameKind.GC: "<GC>"}.get(self, "")


@attrs.frozen
class PythonVersion:
    """A CPython version as ``sys.version_info`` gives it."""

    major: int
    minor: int
    micro: int
    releaselevel: str = "final"
    serial: int = 0

    def __str__(self) -> str:
        """``3.12.1``, or ``3.15.0a2`` for a pre-release."""
        base = f"{self.major}.{self.minor}.{self.micro}"
        suffix = {"alpha": "a", "beta": "b", "candidate": "rc"}.get(self.releaselevel)
        return f"{base}{suffix}{self.serial}" if suffix else base


@attrs.frozen
class TargetInfo:
    """Where the interpreter of a target process was found, and its argv then.

    ``command_line`` is empty where /proc did not give it (or for a memory image).
    """

    pid: int
    python_version: PythonVersion
    binary: str
    runtime_address: int
    debug_offsets: bool
    command_line: tuple[str, ...] = ()


@attrs.frozen
class Frame:
    """One frame of a thread's stack.

    Positions follow CPython's: ``lineno`` and ``end_lineno`` are 1-based,
    ``col`` and ``end_col`` are 0-based UTF-8 byte offsets into the line.
    Each is None where the version or the instruction records none.
    ``opname`` is the instruction as executed (possibly specialized) and
    ``base_opname`` the instruction it specializes; both only when asked
    for, and then ``instr_offset`` is where that instruction starts, as
    ``dis`` numbers it.  Otherwise ``instr_offset`` is the frame's own
    position, which on 3.11 and 3.12 may point into the inline caches.
    """

    filename: str
    qualname: str
    lineno: int | None
    end_lineno: int | None = None
    col: int | None = None
    end_col: int | None = None
    instr_offset: int | None = None
    opcode: int | None = None
    opname: str | None = None
    base_opname: str | None = None
    kind: FrameKind = FrameKind.PYTHON


@attrs.frozen
class Thread:
    """A thread's state and stack, frames leaf first.

    ``name`` is the thread's ``threading.Thread.name`` read from the target,
    else the kernel's name for it (``/proc/PID/task/TID/comm``), else None.
    """

    thread_id: int
    native_id: int | None
    name: str | None
    status: ThreadStatus
    frames: tuple[Frame, ...]
    interpreter_id: int = 0
    error: str | None = None

    @property
    def holds_gil(self) -> bool:
        """The thread held the GIL."""
        return ThreadStatus.HAS_GIL in self.status

    @property
    def on_cpu(self) -> bool:
        """The kernel had the thread running or runnable."""
        return ThreadStatus.ON_CPU in self.status

    @property
    def handling_exception(self) -> bool:
        """The thread was inside an ``except`` block."""
        return ThreadStatus.HAS_EXCEPTION in self.status

    @property
    def is_main(self) -> bool:
        """The interpreter's main thread."""
        return ThreadStatus.MAIN_THREAD in self.status

    @property
    def is_idle(self) -> bool:
        """Neither on a CPU nor holding the GIL: sleeping or waiting."""
        return not (self.on_cpu or self.holds_gil) and ThreadStatus.UNKNOWN not in self.status


@attrs.frozen
class Interpreter:
    """One interpreter of the target and its threads."""

    id: int
    threads: tuple[Thread, ...]


@attrs.frozen
class Snapshot:
    """Every interpreter, thread and frame of a target at one moment."""

    pid: int
    python_version: PythonVersion
    time: float
    interpreters: tuple[Interpreter, ...]

    @property
    def threads(self) -> tuple[Thread, ...]:
        """The threads of every interpreter, in the target's order."""
        return tuple(t for interp in self.interpreters for t in interp.threads)
