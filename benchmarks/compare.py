#!/usr/bin/env python3
"""pysampler, py-spy and Austin 3.7 side by side, in one run, on the same busy targets.

For each stack depth (24 and 200 by default) and each profiler it measures:

* the maximum sustained sampling rate: samples whose innermost frame is the
  target's work loop, divided by the target's own work time, with the
  profiler asked for its highest rate;
* the profiler's CPU time (user + system, from ``os.wait4``) per 1000
  samples, at the maximum rate and at 1 kHz;
* the target's slowdown at 1 kHz and at the maximum rate: the target times
  a fixed amount of pure-Python work itself; slowdown = time under the
  profiler / time without one - 1, against the unprofiled runs just before
  and just after (baselines interleaved with profiled runs), median over
  the repeats; unprofiled runs against each other give the noise floor;
* the profiler's peak RSS (``VmHWM``, polled) over a long run at the maximum
  rate (about a million samples for pysampler) and over a run a tenth as
  long, to show whether memory grows with the samples.

It also measures how busy other processes kept the machine meanwhile, and
warns when that makes the figures unreliable.  Every process has a timeout.
Progress goes to stderr, the Markdown report to stdout.  See README.md, and
``python benchmarks/compare.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Literal

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET = HERE / "targets" / "busy.py"
DEFAULT_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python"
LOW_RATE = 1000.0
MAX = "max"
LOW = "1kHz"
TOOLS = ("pysampler", "py-spy", "austin")
BASELINE = "(no profiler)"
BUSY_WARNING = 0.25  # CPUs used by other processes that make a run unreliable
FLAT_MB = 1.0  # RSS growth that is page-sized noise
FLAT_MB_PER_MILLION = 2.0  # RSS growth per million samples still called flat

# Runs the pysampler library in a subprocess, for a CLI without ``attach``.
API_RUNNER = r"""
import sys
try:
    from pysampler import Sampler
except ImportError:
    from pysampler.sampler import Sampler
from pysampler.renderers.collapsed import collapsed_lines

pid, rate, limit, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
sampler = Sampler(pid, rate=rate, duration=limit, all_threads=False)
sampler.start()
sampler.wait(limit + 10)
profile = sampler.stop()
with open(out, "w") as stream:
    for text, weight in collapsed_lines(profile):
        stream.write(f"{text} {weight}\n")
