"""Sampling sessions: attach to a process, launch one, or sample this one."""

from __future__ import annotations

import os
import struct
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from pysampler import errors
from pysampler._launch import Launched, launch
from pysampler._launch.hookfilter import HookFilter
from pysampler._native import ffi, lib, raise_for, text
from pysampler.collectors import (
    Collector,
    SampleBatch,
    SessionInfo,
    SessionStats,
    StackCollector,
)
from pysampler.profile import Profile
from pysampler.unwinder import Unwinder

__all__ = ["MODES", "Progress", "Sampler"]

MODES = {"wall": 0, "cpu": 1, "gil": 2, "exception": 3}
_ENDED_BY = {1: "stopped", 2: "exited", 3: "failed"}
_DRAIN_EVERY = 0.05
_THREAD = struct.Struct("=QQqq")
_FRAME = struct.Struct("=IIiiiiii")
_NODE = struct.Struct("=II")
_CODE = struct.Struct("=IIi")


class Progress:
    """Live figures of a running session, for progress lines."""

    def __init__(self, elapsed_ns: int, taken: int, failed: int, late: int) -> None:
        """Figures as of the latest batch."""
        self.elapsed_ns = elapsed_ns
        self.taken = taken
        self.failed = failed
        self.late = late

    @property
    def rate(self) -> float:
        """Samples per second so far."""
        return self.taken / (self.elapsed_ns / 1e9) if self.elapsed_ns else 0.0


