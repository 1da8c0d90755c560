"""Frozen values: what the unwinder returns, and what describes a session.

The unwinder returns snapshots, threads and frames; a sampling session is
described by its configuration, what was known when it started and how it
ended.
"""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "MODES",
    "Frame",
    "FrameKind",
    "Interpreter",
    "PythonVersion",
    "SamplerConfig",
    "SessionInfo",
    "SessionStats",
    "Snapshot",
    "TargetInfo",
    "Thread",
    "ThreadStatus",
]

MODES = ("wall", "cpu", "gil", "exception")
"""Which threads a sample keeps: all, those on a CPU, the GIL holder, those
handling an exception."""


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


def _check_mode(instance: object, attribute: attrs.Attribute[str], mode: str) -> None:
    if mode not in MODES:
        msg = f"unknown mode {mode!r}: choose one of {', '.join(MODES)}"
        raise ValueError(msg)


def _check_rate(instance: object, attribute: attrs.Attribute[float], rate: float) -> None:
    if not rate >= 0:
        msg = "rate must be positive (0 for as fast as possible)"
        raise ValueError(msg)


def _check_duration(
    instance: object, attribute: attrs.Attribute[float | None], duration: float | None
) -> None:
    if duration is not None and not duration > 0:
        msg = "duration must be positive (None for no limit)"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class SamplerConfig:
    """How a session samples.

    The one value the CLI, the library, the profile's metadata and the C
    sampler all take.

    Raises:
        ValueError: A mode, rate or duration that makes no sense.
    """

    rate: float = attrs.field(default=1000.0, validator=_check_rate)
    """Samples per second; ``0`` (or infinity) for as fast as possible."""
    duration: float | None = attrs.field(default=None, validator=_check_duration)
    """Seconds to sample; None until stopped or the target exits."""
    all_threads: bool = False
    """Every thread, not only each interpreter's main thread."""
    mode: str = attrs.field(default="wall", validator=_check_mode)
    """One of :data:`MODES`."""
    opcodes: bool = False
    """Record each frame's bytecode instruction."""
    native: bool = False
    """A ``<native>`` frame where C code sits between Python frames (3.11+)."""
    gc: bool = True
    """A ``<GC>`` frame on the thread running the garbage collector."""
    blocking: bool = False
    """Stop the target around each sample."""
    frame_cache: bool = True
    """Predict each thread's stack from its last sample and read it in one go
    (off: every frame is read afresh, the way to check the cache against)."""

    @property
    def interval_ns(self) -> int:
        """The requested time between samples; 0 for as fast as possible."""
        if self.rate == 0 or self.rate == float("inf"):
            return 0
        return round(1e9 / self.rate)


@attrs.frozen(kw_only=True)
class SessionInfo:
    """What is known when a sampling session starts."""

    pid: int
    command_line: tuple[str, ...]
    python_version: str
    """The target's CPython version, as ``3.12.1``."""
    config: SamplerConfig
    start_time: float
    """Seconds since the epoch."""
    opcode_names: tuple[str, ...] = ()
    """The target version's opcode names by number ("" where unused)."""
    pysampler_version: str = ""
    """The pysampler that recorded the session."""


@attrs.frozen(kw_only=True)
class ReadCosts:
    """What reading the target cost a session: the profiler's own counters."""

    reads: int = 0
    """System calls that read the target's memory."""
    bytes: int = 0
    """Bytes those calls copied."""
    frames: int = 0
    """Python frames walked."""
    frames_cached: int = 0
    """Of them, frames the thread's frame cache predicted: read in the one
    vectored read made from its last stack and found unchanged in place, or
    (CPython 3.15+) known unchanged below the thread's profiler mark."""
    writes: int = 0
    """System calls that wrote the target's memory: moving a 3.15+ thread's
    profiler mark (``last_profiled_frame``) to its leaf."""

    def per_sample(self, taken: int) -> tuple[float, float]:
        """Reads and bytes per sampling instant, over ``taken`` instants."""
        return (self.reads / taken, self.bytes / taken) if taken else (0.0, 0.0)

    @property
    def cache_hit_rate(self) -> float:
        """The share of walked frames the frame cache predicted (0 to 1)."""
        return self.frames_cached / self.frames if self.frames else 0.0

    def describe(self, taken: int) -> str:
        """``1.02 reads, 1,920 B per sample, frame cache 99.1%`` for summary lines."""
        reads, size = self.per_sample(taken)
        writes = f", {self.writes / taken:.2f} writes" if self.writes and taken else ""
        return (
            f"{reads:.2f} reads{writes}, {size:,.0f} B per sample, "
            f"frame cache {self.cache_hit_rate:.1%}"
        )


@attrs.frozen(kw_only=True)
class SessionStats:
    """How a sampling session went, known when it ends."""

    duration_ns: int
    taken: int
    """Sampling instants attempted (for a program started by ``Sampler.run``,
    those after it was let go: the instants that found the launcher still
    waiting, whose samples are dropped, are not counted)."""
    failed: int
    """Failed samples: instants whose snapshot failed, plus each wanted thread
    whose stack could not be read at an instant, plus instants that gave no
    stack where one was wanted (a target starting or shutting down)."""
    late: int
    """Deadlines missed because sampling fell behind the requested rate."""
    ended_by: str
    """``stopped``, ``duration``, ``exited`` (the target) or ``failed``."""
    error: str | None = None
    """Why sampling failed, when ``ended_by`` is ``failed``."""
    costs: ReadCosts = attrs.field(factory=ReadCosts)
    """What reading the target cost (zero in profiles saved before it was kept)."""