print(f"pysampler: {profile.sample_count} samples; {sampler.stats}", file=sys.stderr)
"""


# ---- small helpers ----------------------------------------------------------


def log(message: str) -> None:
    """One progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def capture(argv: Sequence[str], timeout: float = 30.0) -> str:
    """A short command's stdout and stderr, or a note why not."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({exc})"
    return (done.stdout + done.stderr).strip()


def find_executable(name: str) -> str | None:
    """``name`` beside this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def marked_lines(target: Path, marker: str) -> frozenset[int]:
    """Line numbers of the target's lines ending in ``# <marker>``."""
    text = target.read_text(encoding="utf-8").splitlines()
    tag = f"# {marker}"
    lines = frozenset(n for n, line in enumerate(text, 1) if line.rstrip().endswith(tag))
    if not lines:
        msg = f"{target} marks no line with {tag!r}"
        raise SystemExit(msg)
    return lines


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def system_cpu() -> tuple[float, float]:
    """Seconds all CPUs have spent busy, and stolen by the hypervisor, since boot."""
    with Path("/proc/stat").open() as stream:
        fields = [int(x) for x in stream.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    steal = fields[7] if len(fields) > 7 else 0
    return busy / _CLOCK_TICKS, steal / _CLOCK_TICKS


def process_cpu(pid: int | None) -> float:
    """A live process's user + system seconds (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def wait_until_idle(max_wait_s: float) -> None:
    """Wait, up to ``max_wait_s``, until other processes use under BUSY_WARNING CPUs."""
    deadline = time.monotonic() + max_wait_s
    while time.monotonic() < deadline:
        before, _ = system_cpu()
        time.sleep(0.5)
        after, _ = system_cpu()
        if (after - before) / 0.5 < BUSY_WARNING:
            return
    if max_wait_s > 0:
        log(f"  (the machine is still busy after waiting {max_wait_s:g} s; going on)")


class CpuWindow:
    """How busy other processes kept the machine while the target worked."""

    def __init__(self, profiler_pid: int | None) -> None:
        """Open the window now."""
        self.profiler_pid = profiler_pid
        self.busy, self.steal = system_cpu()
        self.profiler = process_cpu(profiler_pid)
        self.own = sum(os.times()[:2])

    def close(self, wall_s: float, target_cpu_s: float) -> tuple[float, float]:
        """Other processes' CPUs and stolen CPUs, averaged over ``wall_s``."""
        busy, steal = system_cpu()
        profiler = process_cpu(self.profiler_pid) - self.profiler
        own = sum(os.times()[:2]) - self.own
        others = busy - self.busy - profiler - own - target_cpu_s
        return max(0.0, others) / wall_s, (steal - self.steal) / wall_s


class PeakRss(threading.Thread):
    """Polls a process's peak RSS (``VmHWM``) every 10 ms until it exits.

    ``ru_maxrss`` from ``wait4`` cannot be used: Linux carries the parent's
    high-water mark across vfork + exec, so every child of this ~20 MB
    Python process would report at least ~20 MB.
    """

    def __init__(self, pid: int) -> None:
        """Start polling ``pid``."""
        super().__init__(name=f"peak-rss-{pid}", daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.peak_kb = 0
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        """Read ``VmHWM`` until told to stop."""
        while not self.done.is_set():
            with contextlib.suppress(OSError, ValueError):
                for line in self.path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        break
            self.done.wait(0.01)

    def finish(self) -> int:
        """Stop polling (before the process is reaped) and return the peak in kB."""
        self.done.set()
        self.join()
        return self.peak_kb


@dataclass
class Finished:
    """How a child process ended and what it used."""

    returncode: int | None  # None: it had to be killed after its timeout
    cpu_s: float
    maxrss_kb: int


def wait_rusage(
    process: subprocess.Popen[bytes], timeout: float, peak: PeakRss | None = None
) -> Finished:
    """Wait for ``process`` with ``os.wait4`` (its own CPU time), killing it after ``timeout``.

    On timeout it gets SIGINT (profilers write their output on it), then
    SIGKILL five seconds later.  The peak RSS is ``peak``'s, stopped once
    the process has exited but before it is reaped (so its pid is not reused).
    """
    deadline = time.monotonic() + timeout
    killed = False
    signals = [signal.SIGINT, signal.SIGKILL]
    while True:
        exited = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if exited is not None:
            peak_kb = peak.finish() if peak is not None else 0
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return Finished(
                None if killed else process.returncode,
                usage.ru_utime + usage.ru_stime,
                peak_kb,
            )
        if time.monotonic() > deadline:
            if not signals:  # not even SIGKILL ended it: give up on it
                return Finished(None, 0.0, peak.finish() if peak is not None else 0)
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signals.pop(0))
            killed = True
            deadline = time.monotonic() + 5.0
        time.sleep(0.01)


def read_line(stream: IO[bytes], timeout: float) -> str | None:
    """The next line of a child's stdout, or None on timeout or end of file."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    line = stream.readline()
    return line.decode("utf-8", "replace").strip() if line else None


def kill_quietly(process: subprocess.Popen[bytes] | None) -> None:
    """Kill and reap a child that may already be gone."""
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, ChildProcessError):
        process.wait(timeout=10)


# ---- reading the profilers' outputs -------------------------------------------

# py-spy raw: ``func (file:line)``; pysampler collapsed and Austin: ``file:func:line``.
_PYSPY_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
_COLON_FRAME = re.compile(r"^(?P<file>.+):(?P<func>[^:]*):(?P<line>\d+)$")


def _frame(label: str) -> tuple[str, int] | None:
    match = _PYSPY_FRAME.match(label) or _COLON_FRAME.match(label)
    if match is None:
        return None  # a thread or process prefix: tid:..., P..., T...
    return match["func"].rsplit(".", 1)[-1], int(match["line"])


@dataclass
class Tally:
    """Samples counted in one output file."""

    samples: int = 0  # samples holding a Python stack
    work: int = 0  # ... whose innermost frame is in the work loop
    work_full_depth: int = 0  # ... whose stack has every frame of the target
    waiting: int = 0  # samples of the target waiting for its go line


def tally(
    path: Path,
    style: Literal["folded", "lines"],
    work: frozenset[int],
    wait: frozenset[int],
    depth: int,
) -> Tally:
    """Count samples: folded lines carry a count, Austin writes a line per sample."""
    result = Tally()
    # stack -> (has frames, in the work loop, full depth, waiting)
    seen: dict[str, tuple[bool, bool, bool, bool]] = {}
    with path.open(encoding="utf-8", errors="replace") as stream:
        for raw in stream:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            stack, space, metric = line.rpartition(" ")
            if not space:
                continue
            known = seen.get(stack)
            if known is None:
                frames = [f for f in map(_frame, stack.split(";")) if f is not None]
                bottom = bool(frames) and frames[-1][0] == "bottom"
                in_work = bottom and frames[-1][1] in work
                waiting = bottom and frames[-1][1] in wait
                known = (bool(frames), in_work, len(frames) == depth, waiting)
                seen[stack] = known
            has_frames, in_work, full, waiting = known
            if not has_frames:
                continue
            count = int(metric) if style == "folded" else 1
            result.samples += count
            if in_work:
                result.work += count
                if full:
                    result.work_full_depth += count
            elif waiting:
                result.waiting += count
    return result


# ---- the profilers ------------------------------------------------------------


@dataclass
class Tool:
    """How to run one profiler against a process and read what it wrote."""

    name: str
    command: Callable[[int, str, float, Path], list[str]]  # pid, rate, time limit, output
    style: Literal["folded", "lines"]
    version: str
    output_suffix: str = ".txt"
    # Turns the output into folded text before counting (pysampler's binary).
    convert: Callable[[Path, Path], list[str]] | None = None
    # The same profiler as it is best run for a long time (pysampler's CLI: binary).
    for_long_runs: Tool | None = None


def pysampler_cli_usable(executable: str | None) -> bool:
    """True when ``pysampler attach`` exists with ``--collapsed``."""
    if executable is None:
        return False
    return "--collapsed" in capture([executable, "attach", "--help"])


def make_pysampler(mode: str, executable: str | None, python: str, binary: bool) -> Tool:
    """Run pysampler through its CLI, or through its library in a subprocess."""
    version = capture([python, "-c", "import pysampler; print(pysampler.__version__)"])
    commit = capture(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    version = f"{version} ({commit})"
    if mode == "cli" and executable is not None:

        def cli(pid: int, rate: str, limit: float, out: Path) -> list[str]:
            speed = "max" if rate == MAX else "1khz"
            kind = "--binary" if binary else "--collapsed"
            limit_text = f"{limit:g}"
            return [
                executable,
                "attach",
                str(pid),
                "-r",
                speed,
                "-d",
                limit_text,
                kind,
                "-o",
                str(out),
            ]

        def replay(binary_file: Path, out: Path) -> list[str]:
            return [executable, "replay", str(binary_file), "--collapsed", "-o", str(out)]

        tool = Tool(
            "pysampler",
            cli,
            "folded",
            f"{version}, CLI `pysampler attach`: "
            + ("--binary" if binary else "--collapsed, --binary in the RSS runs"),
            output_suffix=".bin" if binary else ".txt",
            convert=replay if binary else None,
        )
        if not binary:
            tool.for_long_runs = make_pysampler(mode, executable, python, binary=True)
        return tool

    def api(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        hz = "0" if rate == MAX else f"{LOW_RATE:g}"
        return [python, "-c", API_RUNNER, str(pid), hz, f"{limit:g}", str(out)]

    return Tool("pysampler", api, "folded", f"{version}, library `Sampler` in a subprocess")


def make_pyspy(executable: str, max_rate: int) -> Tool:
    """py-spy record, non-blocking, raw (folded) output, idle samples kept."""

    def command(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        hz = max_rate if rate == MAX else int(LOW_RATE)
        # --idle keeps the samples of the waiting target, so every sample taken
        # is written; --duration is a sample budget (rate x seconds), so it is
        # generous and the run ends when the target exits.
        return [
            executable,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(hz),
            "--duration",
            str(round(limit)),
            "--nonblocking",
            "--idle",
            "--format",
            "raw",
            "-o",
            str(out),
        ]

    version = capture([executable, "--version"])
    return Tool("py-spy", command, "folded", f"{version} (`--rate {max_rate}` for max)")


def make_austin(executable: str) -> Tool:
    """Austin: ``-i 0`` for its highest rate, ``-i 1000`` (µs) for 1 kHz."""

    def command(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        interval = "0" if rate == MAX else str(round(1e6 / LOW_RATE))
        return [executable, "-i", interval, "-x", str(round(limit)), "-p", str(pid), "-o", str(out)]

    version = capture([executable, "-V"])
    if not version.startswith("austin 3.7"):
        log(f"warning: {executable} is {version!r}, not Austin 3.7")
    return Tool("austin", command, "lines", f"{version} (`-i 0` for max)")


# ---- one run -----------------------------------------------------------------


@dataclass
class Run:
    """One target process, with or without a profiler."""

    phase: str  # "speed" or "rss"
    depth: int
    tool: str | None
    rate: str | None
    round: int
    elapsed_s: float | None = None  # the target's work time
    work_cpu_s: float | None = None  # the target's CPU time for the work
    other_cpus: float | None = None  # CPUs kept busy by other processes meanwhile
    steal_cpus: float | None = None  # CPUs' worth of time the hypervisor took meanwhile
    samples: int = 0
    work_samples: int = 0
    work_full_depth: int = 0
    cpu_s: float = 0.0
    maxrss_kb: int = 0
    error: str = ""
    slowdown: float | None = None
    slowdown_cpu: float | None = None

    @property
    def ok(self) -> bool:
        """Nothing went wrong."""
        return not self.error and self.elapsed_s is not None

    @property
    def work_rate(self) -> float | None:
        """Samples per second while the target worked."""
        if not self.ok or not self.elapsed_s:
            return None
        return self.work_samples / self.elapsed_s

    @property
    def cpu_per_1000(self) -> float | None:
        """Profiler CPU seconds per 1000 samples."""
        if not self.ok or not self.samples:
            return None
        return self.cpu_s / (self.samples / 1000)


@dataclass
class Settings:
    """What every run shares."""

    python: str
    work: frozenset[int]
    wait: frozenset[int]
    settle_s: float
    timeout_s: float
    scratch: Path
    keep: bool
    wait_idle_s: float = 0.0


def run_target(
    settings: Settings,
    run: Run,
    target_args: list[str],
    tool: Tool | None,
    profiler_limit_s: float,
) -> Run:
    """Start the target, attach the profiler, let the target work, count the samples."""
    target: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    peak: PeakRss | None = None
    name = f"{run.phase}-d{run.depth}-{run.tool}-{run.rate}-r{run.round}"
    out = settings.scratch / f"{name}{tool.output_suffix if tool else ''}"
    err_path = settings.scratch / f"{name}.stderr"
    wait_until_idle(settings.wait_idle_s)
    try:
        target = subprocess.Popen(
            [settings.python, str(TARGET), "--depth", str(run.depth), *target_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert target.stdin is not None and target.stdout is not None
        if read_line(target.stdout, 30.0) != "ready":
            run.error = "target did not start"
            return run
        if tool is not None:
            with err_path.open("wb") as err:
                profiler = subprocess.Popen(
                    tool.command(target.pid, run.rate or MAX, profiler_limit_s, out),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            peak = PeakRss(profiler.pid)
            time.sleep(settings.settle_s)
            if os.waitid(os.P_PID, profiler.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                run.error = f"{tool.name} exited early: {tail(err_path)}"
                return run
        window = CpuWindow(profiler.pid if profiler else None)
        target.stdin.write(b"go\n")
        target.stdin.flush()
        line = read_line(target.stdout, settings.timeout_s)
        if line is None:
            run.error = "target timed out"
            return run
        if line.startswith("elapsed "):
            fields = line.split()
            run.elapsed_s, run.work_cpu_s = float(fields[1]), float(fields[2])
            run.other_cpus, run.steal_cpus = window.close(run.elapsed_s, run.work_cpu_s)
        target.wait(timeout=30)
        if profiler is not None and tool is not None:
            finished = wait_rusage(profiler, 60.0, peak)
            run.cpu_s, run.maxrss_kb = finished.cpu_s, finished.maxrss_kb
            if finished.returncode is None:
                run.error = f"{tool.name} did not exit after the target: {tail(err_path)}"
                return run
            if tool.convert is not None:
                folded = out.with_suffix(".folded")
                convert = tool.convert(out, folded)
                done = subprocess.run(convert, capture_output=True, timeout=300, check=False)
                if done.returncode != 0:
                    run.error = f"{shlex.join(convert)} failed: {done.stderr[-300:]!r}"
                    return run
                if not settings.keep:
                    out.unlink(missing_ok=True)
                out = folded
            if not out.exists():
                run.error = f"{tool.name} wrote no output: {tail(err_path)}"
                return run
            counted = tally(out, tool.style, settings.work, settings.wait, run.depth)
            run.samples, run.work_samples = counted.samples, counted.work
            run.work_full_depth = counted.work_full_depth
            if counted.samples == 0:
                run.error = f"{tool.name} wrote no samples: {tail(err_path)}"
            elif counted.waiting == 0:
                # Its first sample came after the work began: the window is short.
                run.error = (
                    f"{tool.name} began sampling only after the target's work began; "
                    "give it a longer --settle"
                )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        kill_quietly(target)
        if profiler is not None and profiler.returncode is None:
            wait_rusage(profiler, 0.0, peak)
        if peak is not None:
            peak.finish()
        if not settings.keep:
            out.unlink(missing_ok=True)
            err_path.unlink(missing_ok=True)
    return run


def tail(path: Path, size: int = 300) -> str:
    """The end of a log file, on one line."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(text[-size:].split("\n")).strip(" |")


def describe(run: Run) -> str:
    """A progress line for one run."""
    label = "baseline" if run.tool is None else f"{run.tool} @{run.rate}"
    if run.error:
        return f"  d{run.depth} {label}: FAILED {run.error}"
    parts = [f"  d{run.depth} {label}:"]
    if run.elapsed_s is not None:
        parts.append(f"work {run.elapsed_s:.3f} s")
    if run.work_cpu_s is not None:
        parts.append(f"(cpu {run.work_cpu_s:.3f} s; others {run.other_cpus or 0:.2f} CPUs)")
    if run.tool is not None:
        parts.append(f"{run.samples} samples ({run.work_samples} during work)")
        if run.work_rate is not None:
            parts.append(f"{run.work_rate:,.0f}/s")
        parts.append(f"cpu {run.cpu_s:.2f} s, rss {run.maxrss_kb / 1024:.1f} MB")
    return " ".join(parts)


# ---- the phases ----------------------------------------------------------------


def calibrate(settings: Settings, seconds: float) -> int:
    """Units of work that take about ``seconds`` without a profiler."""
    times = []
    for attempt in range(3):
        probe = run_target(
            settings, Run("calibrate", 24, None, None, attempt), ["--units", "40"], None, 0
        )
        if probe.elapsed_s:
            times.append(probe.elapsed_s / 40)
    if not times:
        msg = f"the target does not run with {settings.python}"
        raise SystemExit(msg)
    return max(1, round(seconds / min(times)))


def speed_phase(
    settings: Settings,
    tools: Sequence[Tool],
    depths: Sequence[int],
    repeats: int,
    units: int,
    rng: random.Random,
) -> list[Run]:
    """Rates, CPU and slowdowns: per round, each tool between two baselines."""
    runs: list[Run] = []
    limit = settings.settle_s + settings.timeout_s + 10
    for depth in depths:
        for round_ in range(repeats):
            log(f"depth {depth}, round {round_ + 1}/{repeats}")
            order = list(tools)
            rng.shuffle(order)
            plan: list[tuple[Tool | None, str | None]] = []
            for profiler in order:
                rates = [LOW, MAX]
                rng.shuffle(rates)
                plan.append((None, None))
                plan.extend((profiler, rate) for rate in rates)
            plan.append((None, None))
            done: list[Run] = []
            for tool, rate in plan:
                run = Run("speed", depth, tool.name if tool else None, rate, round_)
                run_target(settings, run, ["--units", str(units)], tool, limit)
                log(describe(run))
                done.append(run)
            set_slowdowns(done)
            runs.extend(done)
    return runs


def set_slowdowns(sequence: list[Run]) -> None:
    """Slowdown of each run against the baselines just before and after it.

    An unprofiled run gets one too, against its neighbouring unprofiled runs:
    how far apart identical runs are is the noise floor.
    """
    for index, run in enumerate(sequence):
        if not run.ok or run.elapsed_s is None:
            continue
        before = next((r for r in reversed(sequence[:index]) if r.tool is None and r.ok), None)
        after = next((r for r in sequence[index + 1 :] if r.tool is None and r.ok), None)
        references = [r.elapsed_s for r in (before, after) if r is not None and r.elapsed_s]
        if references:
            run.slowdown = run.elapsed_s / statistics.fmean(references) - 1
        cpu_references = [r.work_cpu_s for r in (before, after) if r is not None and r.work_cpu_s]
        if cpu_references and run.work_cpu_s is not None:
            run.slowdown_cpu = run.work_cpu_s / statistics.fmean(cpu_references) - 1


def rss_phase(
    settings: Settings,
    tools: Sequence[Tool],
    long_s: dict[str, float],
    short_fraction: float,
) -> list[Run]:
    """Peak RSS at the maximum rate over a long run and one a tenth as long."""
    runs = []
    for tool in tools:
        for label, seconds in (
            ("short", max(1.0, long_s[tool.name] * short_fraction)),
            ("long", long_s[tool.name]),
        ):
            run = Run("rss", 24, tool.name, MAX, 0 if label == "short" else 1)
            limit = settings.settle_s + seconds + settings.timeout_s
            run_target(settings, run, ["--seconds", f"{seconds:.1f}"], tool, limit)
            # A run of --seconds prints no elapsed line; its length is known.
            if not run.error:
                run.elapsed_s = seconds
            log(f"  rss {label} ({seconds:.0f} s): " + describe(run).strip())
            runs.append(run)
    return runs


# ---- the report -------------------------------------------------------------------


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    """A number, or a dash."""
    return "-" if value is None else f"{value:{spec}}{suffix}"


def spread(values: Sequence[float], spec: str, suffix: str = "") -> str:
    """``median [min, max]`` (just the value for one run)."""
    if not values:
        return "failed"
    mid = statistics.median(values)
    if len(values) == 1:
        return f"{mid:{spec}}{suffix}"
    return f"{mid:{spec}}{suffix} [{min(values):{spec}}, {max(values):{spec}}]"


@dataclass
class Figures:
    """The medians for one profiler at one depth."""

    max_rate: list[float] = field(default_factory=list)
    cpu_max: list[float] = field(default_factory=list)
    cpu_low: list[float] = field(default_factory=list)
    slow_low: list[float] = field(default_factory=list)
    slow_max: list[float] = field(default_factory=list)
    slow_low_cpu: list[float] = field(default_factory=list)
    slow_max_cpu: list[float] = field(default_factory=list)
    low_rate: list[float] = field(default_factory=list)
    work: int = 0
    full: int = 0


def gather(runs: Iterable[Run]) -> dict[tuple[int, str], Figures]:
    """Per (depth, tool) lists of per-run figures."""
    table: dict[tuple[int, str], Figures] = {}
    for run in runs:
        if run.phase != "speed" or not run.ok:
            continue
        figures = table.setdefault((run.depth, run.tool or BASELINE), Figures())
        rate, cpu = run.work_rate, run.cpu_per_1000
        if run.tool is None:
            figures.slow_low += [run.slowdown] if run.slowdown is not None else []
            figures.slow_low_cpu += [run.slowdown_cpu] if run.slowdown_cpu is not None else []
        elif run.rate == MAX:
            figures.max_rate += [rate] if rate is not None else []
            figures.cpu_max += [cpu] if cpu is not None else []
            figures.slow_max += [run.slowdown] if run.slowdown is not None else []
            figures.slow_max_cpu += [run.slowdown_cpu] if run.slowdown_cpu is not None else []
        else:
            figures.low_rate += [rate] if rate is not None else []
            figures.cpu_low += [cpu] if cpu is not None else []
            figures.slow_low += [run.slowdown] if run.slowdown is not None else []
            figures.slow_low_cpu += [run.slowdown_cpu] if run.slowdown_cpu is not None else []
        figures.work += run.work_samples
        figures.full += run.work_full_depth
    return table


def noise_floor(
    figures: dict[tuple[int, str], Figures], depth: int
) -> tuple[float, float, int] | None:
    """Median absolute slowdown of unprofiled runs against their neighbours."""
    base = figures.get((depth, BASELINE))
    if base is None or not base.slow_low:
        return None
    wall = statistics.median(abs(s) for s in base.slow_low)
    cpu = statistics.median(abs(s) for s in base.slow_low_cpu) if base.slow_low_cpu else 0.0
    return wall, cpu, len(base.slow_low)


def ratio(ours: float | None, theirs: float | None) -> str:
    """``ours / theirs`` as ``1.23x``."""
    if ours is None or theirs is None or theirs <= 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def report(
    runs: list[Run],
    tools: Sequence[Tool],
    depths: Sequence[int],
    environment: dict[str, str],
    command: str,
    minutes: float,
    failures: list[str],
) -> str:
    """The Markdown report."""
    names = [tool.name for tool in tools]
    figures = gather(runs)
    out: list[str] = ["# pysampler vs py-spy vs Austin", ""]
    out += [f"Command: `{command}` ({minutes:.1f} min)", ""]
    out += [f"- {key}: {value}" for key, value in environment.items()]
    timed = [r for r in runs if r.phase == "speed" and r.other_cpus is not None]
    others = [r.other_cpus for r in timed if r.other_cpus is not None]
    steal = [r.steal_cpus for r in timed if r.steal_cpus is not None]
    if others:
        out.append(
            "- other processes while the targets worked: "
            f"{spread(others, '.2f', ' CPUs busy')}; "
            f"hypervisor steal {spread(steal, '.2f', ' CPUs')}"
        )
        busy = statistics.median(others)
        if busy > BUSY_WARNING:
            out += [
                "",
                f"**Warning: other processes kept {busy:.2f} CPUs busy (median) while the "
                "targets worked. They compete with the target and the profiler, so the rates "
                "and the wall-clock slowdowns below are not reliable; rerun on an idle "
                "machine.**",
            ]
    out += [
        "",
        "Medians over the repeats, [min, max] in brackets. Max rate: samples taken in",
        "the target's work loop per second of work, the profiler at its highest rate.",
        "CPU: the profiler process's user + system time (its start included) per 1000",
        "samples it wrote. Slowdown: the target's time for a fixed amount of work under",
        "the profiler over its time without one, minus 1, against the unprofiled runs",
        "just before and after; by wall-clock time (what the issue's target is about)",
        "and by the target thread's own CPU time (which leaves out time the target",
        "spent waiting for a CPU, so it is less sensitive to other load).",
        "",
    ]
    for depth in depths:
        out += [
            f"## Stack depth {depth}",
            "",
            "| profiler | max rate (samples/s) | CPU s / 1000 samples @max | "
            "CPU s / 1000 samples @1 kHz | achieved rate @1 kHz | full-depth stacks |",
            "|---|---|---|---|---|---|",
        ]
        for name in names:
            f = figures.get((depth, name), Figures())
            full = fmt(100 * f.full / f.work if f.work else None, ".1f", " %")
            out.append(
                f"| {name} | {spread(f.max_rate, ',.0f')} | {spread(f.cpu_max, '.3f')} | "
                f"{spread(f.cpu_low, '.3f')} | {spread(f.low_rate, ',.0f')} | {full} |"
            )
        out += [
            "",
            "| profiler | slowdown @1 kHz | slowdown @max | "
            "slowdown @1 kHz (target CPU time) | slowdown @max (target CPU time) |",
            "|---|---|---|---|---|",
        ]
        for name in names:
            f = figures.get((depth, name), Figures())
            cells = [
                spread([100 * s for s in values], "+.2f", " %")
                for values in (f.slow_low, f.slow_max, f.slow_low_cpu, f.slow_max_cpu)
            ]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        floor = noise_floor(figures, depth)
        if floor is not None:
            out += [
                "",
                f"Noise floor: an unprofiled run differs from its neighbouring unprofiled runs "
                f"by {100 * floor[0]:.2f} % (median absolute difference; "
                f"{100 * floor[1]:.2f} % by CPU time) over {floor[2]} runs.",
            ]
        out.append("")
    rss = rss_figures(runs)
    if rss:
        out += [
            "## Peak RSS at the maximum rate (depth 24)",
            "",
            "| profiler | samples (short run) | peak RSS | samples (long run) | peak RSS "
            "| growth |",
            "|---|---|---|---|---|---|",
        ]
        for name in names:
            short, long = rss.get(name, (None, None))
            out.append(f"| {name} | {rss_cell(short)} | {rss_cell(long)} | {growth(short, long)} |")
        out.append("")
    if "pysampler" in names:
        out += ratios(figures, rss, depths, [n for n in names if n != "pysampler"])
        out += verdicts(figures, rss, depths)
    if failures:
        out += ["## Failed runs", ""] + [f"- {line}" for line in failures] + [""]
    return "\n".join(out)


def rss_figures(runs: Iterable[Run]) -> dict[str, tuple[Run | None, Run | None]]:
    """Per tool, the short and the long RSS run."""
    found: dict[str, tuple[Run | None, Run | None]] = {}
    for run in runs:
        if run.phase != "rss" or run.tool is None or not run.ok:
            continue
        short, long = found.get(run.tool, (None, None))
        found[run.tool] = (run, long) if run.round == 0 else (short, run)
    return found


def rss_cell(run: Run | None) -> str:
    """``samples | MB`` cells."""
    if run is None:
        return "failed | -"
    return f"{run.samples:,} | {run.maxrss_kb / 1024:.1f} MB"


def growth(short: Run | None, long: Run | None) -> str:
    """RSS growth from the short run to the long one, and per sample."""
    if short is None or long is None or not short.maxrss_kb:
        return "-"
    delta = (long.maxrss_kb - short.maxrss_kb) / 1024
    text = f"{delta:+.1f} MB ({100 * delta * 1024 / short.maxrss_kb:+.0f} %"
    more = long.samples - short.samples
    if more > 0:
        text += f", {delta * 1024 * 1024 / more:+.1f} bytes/sample"
    return text + ")"


def rss_is_flat(short: Run, long: Run) -> bool:
    """Flat: at most 1 MB more (page-sized noise), or under 2 MB per million samples."""
    delta_mb = (long.maxrss_kb - short.maxrss_kb) / 1024
    more = long.samples - short.samples
    return delta_mb <= FLAT_MB or (more > 0 and delta_mb / more * 1e6 < FLAT_MB_PER_MILLION)


def ratios(
    figures: dict[tuple[int, str], Figures],
    rss: dict[str, tuple[Run | None, Run | None]],
    depths: Sequence[int],
    others: Sequence[str],
) -> list[str]:
    """Ratios of pysampler's figures to each other profiler's."""
    out = [
        "## Ratios",
        "",
        "pysampler's median over the other profiler's median (max rate: higher is "
        "better; CPU and RSS: lower is better).",
        "",
        "| depth | metric | " + " | ".join(f"pysampler / {name}" for name in others) + " |",
        "|---|---|" + "---|" * len(others),
    ]
    metrics: list[tuple[str, Callable[[Figures], list[float]]]] = [
        ("max rate", lambda f: f.max_rate),
        ("CPU per 1000 samples @max", lambda f: f.cpu_max),
        ("CPU per 1000 samples @1 kHz", lambda f: f.cpu_low),
    ]
    for depth in depths:
        ours = figures.get((depth, "pysampler"), Figures())
        for label, pick in metrics:
            cells = [
                ratio(median(pick(ours)), median(pick(figures.get((depth, n), Figures()))))
                for n in others
            ]
            out.append(f"| {depth} | {label} | " + " | ".join(cells) + " |")
    if rss:
        long_ours = rss.get("pysampler", (None, None))[1]
        cells = []
        for name in others:
            theirs = rss.get(name, (None, None))[1]
            cells.append(
                ratio(
                    long_ours.maxrss_kb if long_ours else None,
                    theirs.maxrss_kb if theirs else None,
                )
            )
        out.append("| 24 | peak RSS (long run) | " + " | ".join(cells) + " |")
    return [*out, ""]


def verdicts(
    figures: dict[tuple[int, str], Figures],
    rss: dict[str, tuple[Run | None, Run | None]],
    depths: Sequence[int],
) -> list[str]:
    """The issue's three targets, met or not, with the numbers."""
    out = ["## Against the targets", ""]
    ours = figures.get((24, "pysampler"), Figures())
    austin = figures.get((24, "austin"), Figures())
    ours_rate, austin_rate = median(ours.max_rate), median(austin.max_rate)
    if ours_rate is not None and austin_rate:
        times = ours_rate / austin_rate
        best = max(ours.max_rate) / max(austin.max_rate)
        out.append(
            f"- Max rate at depth 24, pysampler / Austin: {times:.2f}x "
            f"({ours_rate:,.0f} vs {austin_rate:,.0f} samples/s, medians; "
            f"{best:.2f}x between the best runs): "
            f"{'met' if times >= 2 else 'NOT met'} (target: at least 2x)."
        )
    for depth in depths:
        mine = figures.get((depth, "pysampler"), Figures())
        slow, slow_cpu = median(mine.slow_low), median(mine.slow_low_cpu)
        if slow is not None:
            by_cpu = fmt(None if slow_cpu is None else 100 * slow_cpu, "+.2f", " %")
            floor = noise_floor(figures, depth)
            verdict = "met" if slow < 0.01 else "NOT met"
            if floor is not None and floor[0] >= 0.01:
                verdict = (
                    f"not shown either way: identical unprofiled runs differ by "
                    f"{100 * floor[0]:.2f} % in this run, so it cannot resolve 1 %"
                )
            elif floor is not None:
                verdict += f" (noise floor {100 * floor[0]:.2f} %)"
            out.append(
                f"- pysampler's slowdown at 1 kHz, depth {depth}: {100 * slow:+.2f} % "
                f"(by the target's CPU time {by_cpu}); target < 1 %: {verdict}."
            )
    short, long = rss.get("pysampler", (None, None))
    if short is not None and long is not None and short.maxrss_kb:
        out.append(
            f"- pysampler's peak RSS from {short.samples:,} to {long.samples:,} samples: "
            f"{short.maxrss_kb / 1024:.1f} → {long.maxrss_kb / 1024:.1f} MB, "
            f"{growth(short, long)}: {'flat' if rss_is_flat(short, long) else 'NOT flat'} "
            f"(flat: at most {FLAT_MB:g} MB more, or under {FLAT_MB_PER_MILLION:g} MB "
            "per million samples)."
        )
    return [*out, ""]


def environment(settings: Settings, tools: Sequence[Tool]) -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    target_python = capture([settings.python, "-c", "import sys; print(sys.version.split()[0])"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs",
        "kernel": f"{platform.system()} {platform.release()}",
        "target": f"CPython {target_python} ({settings.python}), {TARGET.relative_to(REPO)}",
        "load average at start": load,
    }
    for tool in tools:
        info[tool.name] = tool.version
    return info


# ---- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Run pysampler, py-spy and Austin 3.7 side by side on the same busy "
        "targets and print a Markdown table.",
    )
    parser.add_argument("--quick", action="store_true", help="about a minute: 1 round, short runs")
    parser.add_argument(
        "--python", default=DEFAULT_PYTHON, help="the targets' Python (default: %(default)s)"
    )
    parser.add_argument("--depths", default="24,200", help="stack depths (default: %(default)s)")
    parser.add_argument("--repeats", type=int, help="rounds per depth (default 3; --quick 1)")
    parser.add_argument(
        "--work-seconds",
        type=float,
        help="unprofiled length of the target's fixed work (default 2.0; --quick 0.8)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.5,
        help="seconds from starting a profiler to the target's work (default: %(default)s)",
    )
    parser.add_argument(
        "--rss-samples",
        type=int,
        help="samples in pysampler's long RSS run (default 1000000; --quick 150000)",
    )
    parser.add_argument(
        "--rss-max-seconds",
        type=float,
        help="cap on pysampler's long RSS run (default 60; --quick 15)",
    )
    parser.add_argument(
        "--rss-others-seconds",
        type=float,
        help="cap on py-spy's and Austin's long RSS runs (default 20; --quick 4)",
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the RSS phase")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="which profilers (default: %(default)s)"
    )
    parser.add_argument(
        "--pysampler-mode",
        choices=("auto", "cli", "api"),
        default="auto",
        help="drive pysampler by `pysampler attach` or by its library (default: %(default)s, "
        "the CLI when it has `attach`)",
    )
    parser.add_argument(
        "--pyspy-max-rate",
        type=int,
        default=100_000,
        help="py-spy's --rate for 'max' (default: %(default)s)",
    )
    parser.add_argument("--py-spy", dest="pyspy", help="the py-spy executable")
    parser.add_argument("--austin", help="the austin executable")
    parser.add_argument("--pysampler", help="the pysampler executable")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds a target may take for its work (default: %(default)s)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other processes to leave the "
        "CPUs idle (default: %(default)s, do not wait)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the run order")
    parser.add_argument("--json", type=Path, help="also write every run to this file")
    parser.add_argument("--keep", action="store_true", help="keep the profilers' output files")
    args = parser.parse_args(argv)
    quick = args.quick
    args.repeats = args.repeats or (1 if quick else 3)
    args.work_seconds = args.work_seconds or (0.8 if quick else 2.0)
    args.rss_samples = args.rss_samples or (150_000 if quick else 1_000_000)
    args.rss_others_seconds = args.rss_others_seconds or (4.0 if quick else 20.0)
    args.rss_max_seconds = args.rss_max_seconds or (15.0 if quick else 60.0)
    return args


