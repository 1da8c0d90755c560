"""Sampling sessions: attach to a process, launch one, or sample this one."""

from __future__ import annotations

import os
import struct
import subprocess
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import attrs

from pysampler import errors
from pysampler._launch import Launched, launch
from pysampler._launch.hookfilter import HookFilter
from pysampler._native import CData, ffi, lib, raise_for, text
from pysampler.collectors import Collector, StackCollector
from pysampler.model import ReadCosts, SamplerConfig, SessionInfo, SessionStats
from pysampler.profile import (
    CodeTable,
    FrameTable,
    Profile,
    ProfileDelta,
    SampleTable,
    StackTable,
    ThreadTable,
)
from pysampler.unwinder import Unwinder

if TYPE_CHECKING:
    from pysampler._c._core import ps_batch, ps_sampler_config

__all__ = ["Progress", "Sampler"]

_C_MODES = {
    "wall": lib.PS_MODE_WALL,
    "cpu": lib.PS_MODE_CPU,
    "gil": lib.PS_MODE_GIL,
    "exception": lib.PS_MODE_EXCEPTION,
}
_ENDED_BY = {
    lib.PS_SAMPLER_STOPPED: "stopped",
    lib.PS_SAMPLER_EXITED: "exited",
    lib.PS_SAMPLER_FAILED: "failed",
}
_DRAIN_EVERY = 0.05
_THREAD = struct.Struct("=QQqq")
_FRAME = struct.Struct("=IIiiiiii")
_NODE = struct.Struct("=II")
_CODE = struct.Struct("=IIi")
for _layout, _ctype in (
    (_THREAD, "ps_thread_entry"),
    (_FRAME, "ps_frame_entry"),
    (_NODE, "ps_stack_node"),
    (_CODE, "ps_code_rec"),
):
    if _layout.size != ffi.sizeof(_ctype):  # pragma: no cover - a core built elsewhere
        _msg = f"{_ctype} is {ffi.sizeof(_ctype)} bytes in the compiled core, not {_layout.size}"
        raise errors.NativeVersionMismatchError(_msg)


@attrs.frozen
class Progress:
    """Live figures of a running session, as of its latest delta, for progress lines."""

    elapsed_ns: int
    taken: int
    failed: int
    late: int
    costs: ReadCosts = attrs.field(factory=ReadCosts)

    @property
    def rate(self) -> float:
        """Samples per second so far."""
        return self.taken / (self.elapsed_ns / 1e9) if self.elapsed_ns else 0.0


def _costs(batch: ps_batch) -> ReadCosts:
    counters = batch.counters
    return ReadCosts(
        reads=int(counters.reads),
        bytes=int(counters.bytes),
        frames=int(counters.frames),
        frames_cached=int(counters.frames_cached),
        writes=int(counters.writes),
    )