class Sampler:
    """A sampling session against one process.

    ``Sampler(pid)`` attaches to a running process; ``Sampler()`` samples
    this process (from a native thread that never takes the GIL);
    :meth:`Sampler.run` launches a program and samples it from its first
    line.  Use it as a context manager or call :meth:`start` and
    :meth:`stop`; the result is :attr:`profile`.

    Args:
        pid: the process to sample; None for this process.
        rate: samples per second; ``0`` or ``float("inf")`` for as fast as possible.
        duration: stop after this many seconds; None to run until stopped
            or until the target exits.
        all_threads: sample every thread, not only the main thread.
        mode: which threads a sample keeps: ``wall`` (all), ``cpu`` (those
            running), ``gil`` (the one holding the GIL) or ``exception``
            (those handling an exception).
        opcodes: record each frame's bytecode instruction.
        native: a ``<native>`` frame where C code sits between Python frames
            (3.11 and newer record where that happens).
        gc: a ``<GC>`` frame on the thread running the garbage collector.
        blocking: stop the target around each sample, for exact stacks.
        collectors: more collectors that receive the same batches.
        keep_samples: keep every sample in :attr:`profile`; False keeps only
            its tables and metadata, for sessions streamed elsewhere (a
            :class:`~pysampler.collectors.BinaryCollector`), so memory stays
            flat however long they run.
        on_progress: called from the drain thread with live figures.
    """

    def __init__(
        self,
        pid: int | None = None,
        *,
        rate: float = 1000.0,
        duration: float | None = None,
        all_threads: bool = False,
        mode: str = "wall",
        opcodes: bool = False,
        native: bool = False,
        gc: bool = True,
        blocking: bool = False,
        collectors: Sequence[Collector[object]] = (),
        keep_samples: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        """Prepare a session; nothing is read until :meth:`start`."""
        if mode not in MODES:
            msg = f"unknown mode {mode!r}: choose one of {', '.join(MODES)}"
            raise ValueError(msg)
        if rate < 0 or (duration is not None and duration <= 0):
            msg = "rate must be positive (0 for as fast as possible) and duration positive"
            raise ValueError(msg)
        self.pid = os.getpid() if pid is None else pid
        self.in_process = pid is None or pid == os.getpid()
        self.rate = rate
        self.duration = duration
        self.all_threads = all_threads
        self.mode = mode
        self.opcodes = opcodes
        self.native = native
        self.gc = gc
        self.blocking = blocking
        self._stack = StackCollector(keep_samples=keep_samples)
        self._collectors: list[Collector[object]] = [self._stack, *collectors]
        self._on_progress = on_progress
        self._unwinder: Unwinder | None = None
        self._native: Any = None
        self._drainer: threading.Thread | None = None
        self._stop_draining = threading.Event()
        self._launched: Launched | None = None
        self._hook_filter: HookFilter | None = None
        self._profile: Profile | None = None
        self._stats: SessionStats | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    @classmethod
    def run(
        cls,
        argv: Sequence[str],
        *,
        module: bool = False,
        python: str | None = None,
        **options: Any,
    ) -> Sampler:
        """Launch ``python SCRIPT ARGS`` (``-m MODULE`` with ``module``) and sample it.

        The program is held before its first line until sampling has begun,
        so nothing of its start is lost.  The session is started; use
        :meth:`wait` for the program to finish, then :meth:`stop`.
        """
        launched = launch(argv, module=module, python=python)
        sampler = cls(launched.pid, **options)
        sampler._launched = launched
        sampler._hook_filter = HookFilter()
        try:
            sampler.start()
        finally:
            launched.release()
        return sampler

    @property
    def interval_ns(self) -> int:
        """The requested time between samples; 0 for as fast as possible."""
        if self.rate == 0 or self.rate == float("inf"):
            return 0
        return round(1e9 / self.rate)

    def start(self) -> Sampler:
        """Attach and start sampling on a native thread."""
        if self._native is not None:
            msg = "this sampler has already started"
            raise errors.SamplerStateError(msg)
        self._unwinder = Unwinder(self.pid)
        target = self._unwinder.target
        info = SessionInfo(
            pid=self.pid,
            command_line=target.command_line,
            python_version=target.python_version,
            interval_ns=self.interval_ns,
            mode=self.mode,
            all_threads=self.all_threads,
            opcodes=self.opcodes,
            start_time=time.time(),
            opcode_names=self._unwinder.opcode_names() if self.opcodes else (),
        )
        for collector in self._collectors:
            collector.start(info)
        config = ffi.new("ps_sampler_config *")
        config.interval_ns = self.interval_ns
        config.duration_ns = round(self.duration * 1e9) if self.duration else 0
        config.mode = MODES[self.mode]
        config.all_threads = self.all_threads
        config.opcodes = self.opcodes
        config.native = self.native
        config.gc = self.gc
        config.blocking = self.blocking
        self._drainer = threading.Thread(
            target=self._drain_loop, name="pysampler-drain", daemon=True
        )
        if self.in_process:
            self._drainer.start()
            config.exclude_thread_id = self._drainer.ident or 0
        handle = ffi.new("ps_sampler **")
        code = lib.ps_sampler_start(self._unwinder.native_handle, config, handle)
        if code != 0:
            raise_for(code, f"cannot start sampling: {text(lib.ps_error_name(code))}")
        self._native = ffi.gc(handle[0], lib.ps_sampler_free)
        if not self.in_process:
            self._drainer.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until sampling ends by itself (duration or target exit).

        Returns True when it has ended.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if remaining <= 0:
                return False
            if self._native is None or lib.ps_sampler_wait(self._native, round(remaining * 1e9)):
                return True

    def stop(self) -> Profile:
        """Stop sampling, deliver the last batch and return the profile."""
        with self._lock:
            if self._profile is not None:
                return self._profile
            if self._native is None:
                msg = "this sampler was never started"
                raise errors.SamplerStateError(msg)
            lib.ps_sampler_stop(self._native)
            self._stop_draining.set()
            if self._drainer is not None and self._drainer is not threading.current_thread():
                self._drainer.join()
            last = self._drain_once()
            stats = SessionStats(
                duration_ns=int(last.elapsed_ns),
                taken=int(last.taken),
                failed=int(last.failed),
                late=int(last.late),
                ended_by=self._ended_by(last),
            )
            self._stats = stats
            results = [collector.finish(stats) for collector in self._collectors]
            profile = results[0]
            assert isinstance(profile, Profile)
            self._profile = profile
            if self._unwinder is not None:
                self._unwinder.close()
            if self._launched is not None and self._launched.process.poll() is None:
                self._launched.release()
            if self._error is not None:
                raise self._error
            return profile

    def _ended_by(self, last: Any) -> str:
        if last.state == 1 and self.duration and last.elapsed_ns >= self.duration * 1e9:
            return "duration"
        return _ENDED_BY.get(int(last.state), "stopped")

    @property
    def profile(self) -> Profile:
        """The profile, once stopped."""
        if self._profile is None:
            msg = "the profile exists once the sampler has stopped"
            raise errors.SamplerStateError(msg)
        return self._profile

    @property
    def samples_seen(self) -> int:
        """Samples delivered so far (kept in the profile or not)."""
        return self._stack.samples_seen

    @property
    def stats(self) -> SessionStats | None:
        """How the session went, once stopped."""
        return self._stats

    @property
    def launched_process(self) -> Any:
        """The ``subprocess.Popen`` of a program started by :meth:`run`, else None."""
        return self._launched.process if self._launched else None

    def __enter__(self) -> Sampler:
        """Start sampling."""
        return self.start() if self._native is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop sampling; the profile is in :attr:`profile`."""
        self.stop()

    # ---- draining ---------------------------------------------------------

    def _drain_loop(self) -> None:
        while not self._stop_draining.wait(_DRAIN_EVERY):
            if self._native is None:
                continue
            try:
                last = self._drain_once()
            except BaseException as exc:  # handed to stop()
                self._error = exc
                return
            if self._on_progress is not None:
                self._on_progress(
                    Progress(
                        int(last.elapsed_ns), int(last.taken), int(last.failed), int(last.late)
                    )
                )

    def _drain_once(self) -> Any:
        out = ffi.new("ps_batch **")
        code = lib.ps_sampler_drain(self._native, out)
        if code != 0:
            raise_for(code, "cannot collect samples: out of memory")
        native = ffi.gc(out[0], lib.ps_batch_free)
        batch = _to_batch(native)
        if self._hook_filter is not None:
            batch = self._hook_filter.apply(batch)
        for collector in self._collectors:
            collector.add(batch)
        return native


def _column(pointer: Any, count: int, typecode: str) -> array[int]:
    column = array(typecode)
    if count:
        column.frombytes(ffi.buffer(pointer, count * column.itemsize))
    return column


def _records(pointer: Any, count: int, layout: struct.Struct) -> list[tuple[int, ...]]:
    if not count:
        return []
    return list(layout.iter_unpack(ffi.buffer(pointer, count * layout.size)))


def _to_batch(b: Any) -> SampleBatch:
    """A native batch as Python columns (no per-sample Python work)."""
    ends = _column(b.string_ends, b.string_count, "I")
    data = bytes(ffi.buffer(b.string_data, ends[-1])) if b.string_count else b""
    strings = []
    start = 0
    for end in ends:
        strings.append(data[start:end].decode("utf-8", "replace"))
        start = end
    codes = _records(b.codes, b.code_count, _CODE)
    frames = _records(b.frames, b.frame_count, _FRAME)
    nodes = _records(b.nodes, b.node_count, _NODE)
    threads = _records(b.threads, b.thread_count, _THREAD)

    def col(rows: list[tuple[int, ...]], index: int, typecode: str) -> array[int]:
        return array(typecode, (row[index] for row in rows))

    return SampleBatch(
        string_first=b.string_first,
        new_strings=tuple(strings),
        code_first=b.code_first,
        code_filename=col(codes, 0, "I"),
        code_qualname=col(codes, 1, "I"),
        code_firstlineno=col(codes, 2, "i"),
        frame_first=b.frame_first,
        frame_code=col(frames, 0, "I"),
        frame_kind=col(frames, 1, "I"),
        frame_lineno=col(frames, 2, "i"),
        frame_end_lineno=col(frames, 3, "i"),
        frame_col=col(frames, 4, "i"),
        frame_end_col=col(frames, 5, "i"),
        frame_opcode=col(frames, 6, "i"),
        frame_base_opcode=col(frames, 7, "i"),
        node_first=b.node_first,
        node_parent=col(nodes, 0, "I"),
        node_frame=col(nodes, 1, "I"),
        thread_first=b.thread_first,
        thread_id=col(threads, 0, "Q"),
        thread_native_id=col(threads, 1, "Q"),
        thread_interpreter=col(threads, 2, "q"),
        thread_name=col(threads, 3, "q"),
        sample_time_ns=_column(b.sample_time_ns, b.sample_count, "q"),
        sample_thread=_column(b.sample_thread, b.sample_count, "I"),
        sample_stack=_column(b.sample_stack, b.sample_count, "I"),
        sample_status=_column(b.sample_status, b.sample_count, "I"),
        renamed_thread=_column(b.rename_thread, b.rename_count, "I"),
        renamed_name=_column(b.rename_name, b.rename_count, "q"),
    )