def build_tools(args: argparse.Namespace) -> list[Tool]:
    """The profilers asked for, or exit saying what is missing."""
    wanted = [name.strip() for name in args.tools.split(",") if name.strip()]
    tools = []
    for name in wanted:
        if name == "pysampler":
            executable = args.pysampler or find_executable("pysampler")
            mode = args.pysampler_mode
            if mode == "auto":
                mode = "cli" if pysampler_cli_usable(executable) else "api"
            tools.append(make_pysampler(mode, executable, sys.executable, binary=False))
        elif name == "py-spy":
            executable = args.pyspy or find_executable("py-spy")
            if executable is None:
                msg = "py-spy not found: pip install py-spy"
                raise SystemExit(msg)
            tools.append(make_pyspy(executable, args.pyspy_max_rate))
        elif name == "austin":
            executable = args.austin or find_executable("austin")
            if executable is None:
                msg = "austin not found: pip install austin-dist==3.7.0"
                raise SystemExit(msg)
            tools.append(make_austin(executable))
        else:
            msg = f"unknown profiler {name!r}: choose from {', '.join(TOOLS)}"
            raise SystemExit(msg)
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    started = time.monotonic()
    depths = [int(d) for d in args.depths.split(",")]
    tools = build_tools(args)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pysampler-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        if args.keep:
            scratch = Path(tempfile.mkdtemp(prefix="pysampler-bench-kept-"))
            log(f"keeping outputs in {scratch}")
        settings = Settings(
            args.python,
            marked_lines(TARGET, "work"),
            marked_lines(TARGET, "wait"),
            args.settle,
            args.timeout,
            scratch,
            args.keep,
            args.wait_idle,
        )
        env = environment(settings, tools)
        units = calibrate(settings, args.work_seconds)
        log(f"{units} units of work ≈ {args.work_seconds:g} s unprofiled")
        runs = speed_phase(settings, tools, depths, args.repeats, units, rng)
        if not args.no_rss:
            log("peak RSS at the maximum rate, depth 24")
            long_s = rss_durations(runs, tools, args)
            # RSS runs of pysampler through its CLI stream to a binary file.
            rss_tools = [tool.for_long_runs or tool for tool in tools]
            runs += rss_phase(settings, rss_tools, long_s, 0.1)
    env["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    failures = [describe(run).strip() for run in runs if run.error]
    minutes = (time.monotonic() - started) / 60
    command = shlex.join(
        ["python", str(Path(sys.argv[0])), *(sys.argv[1:] if argv is None else argv)]
    )
    print(report(runs, tools, depths, env, command, minutes, failures))
    if args.json:
        args.json.write_text(
            json.dumps({"environment": env, "runs": [asdict(run) for run in runs]}, indent=1)
        )
    return 1 if failures else 0


def rss_durations(
    runs: Sequence[Run], tools: Sequence[Tool], args: argparse.Namespace
) -> dict[str, float]:
    """How long each long RSS run lasts: pysampler to ``--rss-samples``, the others capped."""
    rates = [r.work_rate for r in runs if r.tool == "pysampler" and r.rate == MAX and r.depth == 24]
    rate = median([r for r in rates if r]) or 20_000.0
    ours = min(args.rss_max_seconds, max(2.0, 1.05 * args.rss_samples / rate))
    return {
        tool.name: ours if tool.name == "pysampler" else min(ours, args.rss_others_seconds)
        for tool in tools
    }


if __name__ == "__main__":
    sys.exit(main())