class Sampler:
    """A sampling session against one process.

    ``Sampler(pid)`` attaches to a running process; ``Sampler()`` samples
    this process (from a native thread that never takes the GIL);
    :meth:`Sampler.run` launches a program and samples it from its first
    line.  Use it as a context manager or call :meth:`start` and
    :meth:`stop`; the result is :attr:`profile`.

    Args:
        pid: the process to sample; None for this process.
        config: how to sample (rate, duration, threads, mode, what to
            record); keyword arguments of :class:`~pysampler.model.SamplerConfig`
            may be given instead, as ``Sampler(pid, rate=100, all_threads=True)``.
        collectors: more collectors that receive the same deltas.
        keep_samples: keep every sample in :attr:`profile`; False keeps only
            its tables and metadata, for sessions streamed elsewhere (a
            :class:`~pysampler.collectors.BinaryCollector`), so memory stays
            flat however long they run.
        on_progress: called from the drain thread with live figures.

    Raises:
        ValueError: A configuration that makes no sense, or both ``config``
            and its keyword arguments.
    """

    def __init__(
        self,
        pid: int | None = None,
        config: SamplerConfig | None = None,
        *,
        collectors: Sequence[Collector[object]] = (),
        keep_samples: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
        **options: Any,
    ) -> None:
        """Prepare a session; nothing is read until :meth:`start`."""
        if config is not None and options:
            msg = "give either a SamplerConfig or its keyword arguments, not both"
            raise ValueError(msg)
        self.config = config if config is not None else SamplerConfig(**options)
        self.pid = os.getpid() if pid is None else pid
        self.in_process = pid is None or pid == os.getpid()
        self._stack = StackCollector(keep_samples=keep_samples)
        self._collectors: list[Collector[object]] = [self._stack, *collectors]
        self._on_progress = on_progress
        self._unwinder: Unwinder | None = None
        self._native: CData | None = None
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
        config: SamplerConfig | None = None,
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
        sampler = cls(launched.pid, config, **options)
        sampler._launched = launched
        sampler._hook_filter = HookFilter()
        try:
            sampler.start()
        finally:
            launched.release()
        return sampler

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
            python_version=str(target.python_version),
            config=self.config,
            start_time=time.time(),
            opcode_names=self._unwinder.opcode_names() if self.config.opcodes else (),
            pysampler_version=text(lib.ps_core_version()),
        )
        for collector in self._collectors:
            collector.start(info)
        native_config = _native_config(self.config)
        self._drainer = threading.Thread(
            target=self._drain_loop, name="pysampler-drain", daemon=True
        )
        if self.in_process:
            self._drainer.start()
            cast("ps_sampler_config", native_config).exclude_thread_id = self._drainer.ident or 0
        handle = ffi.new("ps_sampler **")
        code = lib.ps_sampler_start(self._unwinder.native_handle, native_config, handle)
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
            ended_by = self._ended_by(last)
            stats = SessionStats(
                duration_ns=int(last.elapsed_ns),
                taken=self._program_instants(last),
                failed=int(last.failed),
                late=int(last.late),
                ended_by=ended_by,
                error=text(last.message) or "unknown error" if ended_by == "failed" else None,
                costs=_costs(last),
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

    def _ended_by(self, last: ps_batch) -> str:
        duration = self.config.duration
        if last.state == lib.PS_SAMPLER_STOPPED and duration and last.elapsed_ns >= duration * 1e9:
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
    def launched_process(self) -> subprocess.Popen[bytes] | None:
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
                        int(last.elapsed_ns),
                        self._program_instants(last),
                        int(last.failed),
                        int(last.late),
                        _costs(last),
                    )
                )

    def _program_instants(self, batch: ps_batch) -> int:
        """Instants taken so far, less those that found the launcher waiting."""
        dropped = self._hook_filter.dropped if self._hook_filter is not None else 0
        return int(batch.taken) - dropped

    def _drain_once(self) -> ps_batch:
        assert self._native is not None, "drained before start"
        out = ffi.new("ps_batch **")
        code = lib.ps_sampler_drain(self._native, out)
        if code != 0:
            raise_for(code, "cannot collect samples: out of memory")
        native = cast("ps_batch", ffi.gc(out[0], lib.ps_batch_free))
        delta = _to_delta(native)
        if self._hook_filter is not None:
            delta = self._hook_filter.apply(delta)
        for collector in self._collectors:
            collector.add(delta)
        return native


def _native_config(config: SamplerConfig) -> CData:
    """The C sampler's configuration for ``config``."""
    pointer = ffi.new("ps_sampler_config *")
    native = cast("ps_sampler_config", pointer)
    native.interval_ns = config.interval_ns
    native.duration_ns = round(config.duration * 1e9) if config.duration else 0
    native.mode = _C_MODES[config.mode]
    native.all_threads = config.all_threads
    native.opcodes = config.opcodes
    native.native = config.native
    native.gc = config.gc
    native.blocking = config.blocking
    native.uncached = not config.frame_cache
    return pointer


def _column(pointer: CData, count: int, typecode: str) -> array[int]:
    column = array(typecode)
    if count:
        column.frombytes(ffi.buffer(pointer, count * column.itemsize))
    return column


def _records(pointer: CData, count: int, layout: struct.Struct) -> list[tuple[int, ...]]:
    if not count:
        return []
    return list(layout.iter_unpack(ffi.buffer(pointer, count * layout.size)))


def _to_delta(b: ps_batch) -> ProfileDelta:
    """A native batch as the profile's own columns (no per-sample Python work)."""
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

    return ProfileDelta(
        string_first=b.string_first,
        strings=tuple(strings),
        code_first=b.code_first,
        codes=CodeTable(
            filename=col(codes, 0, "I"), qualname=col(codes, 1, "I"), firstlineno=col(codes, 2, "i")
        ),
        frame_first=b.frame_first,
        frames=FrameTable(*(col(frames, i, t) for i, t in enumerate("IIiiiiii"))),
        node_first=b.node_first,
        stacks=StackTable(parent=col(nodes, 0, "I"), frame=col(nodes, 1, "I")),
        thread_first=b.thread_first,
        threads=ThreadTable(
            thread_id=col(threads, 0, "Q"),
            native_id=col(threads, 1, "Q"),
            interpreter=col(threads, 2, "q"),
            name=col(threads, 3, "i"),
        ),
        samples=SampleTable(
            time_ns=_column(b.sample_time_ns, b.sample_count, "q"),
            thread=_column(b.sample_thread, b.sample_count, "I"),
            stack=_column(b.sample_stack, b.sample_count, "I"),
            status=_column(b.sample_status, b.sample_count, "I"),
            weight=array("I", [1]) * b.sample_count,
        ),
        renamed_thread=_column(b.rename_thread, b.rename_count, "I"),
        renamed_name=array("i", _column(b.rename_name, b.rename_count, "q")),
    )
