"""Running a profiling session for the command line: progress, signals, output."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

from pysampler.cli._formats import OutputChoice
from pysampler.collectors import Collector
from pysampler.profile import Profile
from pysampler.sampler import Progress, Sampler

__all__ = ["record", "summary_line", "write_output"]

_PROGRESS_EVERY = 0.5


class _Live:
    """The live line on a terminal and the --realtime-stats figures."""

    def __init__(self, stream: TextIO, realtime_stats: bool) -> None:
        self.stream = stream
        self.enabled = stream.isatty() or realtime_stats
        self.realtime_stats = realtime_stats
        self._last_print = 0.0
        self._last: Progress | None = None
        self._rates: list[float] = []

    def update(self, progress: Progress) -> None:
        previous, self._last = self._last, progress
        if previous is not None and progress.elapsed_ns > previous.elapsed_ns:
            span = (progress.elapsed_ns - previous.elapsed_ns) / 1e9
            self._rates.append((progress.taken - previous.taken) / span)
        now = time.monotonic()
        if not self.enabled or now - self._last_print < _PROGRESS_EVERY:
            return
        self._last_print = now
        line = (
            f"  {progress.elapsed_ns / 1e9:7.1f} s  {progress.taken:>12,} samples  "
            f"{progress.rate:>10,.0f} Hz"
        )
        if self.realtime_stats and self._rates:
            recent = self._rates[-20:]
            line += f"  (recent min {min(recent):,.0f} / max {max(recent):,.0f} Hz)"
        line += f"  failed {progress.failed:,}  late {progress.late:,}"
        if self.realtime_stats:
            line += f"  {progress.costs.describe(progress.taken)}"
        self.stream.write("\r" + line + "\x1b[K" if self.stream.isatty() else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.stream.isatty() and self._last_print:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@contextmanager
def _stop_on_signals(stop: threading.Event, received: list[int]) -> Iterator[None]:
    """SIGINT and SIGTERM end sampling (the output is still written)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def record(
    make_sampler: Callable[[list[Collector[object]], Callable[[Progress], None]], Sampler],
    choice: OutputChoice,
    *,
    realtime_stats: bool = False,
    stderr: TextIO | None = None,
) -> tuple[Sampler, Profile, int | None]:
    """Sample until the target exits, the duration ends, or a signal comes.

    Returns the sampler, the profile and the signal that stopped it, if any.
    """
    err = stderr or sys.stderr
    live = _Live(err, realtime_stats)
    extra: list[Collector[object]] = [] if choice.stream is None else [choice.stream]
    stop = threading.Event()
    received: list[int] = []
    with _stop_on_signals(stop, received):
        sampler = make_sampler(extra, live.update)
        try:
            while not sampler.wait(0.1):
                if stop.is_set():
                    break
        finally:
            live.close()
            profile = sampler.stop()
    return sampler, profile, received[0] if received else None


def write_output(choice: OutputChoice, profile: Profile) -> Path | None:
    """Render the profile as chosen (output streamed while sampling is already written)."""
    if choice.stream is not None:
        return Path(str(choice.output))
    return choice.render(profile)


def summary_line(profile: Profile, samples: int) -> str:
    """One line: samples, duration, effective rate, failed and late samples."""
    meta = profile.metadata
    seconds = meta.duration_ns / 1e9 if meta.duration_ns else 0.0
    rate = meta.taken / seconds if seconds else 0.0
    ended = {
        "exited": "the target exited",
        "duration": "the duration ended",
        "stopped": "stopped",
        "failed": f"sampling failed: {meta.stats.error}" if meta.stats else "sampling failed",
    }.get(meta.ended_by or "", meta.ended_by or "")
    return (
        f"pysampler: {samples:,} samples from {meta.taken:,} sampling instants "
        f"in {seconds:.2f} s ({rate:,.0f} Hz effective); {meta.failed:,} failed, "
        f"{meta.late:,} late; {ended}"
        + (f"; {meta.stats.costs.describe(meta.taken)}" if meta.stats and meta.taken else "")
    )
