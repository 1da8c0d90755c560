#!/usr/bin/env python3
"""pysampler beside CPython 3.15's profiler, py-spy and Austin 3.7, in one run.

Every profiler samples the same targets, on each target interpreter it can
read (by default CPython 3.11 from pyenv, Debian's 3.14 and 3.15 builds):
``targets/busy.py`` held still at stack depths 24 and 200, and
``targets/stdlib_work.py``, real standard-library code (ast, json, difflib,
re) whose stack changes all the time.  CPython 3.15's own profiler
(``python3.15 -m profiling.sampling``, "Tachyon") runs on the 3.15 target,
once writing ``--binary`` and once ``--collapsed``.  Per interpreter,
workload, profiler and rate it measures, in rounds that interleave the
profilers with unprofiled runs:

* complete samples per second while the target works: samples whose whole
  stack is one the target has at that moment (every frame, rooted at
  ``<module>``; for the stdlib target: rooted at ``<module>`` -> ``main``
  -> ``work`` and reaching into one of its ``task_*`` functions), per
  second of the target's own work time, the profiler at its highest rate;
* the profiler's CPU time (user + system of its process tree, from
  ``os.wait4``) per 1000 samples it wrote;
* pysampler's reads of the target per sample, from its own counters (its
  summary line), and, in one short extra run per profiler, every
  profiler's ``process_vm_readv`` calls per sample counted by
  ``strace -c -f``;
* the target's slowdown, against the unprofiled runs just before and after
  (``slowdown.py`` measures the 1 kHz slowdown more tightly);
* the profiler's peak RSS (``VmHWM``, polled) over a long run at the maximum
  rate and over a run a tenth as long, on the first target interpreter.

It also measures how busy other processes kept the machine meanwhile, and
warns when that makes the figures unreliable.  The report gives medians over
the rounds and ratios, never a single run's time.  Every process has a
timeout.  Progress goes to stderr, the Markdown report to stdout, ``--json``
saves every run.  See README.md, and ``python benchmarks/compare.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
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
from operator import attrgetter
from pathlib import Path
from typing import IO, Literal

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUSY = HERE / "targets" / "busy.py"
STDLIB = HERE / "targets" / "stdlib_work.py"
UNSTABLE = Path(
    os.environ.get("PYSAMPLER_DEBIAN_PYTHONS", Path.home() / ".cache/pysampler/debian-unstable")
)
DEFAULT_PYTHONS = (
    str(Path.home() / ".pyenv/versions/3.11.7/bin/python"),
    str(UNSTABLE / "root/usr/bin/python3.14-local"),
    str(UNSTABLE / "root/usr/bin/python3.15-local"),
)
LOW_RATE = 1000.0
MAX = "max"
LOW = "1kHz"
MHZ = "1000kHz"  # pysampler's -r 1000khz (1 µs deadlines), beside -r max (none)
RATES = (MAX, MHZ, LOW)
STDLIB_WORKLOAD = "stdlib"
TOOLS = ("pysampler", "tachyon-binary", "tachyon-collapsed", "py-spy", "austin")
QUICK_TOOLS = "pysampler,tachyon,py-spy@3.11,austin@3.11"
LABELS = {
    "pysampler": "pysampler",
    "tachyon-binary": "Tachyon --binary",
    "tachyon-collapsed": "Tachyon --collapsed",
    "py-spy": "py-spy",
    "austin": "Austin",
}
BASELINE = "(no profiler)"
BUSY_WARNING = 0.25  # CPUs used by other processes that make a run unreliable
FLAT_MB = 1.0  # RSS growth that is page-sized noise
FLAT_MB_PER_MILLION = 2.0  # RSS growth per million samples still called flat
STRACED = "process_vm_readv,process_vm_writev"
# pysampler's summary line ends "...; 5.00 reads, 3,469 B per sample, frame cache 100.0%",
# with ", 0.01 writes" after the reads when it wrote (3.15's profiler mark).
_COSTS = re.compile(
    r"([\d.]+) reads(?:, [\d.]+ writes)?, ([\d,]+) B per sample, frame cache ([\d.]+)%"
)
# What each profiler says of its own failed samples, as (failed, attempted) or a percentage.
_OWN_FAILED = {
    "pysampler": re.compile(
        r"from ([\d,]+) sampling instants.*?; ([\d,]+) failed"
    ),  # taken, failed
    "tachyon": re.compile(r"Error rate: ([\d.]+)"),  # percent of attempts
    "py-spy": re.compile(r"Samples: (\d+) Errors: (\d+)"),  # samples, errors
    "austin": re.compile(r"Error rate : (\d+)/(\d+)"),  # invalid / all
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

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
stats = sampler.stats
costs = getattr(stats, "costs", None)
tail = f"; {costs.describe(stats.taken)}" if costs is not None else ""
print(f"pysampler: {profile.sample_count} samples; {stats}{tail}", file=sys.stderr)
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


def required_executable(given: str | None, name: str, install: str) -> str:
    """``given``, or ``name`` found on the PATH; else exit naming how to install it."""
    executable = given or find_executable(name)
    if executable is None:
        msg = f"{name} not found: {install}"
        raise SystemExit(msg)
    return executable


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


# ---- the target interpreters and the workloads ---------------------------------


@dataclass(frozen=True)
class Interp:
    """One target interpreter."""

    path: str
    version: tuple[int, int]
    full_version: str  # 3.11.7
    label: str  # 3.11, unique in the run


def probe_interp(path: str) -> Interp | None:
    """The interpreter at ``path``, or None when it does not run."""
    out = capture([path, "-c", "import sys; print(*sys.version_info[:3])"]).split()
    if len(out) != 3 or not all(part.isdigit() for part in out):
        return None
    version = (int(out[0]), int(out[1]))
    return Interp(path, version, ".".join(out), f"{version[0]}.{version[1]}")


# A frame as the reports give it: (file's base name, function name, line).
Frame = tuple[str, str, int]


@dataclass(frozen=True)
class Workload:
    """A target program and how to judge its samples.

    ``busy.py`` at a fixed depth: a sample is taken during the work when its
    innermost frame is ``bottom`` at a line marked ``# work``, and complete
    when its stack is exactly ``<module>``, ``main``, ``recurse`` x (depth -
    3), ``bottom``.  ``stdlib_work.py``: a sample is taken during the work
    when it holds a frame of ``work``, a ``task_*`` function or the standard
    library, and complete when its stack is rooted at ``<module>`` ->
    ``main`` -> ``work`` -> a ``task_*`` function, all in the target file.
    Either way it waits at the line marked ``# wait``.
    """

    name: str  # "24", "200", "stdlib"
    target: Path
    args: tuple[str, ...]
    depth: int | None  # None for the stdlib target
    work: frozenset[int]
    wait: frozenset[int]
    tasks: frozenset[str] = frozenset()
    probe_units: int = 40

    @property
    def title(self) -> str:
        """How the report names it."""
        if self.depth is None:
            return f"stdlib-heavy code (`targets/{self.target.name}`)"
        return f"stack depth {self.depth}"

    def judge(self, frames: Sequence[Frame]) -> tuple[bool, bool, bool]:
        """(taken during the work, complete, waiting) for one stack, root first."""
        if not frames:
            return False, False, False
        mine = self.target.name
        leaf = frames[-1]
        waiting = leaf[0] == mine and leaf[2] in self.wait
        if self.depth is None:
            rooted = (
                len(frames) >= 4
                and all(frame[0] == mine for frame in frames[:4])
                and [frame[1] for frame in frames[:3]] == ["<module>", "main", "work"]
                and frames[3][1] in self.tasks
            )
            in_work = not waiting and (
                rooted or any(f[0] != mine or f[1] == "work" or f[1] in self.tasks for f in frames)
            )
            return in_work, rooted, waiting
        bottom = leaf[0] == mine and leaf[1] == "bottom"
        in_work = bottom and leaf[2] in self.work
        complete = (
            in_work
            and len(frames) == self.depth
            and all(frame[0] == mine for frame in frames)
            and frames[0][1] == "<module>"
            and frames[1][1] == "main"
            and all(frame[1] == "recurse" for frame in frames[2:-1])
        )
        return in_work, complete, bottom and waiting


def busy_workload(depth: int) -> Workload:
    """``busy.py`` held at ``depth`` frames."""
    return Workload(
        str(depth),
        BUSY,
        ("--depth", str(depth)),
        depth,
        marked_lines(BUSY, "work"),
        marked_lines(BUSY, "wait"),
    )


def stdlib_workload() -> Workload:
    """``stdlib_work.py``; its ``task_*`` functions read from its source."""
    source = STDLIB.read_text(encoding="utf-8")
    tasks = frozenset(re.findall(r"^def (task_\w+)\(", source, flags=re.MULTILINE))
    return Workload(
        STDLIB_WORKLOAD,
        STDLIB,
        (),
        None,
        marked_lines(STDLIB, "work"),
        marked_lines(STDLIB, "wait"),
        tasks,
        probe_units=20,
    )


# ---- reading the profilers' outputs -------------------------------------------

# py-spy raw: ``func (file:line)``; pysampler, CPython and Austin: ``file:func:line``.
_PYSPY_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
_COLON_FRAME = re.compile(r"^(?P<file>.+):(?P<func>[^:]*):(?P<line>\d+)$")


def _frame(label: str) -> Frame | None:
    match = _PYSPY_FRAME.match(label) or _COLON_FRAME.match(label)
    if match is None:
        return None  # a thread or process prefix (tid:..., P..., T...), or <GC>
    name = match["file"].rsplit("/", 1)[-1]
    return name, match["func"].rsplit(".", 1)[-1], int(match["line"])


@dataclass
class Tally:
    """Samples counted in one output file."""

    samples: int = 0  # samples holding a Python stack
    work: int = 0  # ... taken during the target's work
    complete: int = 0  # ... of them, with the stack complete
    waiting: int = 0  # samples of the target waiting for its go line


def tally(path: Path, style: Literal["folded", "lines"], workload: Workload) -> Tally:
    """Count samples: folded lines carry a count, Austin writes a line per sample."""
    result = Tally()
    # stack -> (has frames, in the work, complete, waiting)
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
                known = (bool(frames), *workload.judge(frames))
                seen[stack] = known
            has_frames, in_work, complete, waiting = known
            if not has_frames:
                continue
            count = int(metric) if style == "folded" else 1
            result.samples += count
            if in_work:
                result.work += count
                if complete:
                    result.complete += count
            elif waiting:
                result.waiting += count
    return result


def strace_calls(path: Path) -> dict[str, int]:
    """System call counts from ``strace -c``'s table (``calls`` is the 4th column)."""
    calls: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[-1].startswith("process_vm_"):
                with contextlib.suppress(ValueError):
                    calls[fields[-1]] = int(fields[3])
    return calls


# ---- the profilers ------------------------------------------------------------


def _any_version(version: tuple[int, int]) -> bool:
    return True


@dataclass
class Tool:
    """How to run one profiler against a process and read what it wrote."""

    name: str
    command: Callable[[int, str, float, Path], list[str]]  # pid, rate, time limit, output
    style: Literal["folded", "lines"]
    version: str
    rates: tuple[str, ...] = (MAX, LOW)
    output_suffix: str = ".txt"
    # Turns the output into folded text before counting (binary files).
    convert: Callable[[Path, Path], list[str]] | None = None
    # The same profiler as it is best run for a long time (pysampler's CLI: binary).
    for_long_runs: Tool | None = None
    # Which target versions it reads.
    reads: Callable[[tuple[int, int]], bool] = _any_version
    # How each rate is asked for, for the report.
    flags: dict[str, str] = field(default_factory=dict)
    # A command that imports a Python profiler's code once, so that no measured
    # run includes compiling it (see warm_up).
    warmup: list[str] | None = None

    @property
    def label(self) -> str:
        """How the report names it."""
        return LABELS.get(self.name, self.name)


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
    speeds = {MAX: "max", MHZ: "1000khz", LOW: "1khz"}
    if mode == "cli" and executable is not None:

        def cli(pid: int, rate: str, limit: float, out: Path) -> list[str]:
            kind = "--binary" if binary else "--collapsed"
            return [executable, "attach", str(pid), "-r", speeds[rate], "-d", f"{limit:g}",
                    kind, "-o", str(out)]  # fmt: skip

        def replay(binary_file: Path, out: Path) -> list[str]:
            return [executable, "replay", str(binary_file), "--collapsed", "-o", str(out)]

        tool = Tool(
            "pysampler",
            cli,
            "folded",
            f"{version}, CLI `pysampler attach`: `-r max`, `-r 1000khz`, `-r 1khz`, "
            + ("--binary" if binary else "--collapsed, --binary in the RSS runs"),
            rates=RATES,
            output_suffix=".bin" if binary else ".txt",
            convert=replay if binary else None,
            flags={rate: f"-r {speed}" for rate, speed in speeds.items()},
            warmup=[executable, "attach", "--help"],
        )
        if not binary:
            tool.for_long_runs = make_pysampler(mode, executable, python, binary=True)
        return tool

    hertz = {MAX: "0", MHZ: "1000000", LOW: f"{LOW_RATE:g}"}

    def api(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        return [python, "-c", API_RUNNER, str(pid), hertz[rate], f"{limit:g}", str(out)]

    return Tool(
        "pysampler",
        api,
        "folded",
        f"{version}, library `Sampler` in a subprocess",
        rates=RATES,
        flags={rate: f"rate={hz}" for rate, hz in hertz.items()},
        warmup=[python, "-c", "import pysampler.sampler, pysampler.renderers.collapsed"],
    )


def make_tachyon(python: str, version: str, kind: str, max_rate: str) -> Tool:
    """CPython 3.15's ``profiling.sampling attach``, run by the target's own interpreter.

    ``kind`` is ``binary`` (its compact format, replayed into folded stacks
    afterwards, outside the measured process) or ``collapsed``.
    """
    speeds = {MAX: max_rate, LOW: "1khz"}

    def command(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        # -d takes whole seconds; the run ends when the target exits anyway.
        return [python, "-m", "profiling.sampling", "attach", str(pid), "-r", speeds[rate],
                "-d", str(math.ceil(limit)), f"--{kind}", "-o", str(out)]  # fmt: skip

    def replay(binary_file: Path, out: Path) -> list[str]:
        return [python, "-m", "profiling.sampling", "replay", str(binary_file),
                "--collapsed", "-o", str(out)]  # fmt: skip

    binary = kind == "binary"
    return Tool(
        f"tachyon-{kind}",
        command,
        "folded",
        f"CPython {version} `-m profiling.sampling attach --{kind}` (`-r {max_rate}` for max)",
        output_suffix=".bin" if binary else ".txt",
        convert=replay if binary else None,
        reads=lambda target: target == (3, 15),
        flags={rate: f"-r {speed}" for rate, speed in speeds.items()},
        warmup=[python, "-c", "import profiling.sampling.cli, profiling.sampling.binary_reader"],
    )


def make_pyspy(executable: str, max_rate: int) -> Tool:
    """py-spy record, non-blocking, raw (folded) output, idle samples kept."""

    def command(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        hz = max_rate if rate == MAX else int(LOW_RATE)
        # --idle keeps the samples of the waiting target, so every sample taken
        # is written; --duration is a sample budget (rate x seconds), so it is
        # generous and the run ends when the target exits.
        return [executable, "record", "--pid", str(pid), "--rate", str(hz),
                "--duration", str(round(limit)), "--nonblocking", "--idle",
                "--format", "raw", "-o", str(out)]  # fmt: skip

    version = capture([executable, "--version"])
    return Tool(
        "py-spy",
        command,
        "folded",
        f"{version} (`--rate {max_rate}` for max)",
        flags={MAX: f"--rate {max_rate}", LOW: f"--rate {LOW_RATE:g}"},
    )


def make_austin(executable: str, max_interval: int) -> Tool:
    """Austin: ``-i 1`` (µs) for its highest rate, ``-i 1000`` for 1 kHz."""

    def command(pid: int, rate: str, limit: float, out: Path) -> list[str]:
        interval = str(max_interval) if rate == MAX else str(round(1e6 / LOW_RATE))
        return [executable, "-i", interval, "-x", str(round(limit)), "-p", str(pid), "-o", str(out)]

    version = capture([executable, "-V"])
    if not version.startswith("austin 3.7"):
        log(f"warning: {executable} is {version!r}, not Austin 3.7")
    # Austin 3.7 reads CPython up to 3.13 (3.14 moved the structures it reads).
    return Tool(
        "austin",
        command,
        "lines",
        f"{version} (`-i {max_interval}` for max)",
        reads=lambda target: target <= (3, 13),
        flags={MAX: f"-i {max_interval}", LOW: f"-i {round(1e6 / LOW_RATE)}"},
    )


# ---- one run -----------------------------------------------------------------


@dataclass
class Run:
    """One target process, with or without a profiler."""

    phase: str  # "speed", "strace" or "rss"
    python: str  # the target interpreter's label (Interp.label)
    workload: str  # Workload.name
    tool: str | None
    rate: str | None
    round: int
    elapsed_s: float | None = None  # the target's work time
    work_cpu_s: float | None = None  # the target's CPU time for the work
    other_cpus: float | None = None  # CPUs kept busy by other processes meanwhile
    steal_cpus: float | None = None  # CPUs' worth of time the hypervisor took meanwhile
    samples: int = 0
    work_samples: int = 0
    complete_samples: int = 0
    cpu_s: float = 0.0
    maxrss_kb: int = 0
    # pysampler's own counters, from its summary line: per sampling instant,
    # and the instants (which count those that found no Python frame, as while
    # the target shuts down).
    reads_per_instant: float | None = None
    bytes_per_instant: float | None = None
    instants: int | None = None
    frame_cache: float | None = None  # share of frames the frame cache predicted
    own_failed: float | None = None  # the share of its samples the profiler says failed
    # strace -c of the profiler's process tree (strace runs only).
    strace_reads: int | None = None
    strace_writes: int | None = None
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
    def complete_rate(self) -> float | None:
        """Complete samples per second while the target worked."""
        if not self.ok or not self.elapsed_s:
            return None
        return self.complete_samples / self.elapsed_s

    @property
    def cpu_per_1000(self) -> float | None:
        """Profiler CPU seconds per 1000 samples."""
        if not self.ok or not self.samples:
            return None
        return self.cpu_s / (self.samples / 1000)

    @property
    def reads_per_sample(self) -> float | None:
        """The reads pysampler counted, per sample written."""
        if self.reads_per_instant is None or not self.instants or not self.samples:
            return None
        return self.reads_per_instant * self.instants / self.samples

    @property
    def bytes_per_sample(self) -> float | None:
        """The bytes pysampler counted reading, per sample written."""
        if self.bytes_per_instant is None or not self.instants or not self.samples:
            return None
        return self.bytes_per_instant * self.instants / self.samples

    @property
    def strace_reads_per_sample(self) -> float | None:
        """``process_vm_readv`` calls per sample written, as strace counted them."""
        if self.strace_reads is None or not self.samples:
            return None
        return self.strace_reads / self.samples

    @property
    def strace_writes_per_sample(self) -> float | None:
        """``process_vm_writev`` calls per sample written."""
        if self.strace_writes is None or not self.samples:
            return None
        return self.strace_writes / self.samples


@dataclass
class Settings:
    """What every run shares."""

    settle_s: float
    timeout_s: float
    scratch: Path
    keep: bool
    wait_idle_s: float = 0.0
    strace: str | None = None


def run_target(
    settings: Settings,
    run: Run,
    interp: Interp,
    workload: Workload,
    target_args: list[str],
    tool: Tool | None,
    profiler_limit_s: float,
    traced: bool = False,
) -> Run:
    """Start the target, attach the profiler, let the target work, count the samples.

    With ``traced`` the profiler runs under ``strace -c -f``, which counts
    its ``process_vm_readv`` and ``process_vm_writev`` calls.
    """
    target: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    peak: PeakRss | None = None
    name = f"{run.phase}-py{run.python}-{run.workload}-{run.tool}-{run.rate}-r{run.round}"
    out = settings.scratch / f"{name}{tool.output_suffix if tool else ''}"
    err_path = settings.scratch / f"{name}.stderr"
    strace_path = settings.scratch / f"{name}.strace"
    settle_s = settings.settle_s * (2 if traced else 1)
    wait_until_idle(settings.wait_idle_s)
    try:
        target = subprocess.Popen(
            [interp.path, str(workload.target), *workload.args, *target_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert target.stdin is not None and target.stdout is not None
        if read_line(target.stdout, 30.0) != "ready":
            run.error = "target did not start"
            return run
        if tool is not None:
            argv = tool.command(target.pid, run.rate or MAX, profiler_limit_s, out)
            if traced and settings.strace is not None:
                argv = [settings.strace, "-c", "-f", "--seccomp-bpf", "-e", f"trace={STRACED}",
                        "-o", str(strace_path), *argv]  # fmt: skip
            with err_path.open("wb") as err:
                # Its stdout too: CPython's profiler prints its error rate there.
                profiler = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            peak = PeakRss(profiler.pid)
            time.sleep(settle_s)
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
            if tool.name == "pysampler":
                read_costs(run, err_path)
            run.own_failed = own_failed(tool.name, err_path)
            if traced:
                calls = strace_calls(strace_path)
                run.strace_reads = calls.get("process_vm_readv", 0)
                run.strace_writes = calls.get("process_vm_writev", 0)
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
            counted = tally(out, tool.style, workload)
            run.samples, run.work_samples = counted.samples, counted.work
            run.complete_samples = counted.complete
            if counted.samples == 0:
                run.error = f"{tool.name} wrote no samples: {tail(err_path)}"
            elif counted.work == 0 and run.elapsed_s is not None:
                # It stopped, or lost the target, before the work: say why.
                run.error = f"{tool.name} wrote no sample of the work: {tail(err_path)}"
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
            for path in (out, err_path, strace_path):
                path.unlink(missing_ok=True)
    return run


def read_costs(run: Run, err_path: Path) -> None:
    """Read pysampler's own read counters from the end of its summary line."""
    try:
        text = err_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    found = _COSTS.findall(text)
    if found:
        reads, size, cache = found[-1]
        run.reads_per_instant = float(reads)
        run.bytes_per_instant = float(size.replace(",", ""))
        run.frame_cache = float(cache) / 100
    instants = _OWN_FAILED["pysampler"].findall(text)
    if instants:
        run.instants = int(instants[-1][0].replace(",", ""))


def own_failed(name: str, err_path: Path) -> float | None:
    """The share of failed samples a profiler reports of itself on exit."""
    try:
        text = _ANSI.sub("", err_path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    pattern = _OWN_FAILED.get("tachyon" if name.startswith("tachyon") else name)
    if pattern is None:
        return None
    found = pattern.findall(text)
    if not found:
        return None
    last = found[-1]
    if isinstance(last, str):  # a percentage
        return float(last) / 100
    first, second = (float(x.replace(",", "")) for x in last)
    if name == "austin":  # invalid / all
        return first / second if second else None
    if name == "py-spy":  # samples, errors
        return second / (first + second) if first + second else None
    return second / first if first else None  # pysampler: taken, failed


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
    where = f"  {run.python} {run.workload}"
    if run.error:
        return f"{where} {label}: FAILED {run.error}"
    parts = [f"{where} {label}:"]
    if run.elapsed_s is not None:
        parts.append(f"work {run.elapsed_s:.3f} s")
    if run.work_cpu_s is not None:
        parts.append(f"(cpu {run.work_cpu_s:.3f} s; others {run.other_cpus or 0:.2f} CPUs)")
    if run.tool is not None:
        parts.append(
            f"{run.samples} samples ({run.work_samples} during work, "
            f"{run.complete_samples} complete)"
        )
        if run.complete_rate is not None:
            parts.append(f"{run.complete_rate:,.0f} complete/s")
        parts.append(f"cpu {run.cpu_s:.2f} s, rss {run.maxrss_kb / 1024:.1f} MB")
        if run.reads_per_sample is not None:
            parts.append(f"{run.reads_per_sample:.2f} reads/sample")
        if run.strace_reads is not None:
            parts.append(f"strace: {run.strace_reads} process_vm_readv, {run.strace_writes} writev")
    return " ".join(parts)


# ---- the phases ----------------------------------------------------------------


def warm_up(scratch: Path, plans: Sequence[Plan]) -> None:
    """Let every Python process cache its bytecode, and import each Python profiler once.

    The processes started here get ``PYTHONPYCACHEPREFIX`` (a scratch
    directory) and no ``PYTHONDONTWRITEBYTECODE``: with that variable set, or
    with an interpreter tree that ships no ``.pyc`` files (Debian's unpacked
    builds), every start of a Python profiler would compile its own source
    again (about 0.5 s of CPU for CPython's profiler), which its CPU figures
    would count.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    done: set[str] = set()
    for plan in plans:
        for tool in plan.tools:
            if tool.warmup is None or shlex.join(tool.warmup) in done:
                continue
            done.add(shlex.join(tool.warmup))
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(tool.warmup, capture_output=True, timeout=120, check=False)


def calibrate(settings: Settings, interp: Interp, workload: Workload, seconds: float) -> int:
    """Units of work that take about ``seconds`` without a profiler."""
    times = []
    probe_units = workload.probe_units
    for attempt in range(3):
        probe = run_target(
            settings,
            Run("calibrate", interp.label, workload.name, None, None, attempt),
            interp,
            workload,
            ["--units", str(probe_units)],
            None,
            0,
        )
        if probe.elapsed_s:
            times.append(probe.elapsed_s / probe_units)
    if not times:
        msg = f"{workload.target.name} does not run with {interp.path}"
        raise SystemExit(msg)
    return max(1, round(seconds / min(times)))


@dataclass
class Plan:
    """What to run on one target interpreter."""

    interp: Interp
    tools: list[Tool]
    workloads: list[Workload]
    units: dict[str, int] = field(default_factory=dict)  # per workload, set by the speed phase


def speed_phase(
    settings: Settings,
    plans: Sequence[Plan],
    repeats: int,
    work_seconds: float,
    rates: Sequence[str],
    rng: random.Random,
) -> list[Run]:
    """Rates, CPU and slowdowns: per round, each tool between two baselines."""
    runs: list[Run] = []
    limit = settings.settle_s + settings.timeout_s + 10
    for plan in plans:
        interp = plan.interp
        for workload in plan.workloads:
            units = calibrate(settings, interp, workload, work_seconds)
            plan.units[workload.name] = units
            log(f"{interp.label} {workload.name}: {units} units ≈ {work_seconds:g} s unprofiled")
            for round_ in range(repeats):
                log(f"CPython {interp.label}, {workload.title}, round {round_ + 1}/{repeats}")
                order = list(plan.tools)
                rng.shuffle(order)
                steps: list[tuple[Tool | None, str | None]] = []
                for profiler in order:
                    chosen = [rate for rate in profiler.rates if rate in rates]
                    rng.shuffle(chosen)
                    steps.append((None, None))
                    steps.extend((profiler, rate) for rate in chosen)
                steps.append((None, None))
                done: list[Run] = []
                for tool, rate in steps:
                    run = Run(
                        "speed", interp.label, workload.name, tool.name if tool else None,
                        rate, round_,
                    )  # fmt: skip
                    run_target(settings, run, interp, workload, ["--units", str(units)], tool,
                               limit)  # fmt: skip
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


def strace_phase(settings: Settings, plans: Sequence[Plan], workloads: Sequence[str]) -> list[Run]:
    """One run per profiler at its highest rate under ``strace -c -f``: reads per sample."""
    runs = []
    limit = 2 * settings.settle_s + settings.timeout_s + 10
    for plan in plans:
        for workload in plan.workloads:
            if workload.name not in workloads or workload.name not in plan.units:
                continue
            units = plan.units[workload.name]
            for tool in plan.tools:
                run = Run("strace", plan.interp.label, workload.name, tool.name, MAX, 0)
                run_target(settings, run, plan.interp, workload, ["--units", str(units)], tool,
                           limit, traced=True)  # fmt: skip
                log("  strace: " + describe(run).strip())
                runs.append(run)
    return runs


def rss_phase(
    settings: Settings,
    interp: Interp,
    tools: Sequence[Tool],
    long_s: dict[str, float],
    short_fraction: float,
) -> list[Run]:
    """Peak RSS at the maximum rate over a long run and one a tenth as long."""
    runs = []
    workload = busy_workload(24)
    for tool in tools:
        for label, seconds in (
            ("short", max(1.0, long_s[tool.name] * short_fraction)),
            ("long", long_s[tool.name]),
        ):
            run = Run("rss", interp.label, workload.name, tool.name, MAX,
                      0 if label == "short" else 1)  # fmt: skip
            limit = settings.settle_s + seconds + settings.timeout_s
            run_target(settings, run, interp, workload, ["--seconds", f"{seconds:.1f}"], tool,
                       limit)  # fmt: skip
            # A run of --seconds prints no elapsed line; its length is known.
            if not run.error:
                run.elapsed_s = seconds
            log(f"  rss {label} ({seconds:.0f} s): " + describe(run).strip())
            runs.append(run)
    return runs


# ---- the report -------------------------------------------------------------------

Key = tuple[str, str, str | None, str | None]  # python, workload, tool, rate
Metric = Callable[[Run], float | None]
_COMPLETE_RATE: Metric = attrgetter("complete_rate")
_WORK_RATE: Metric = attrgetter("work_rate")
_CPU_PER_1000: Metric = attrgetter("cpu_per_1000")


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


def cells(runs: Iterable[Run], phase: str = "speed") -> dict[Key, list[Run]]:
    """The good runs of a phase by (python, workload, tool, rate)."""
    table: dict[Key, list[Run]] = {}
    for run in runs:
        if run.phase == phase and run.ok:
            table.setdefault((run.python, run.workload, run.tool, run.rate), []).append(run)
    return table


def pick(runs: Iterable[Run], metric: Metric) -> list[float]:
    """The metric of every run that has it."""
    return [value for value in map(metric, runs) if value is not None]


def paired(ours: Sequence[Run], theirs: Sequence[Run], metric: Metric) -> str:
    """``median(ours) / median(theirs)``, with [min, max] of the same-round ratios.

    A round runs every profiler once, interleaved, so the ratio within a
    round is the one least touched by the host's drifts in speed.
    """
    mine, other = median(pick(ours, metric)), median(pick(theirs, metric))
    if mine is None or not other:
        return "-"
    by_round = {run.round: metric(run) for run in theirs}
    rounds = []
    for run in ours:
        value, reference = metric(run), by_round.get(run.round)
        if value is not None and reference:
            rounds.append(value / reference)
    text = f"{mine / other:.2f}x"
    if len(rounds) > 1:
        text += f" [{min(rounds):.2f}, {max(rounds):.2f}]"
    return text


def complete_share(runs: Sequence[Run]) -> str:
    """Complete samples over samples taken during the work, all runs together."""
    work = sum(run.work_samples for run in runs)
    return fmt(
        100 * sum(run.complete_samples for run in runs) / work if work else None, ".1f", " %"
    )


def noise_floor(
    table: dict[Key, list[Run]], python: str, workload: str
) -> tuple[float, float, int] | None:
    """Median absolute slowdown of unprofiled runs against their neighbours."""
    base = table.get((python, workload, None, None), [])
    wall = pick(base, lambda r: None if r.slowdown is None else abs(r.slowdown))
    cpu = pick(base, lambda r: None if r.slowdown_cpu is None else abs(r.slowdown_cpu))
    if not wall:
        return None
    return statistics.median(wall), statistics.median(cpu) if cpu else 0.0, len(wall)


def rates_of(tool: Tool, rates: Sequence[str]) -> list[str]:
    """The rates a tool was run at, in report order."""
    return [rate for rate in RATES if rate in tool.rates and rate in rates]


def headline(
    table: dict[Key, list[Run]], traced: dict[Key, list[Run]], plans: Sequence[Plan]
) -> list[str]:
    """The issue's figures: ratios of medians, per interpreter and workload."""
    out = ["## Headline figures", ""]
    for plan in plans:
        py = plan.interp.label
        others = [tool for tool in plan.tools if tool.name != "pysampler"]
        tachyons = [tool for tool in others if tool.name.startswith("tachyon")]
        out += [
            f"### CPython {py}: complete samples per second at the highest rate",
            "",
            "Medians over the rounds; ratios are pysampler's median over the other's, "
            "[min, max] of the same-round ratios.",
            "",
        ]
        head = ["workload", "pysampler `-r max`"]
        head += [f"{tool.label} `{tool.flags.get(MAX, MAX)}`" for tool in others]
        head += [f"pysampler / {tool.label}" for tool in others]
        if len(tachyons) > 1:
            head.append("pysampler / Tachyon's best")
        head.append("pysampler `-r 1000khz` / `-r max`")
        out += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        for workload in plan.workloads:
            wl = workload.name
            ours = table.get((py, wl, "pysampler", MAX), [])
            row = [workload.title, spread(pick(ours, _COMPLETE_RATE), ",.0f")]
            theirs = {tool.name: table.get((py, wl, tool.name, MAX), []) for tool in others}
            row += [spread(pick(theirs[t.name], _COMPLETE_RATE), ",.0f") for t in others]
            row += [paired(ours, theirs[tool.name], _COMPLETE_RATE) for tool in others]
            if len(tachyons) > 1:
                best = max(
                    tachyons,
                    key=lambda t: median(pick(theirs[t.name], _COMPLETE_RATE)) or 0.0,
                )
                row.append(f"{paired(ours, theirs[best.name], _COMPLETE_RATE)} "
                           f"({best.label})")  # fmt: skip
            mhz = table.get((py, wl, "pysampler", MHZ), [])
            row.append(paired(mhz, ours, _COMPLETE_RATE))
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    out += cpu_table(table, plans)
    out += reads_table(table, traced, plans)
    return out


def cpu_table(table: dict[Key, list[Run]], plans: Sequence[Plan]) -> list[str]:
    """Profiler CPU per 1000 samples at the highest rate, every profiler."""
    names = [name for name in TOOLS if any(t.name == name for p in plans for t in p.tools)]
    out = [
        "### Profiler CPU per 1000 samples at the highest rate",
        "",
        "User + system CPU seconds of the profiler's process tree (`os.wait4`, its start "
        "included) per 1000 samples it wrote; in brackets pysampler's median over that "
        "profiler's (lower is better for pysampler).",
        "",
        "| target | workload | " + " | ".join(LABELS[n] for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for plan in plans:
        py = plan.interp.label
        for workload in plan.workloads:
            ours = table.get((py, workload.name, "pysampler", MAX), [])
            mine = median(pick(ours, _CPU_PER_1000))
            row = [py, workload.title]
            for name in names:
                found = table.get((py, workload.name, name, MAX), [])
                theirs = median(pick(found, _CPU_PER_1000))
                text = fmt(theirs, ".3f")
                if name != "pysampler" and mine is not None and theirs:
                    text += f" ({mine / theirs:.2f}x)"
                row.append(text if found or name == "pysampler" else "-")
            out.append("| " + " | ".join(row) + " |")
    return [*out, ""]


def reads_table(
    table: dict[Key, list[Run]], traced: dict[Key, list[Run]], plans: Sequence[Plan]
) -> list[str]:
    """process_vm_readv calls per sample: pysampler's counters and strace's count."""
    if not traced and not any(key[2] == "pysampler" for key in table):
        return []
    out = [
        "### Reads of the target per sample, one busy thread",
        "",
        "Own counters: pysampler's summary line gives reads and bytes per sampling instant "
        "and the instants, so its reads per sample written (medians of the speed runs at "
        "`-r max`, and in the traced run; instants that found no Python frame, as while "
        "the target shuts down, count in the summary's per-instant figure). strace: "
        f"`strace -c -f -e trace={STRACED}` around the profiler for one run at its "
        "highest rate, calls over the samples it wrote (the profiler's start included; "
        "strace slows the profiler, not the count per sample).",
        "",
        "| target | workload | profiler | own: reads / sample @max | own: B / sample "
        "| own: frame cache | own: reads / instant (summary line) | own: reads / sample, "
        "traced run | strace: process_vm_readv / sample | strace: process_vm_writev / sample "
        "| samples (traced run) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for plan in plans:
        py = plan.interp.label
        for workload in plan.workloads:
            for tool in plan.tools:
                speed = table.get((py, workload.name, tool.name, MAX), [])
                strace = traced.get((py, workload.name, tool.name, MAX), [])
                if not strace and tool.name != "pysampler":
                    continue
                own = fmt(median(pick(speed, lambda r: r.reads_per_sample)), ".2f")
                size = fmt(median(pick(speed, lambda r: r.bytes_per_sample)), ",.0f")
                cache = median(pick(speed, lambda r: r.frame_cache))
                per_instant = fmt(median(pick(speed, lambda r: r.reads_per_instant)), ".2f")
                row = [py, workload.title, tool.label, own, size,
                       fmt(None if cache is None else 100 * cache, ".1f", " %"),
                       per_instant]  # fmt: skip
                run = strace[0] if strace else None
                row += [
                    fmt(run.reads_per_sample if run else None, ".2f"),
                    fmt(run.strace_reads_per_sample if run else None, ".2f"),
                    fmt(run.strace_writes_per_sample if run else None, ".2f"),
                    f"{run.samples:,}" if run else "-",
                ]
                if tool.name != "pysampler":
                    row[3:8] = ["-"] * 5
                out.append("| " + " | ".join(row) + " |")
    return [*out, ""]


def details(table: dict[Key, list[Run]], plan: Plan, rates: Sequence[str]) -> list[str]:
    """Every figure of every profiler and rate on one target interpreter."""
    py = plan.interp.label
    out = [f"## CPython {plan.interp.full_version} target (`{plan.interp.path}`)", ""]
    for workload in plan.workloads:
        out += [
            f"### {workload.title}",
            "",
            "| profiler | rate | complete samples/s | samples/s during the work | complete "
            "| failed (its own count) | CPU s / 1000 samples | reads / sample (own) | slowdown "
            "| slowdown (target CPU time) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for tool in plan.tools:
            for rate in rates_of(tool, rates):
                found = table.get((py, workload.name, tool.name, rate), [])
                cells_ = [
                    spread(pick(found, _COMPLETE_RATE), ",.0f"),
                    spread(pick(found, _WORK_RATE), ",.0f"),
                    complete_share(found) if found else "-",
                    fmt(_pct(median(pick(found, lambda r: r.own_failed))), ".2f", " %"),
                    spread(pick(found, _CPU_PER_1000), ".3f"),
                    fmt(median(pick(found, lambda r: r.reads_per_sample)), ".2f"),
                    spread(pick(found, lambda r: _pct(r.slowdown)), "+.2f", " %"),
                    spread(pick(found, lambda r: _pct(r.slowdown_cpu)), "+.2f", " %"),
                ]
                flag = f"`{tool.flags.get(rate, rate)}`"
                out.append(f"| {tool.label} | {flag} | " + " | ".join(cells_) + " |")
        floor = noise_floor(table, py, workload.name)
        if floor is not None:
            out += [
                "",
                f"Noise floor: an unprofiled run differs from its neighbouring unprofiled runs "
                f"by {100 * floor[0]:.2f} % (median absolute difference; "
                f"{100 * floor[1]:.2f} % by CPU time) over {floor[2]} runs.",
            ]
        out.append("")
    return out


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def report(
    runs: list[Run],
    plans: Sequence[Plan],
    rates: Sequence[str],
    environment: dict[str, str],
    command: str,
    minutes: float,
    failures: list[str],
) -> str:
    """The Markdown report."""
    table = cells(runs)
    traced = cells(runs, "strace")
    out: list[str] = ["# pysampler vs CPython 3.15's profiler, py-spy and Austin", ""]
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
        "Medians over the rounds, [min, max] in brackets. A sample is *complete* when its",
        "stack is one the target has while it works: busy.py's every frame, rooted at",
        "`<module>`; stdlib_work.py's `<module>` -> `main` -> `work` -> a `task_*`",
        "function. Complete samples/s: complete samples per second of the target's own",
        "work time. CPU: the profiler process tree's user + system time (its start",
        "included) per 1000 samples it wrote. Slowdown: the target's time for a fixed",
        "amount of work under the profiler over its time without one, minus 1, against",
        "the unprofiled runs just before and after; by wall-clock time and by the target",
        "thread's own CPU time (`slowdown.py` measures the 1 kHz slowdown pinned).",
        "",
    ]
    out += headline(table, traced, plans)
    for plan in plans:
        out += details(table, plan, rates)
    rss = rss_figures(runs)
    if rss:
        out += [
            f"## Peak RSS at the maximum rate (CPython {next(iter(rss.values()))[2]}, depth 24)",
            "",
            "| profiler | samples (short run) | peak RSS | samples (long run) | peak RSS "
            "| growth |",
            "|---|---|---|---|---|---|",
        ]
        for name, (short, long, _) in rss.items():
            out.append(
                f"| {LABELS.get(name, name)} | {rss_cell(short)} | {rss_cell(long)} "
                f"| {growth(short, long)} |"
            )
        out.append("")
    out += verdicts(table, rss, plans)
    if failures:
        out += ["## Failed runs", ""] + [f"- {line}" for line in failures] + [""]
    return "\n".join(out)


def rss_figures(runs: Iterable[Run]) -> dict[str, tuple[Run | None, Run | None, str]]:
    """Per tool, the short and the long RSS run, and the interpreter."""
    found: dict[str, tuple[Run | None, Run | None, str]] = {}
    for run in runs:
        if run.phase != "rss" or run.tool is None or not run.ok:
            continue
        short, long, _ = found.get(run.tool, (None, None, run.python))
        found[run.tool] = (run, long, run.python) if run.round == 0 else (short, run, run.python)
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


def verdicts(
    table: dict[Key, list[Run]],
    rss: dict[str, tuple[Run | None, Run | None, str]],
    plans: Sequence[Plan],
) -> list[str]:
    """The earlier issues' three targets, met or not, with the numbers."""
    out = ["## Against the targets", ""]
    austin = next((p for p in plans if any(t.name == "austin" for t in p.tools)), None)
    if austin is not None:
        py = austin.interp.label
        ours = pick(table.get((py, "24", "pysampler", MAX), []), _COMPLETE_RATE)
        theirs = pick(table.get((py, "24", "austin", MAX), []), _COMPLETE_RATE)
        if ours and theirs:
            times = statistics.median(ours) / statistics.median(theirs)
            best = max(ours) / max(theirs)
            out.append(
                f"- Complete samples/s at depth 24 on CPython {py}, pysampler / Austin: "
                f"{times:.2f}x ({statistics.median(ours):,.0f} vs "
                f"{statistics.median(theirs):,.0f}, medians; {best:.2f}x between the best "
                f"runs): {'met' if times >= 2 else 'NOT met'} (target: at least 2x)."
            )
    for plan in plans[:1]:
        py = plan.interp.label
        for workload in plan.workloads:
            mine = table.get((py, workload.name, "pysampler", LOW), [])
            slow = median(pick(mine, lambda r: r.slowdown))
            if slow is None:
                continue
            slow_cpu = median(pick(mine, lambda r: r.slowdown_cpu))
            by_cpu = fmt(_pct(slow_cpu), "+.2f", " %")
            floor = noise_floor(table, py, workload.name)
            verdict = "met" if slow < 0.01 else "NOT met"
            if floor is not None and floor[0] >= 0.01:
                verdict = (
                    f"not shown either way: identical unprofiled runs differ by "
                    f"{100 * floor[0]:.2f} % in this run, so it cannot resolve 1 %"
                )
            elif floor is not None:
                verdict += f" (noise floor {100 * floor[0]:.2f} %)"
            out.append(
                f"- pysampler's slowdown at 1 kHz on CPython {py}, {workload.title}: "
                f"{100 * slow:+.2f} % (by the target's CPU time {by_cpu}); target < 1 %: "
                f"{verdict}."
            )
    short, long, py = rss.get("pysampler", (None, None, ""))
    if short is not None and long is not None and short.maxrss_kb:
        out.append(
            f"- pysampler's peak RSS from {short.samples:,} to {long.samples:,} samples "
            f"(CPython {py}): {short.maxrss_kb / 1024:.1f} → {long.maxrss_kb / 1024:.1f} MB, "
            f"{growth(short, long)}: {'flat' if rss_is_flat(short, long) else 'NOT flat'} "
            f"(flat: at most {FLAT_MB:g} MB more, or under {FLAT_MB_PER_MILLION:g} MB "
            "per million samples)."
        )
    return [*out, ""]


def environment(plans: Sequence[Plan], tools: Iterable[Tool]) -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs",
        "kernel": f"{platform.system()} {platform.release()}",
        "load average at start": load,
    }
    for plan in plans:
        info[f"target CPython {plan.interp.label}"] = (
            f"{plan.interp.full_version} (`{plan.interp.path}`): "
            + ", ".join(tool.label for tool in plan.tools)
            + "; "
            + ", ".join(w.name for w in plan.workloads)
        )
    seen: set[str] = set()
    for tool in tools:
        if tool.name not in seen:
            seen.add(tool.name)
            info[tool.label] = tool.version
    return info


# ---- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Run pysampler, CPython 3.15's profiler, py-spy and Austin 3.7 side by "
        "side on the same targets and print a Markdown report.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about two minutes: 1 round, short runs, max rates only, py-spy and Austin on "
        "3.11 only, the stdlib target on 3.15 only, strace at depth 24 only, no RSS phase",
    )
    parser.add_argument(
        "--python",
        action="append",
        metavar="PATH",
        help="a target interpreter (repeatable; default: "
        + ", ".join(DEFAULT_PYTHONS)
        + "; missing ones are skipped)",
    )
    parser.add_argument(
        "--depths", default="24,200", help="busy.py's depths (default: %(default)s)"
    )
    parser.add_argument(
        "--stdlib-on",
        metavar="VERSIONS",
        help="target versions that also run targets/stdlib_work.py: 'all', 'none' or a list "
        "such as 3.15,3.11 (default all; --quick 3.15)",
    )
    parser.add_argument("--repeats", type=int, help="rounds per workload (default 3; --quick 1)")
    parser.add_argument(
        "--work-seconds",
        type=float,
        help="unprofiled length of the target's fixed work (default 2.0; --quick 0.5)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.5,
        help="seconds from starting a profiler to the target's work (default: %(default)s)",
    )
    parser.add_argument(
        "--rates",
        help=f"rates to run each profiler at, of {', '.join(RATES)} (1000kHz: pysampler "
        "only) (default: all; --quick max,1000kHz)",
    )
    parser.add_argument(
        "--tools",
        help="which profilers, of "
        + ", ".join(TOOLS)
        + " ('tachyon' is both of CPython's); NAME@3.11 runs one on that target version "
        f"only (default: all, on every target each reads; --quick {QUICK_TOOLS})",
    )
    parser.add_argument(
        "--no-strace", action="store_true", help="skip the strace runs (reads per sample)"
    )
    parser.add_argument(
        "--strace-depths",
        help="busy.py depths of the strace runs (default: every depth; --quick the first)",
    )
    parser.add_argument("--rss", action="store_true", help="run the RSS phase even with --quick")
    parser.add_argument("--no-rss", action="store_true", help="skip the RSS phase")
    parser.add_argument(
        "--rss-python",
        metavar="PATH",
        help="the target interpreter of the RSS phase (default: the first target)",
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
        help="cap on the other profilers' long RSS runs (default 20; --quick 4)",
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
    parser.add_argument(
        "--austin-max-interval",
        type=int,
        default=1,
        metavar="USEC",
        help="Austin's -i for 'max' (default: %(default)s)",
    )
    parser.add_argument(
        "--tachyon-max-rate",
        default="1000khz",
        help="CPython's profiler's -r for 'max' (default: %(default)s, its 1 µs floor)",
    )
    parser.add_argument("--py-spy", dest="pyspy", help="the py-spy executable")
    parser.add_argument("--austin", help="the austin executable")
    parser.add_argument("--pysampler", help="the pysampler executable")
    parser.add_argument("--strace", help="the strace executable")
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
    args.python = args.python or list(DEFAULT_PYTHONS)
    args.repeats = args.repeats or (1 if quick else 3)
    args.work_seconds = args.work_seconds or (0.5 if quick else 2.0)
    args.rates = [
        r.strip()
        for r in (args.rates or ("max,1000kHz" if quick else ",".join(RATES))).split(",")
        if r.strip()
    ]
    unknown = [rate for rate in args.rates if rate not in RATES]
    if unknown:
        parser.error(f"unknown rate {unknown[0]!r}: choose from {', '.join(RATES)}")
    args.tools = args.tools or (QUICK_TOOLS if quick else "pysampler,tachyon,py-spy,austin")
    args.stdlib_on = args.stdlib_on or ("3.15" if quick else "all")
    args.depths = [int(d) for d in args.depths.split(",") if d.strip()]
    strace_depths = args.strace_depths or (str(args.depths[0]) if quick else "")
    args.strace_workloads = (
        [d.strip() for d in strace_depths.split(",") if d.strip()]
        if strace_depths
        else [str(d) for d in args.depths]
    )
    args.no_rss = args.no_rss or (quick and not args.rss)
    args.rss_samples = args.rss_samples or (150_000 if quick else 1_000_000)
    args.rss_others_seconds = args.rss_others_seconds or (4.0 if quick else 20.0)
    args.rss_max_seconds = args.rss_max_seconds or (15.0 if quick else 60.0)
    return args


def wanted_tools(spec: str) -> dict[str, set[str] | None]:
    """``name`` or ``name@3.11`` entries: name -> target versions (None: every one)."""
    wanted: dict[str, set[str] | None] = {}
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        name, _, version = entry.partition("@")
        names = ["tachyon-binary", "tachyon-collapsed"] if name == "tachyon" else [name]
        for one in names:
            if one not in TOOLS:
                msg = f"unknown profiler {one!r}: choose from {', '.join(TOOLS)} or tachyon"
                raise SystemExit(msg)
            if not version:
                wanted[one] = None
            elif one not in wanted or wanted[one] is not None:
                versions = wanted.get(one) or set()
                wanted[one] = {*versions, version}
    return wanted


def build_plans(args: argparse.Namespace) -> list[Plan]:
    """Per target interpreter, the profilers that read it and the workloads; or exit."""
    wanted = wanted_tools(args.tools)
    interps: list[Interp] = []
    for path in args.python:
        interp = probe_interp(path)
        if interp is None:
            log(f"skipping {path}: it does not run")
            continue
        labels = {i.label for i in interps}
        if interp.label in labels:
            interp = Interp(interp.path, interp.version, interp.full_version,
                            f"{interp.label}#{len(interps) + 1}")  # fmt: skip
        interps.append(interp)
    if not interps:
        msg = "no target interpreter runs: give one with --python"
        raise SystemExit(msg)
    shared: list[Tool] = []
    if "pysampler" in wanted:
        executable = args.pysampler or find_executable("pysampler")
        mode = args.pysampler_mode
        if mode == "auto":
            mode = "cli" if pysampler_cli_usable(executable) else "api"
        shared.append(make_pysampler(mode, executable, sys.executable, binary=False))
    if "py-spy" in wanted:
        executable = required_executable(args.pyspy, "py-spy", "pip install py-spy")
        shared.append(make_pyspy(executable, args.pyspy_max_rate))
    if "austin" in wanted:
        executable = required_executable(args.austin, "austin", "pip install austin-dist==3.7.0")
        shared.append(make_austin(executable, args.austin_max_interval))
    stdlib_on = {v.strip() for v in args.stdlib_on.split(",")}
    plans = []
    for interp in interps:
        tools = list(shared)
        if interp.version == (3, 15):
            for kind in ("binary", "collapsed"):
                if f"tachyon-{kind}" in wanted:
                    tools.append(make_tachyon(interp.path, interp.full_version, kind,
                                              args.tachyon_max_rate))  # fmt: skip
        chosen = []
        for tool in tools:
            versions = wanted.get(tool.name)
            if tool.reads(interp.version) and (versions is None or interp.label in versions):
                chosen.append(tool)
        chosen.sort(key=lambda tool: TOOLS.index(tool.name))
        workloads = [busy_workload(depth) for depth in args.depths]
        if "all" in stdlib_on or interp.label in stdlib_on:
            workloads.append(stdlib_workload())
        plans.append(Plan(interp, chosen, workloads))
    return plans


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    started = time.monotonic()
    plans = build_plans(args)
    strace = None
    if not args.no_strace:
        strace = args.strace or shutil.which("strace")
        if strace is None:
            log("strace not found: no reads-per-sample runs (apt-get install strace)")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pysampler-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        if args.keep:
            scratch = Path(tempfile.mkdtemp(prefix="pysampler-bench-kept-"))
            log(f"keeping outputs in {scratch}")
        settings = Settings(args.settle, args.timeout, scratch, args.keep, args.wait_idle, strace)
        env = environment(plans, (tool for plan in plans for tool in plan.tools))
        warm_up(scratch, plans)
        for plan in plans:
            log(f"CPython {plan.interp.label} ({plan.interp.path}): "
                + ", ".join(tool.name for tool in plan.tools))  # fmt: skip
        runs = speed_phase(settings, plans, args.repeats, args.work_seconds, args.rates, rng)
        if strace is not None:
            log("process_vm_readv per sample under strace")
            runs += strace_phase(settings, plans, args.strace_workloads)
        if not args.no_rss:
            rss_plan = plans[0]
            if args.rss_python:
                rss_plan = next((p for p in plans if p.interp.path == args.rss_python), plans[0])
            log(f"peak RSS at the maximum rate, CPython {rss_plan.interp.label}, depth 24")
            long_s = rss_durations(runs, rss_plan, args)
            # RSS runs of pysampler through its CLI stream to a binary file.
            rss_tools = [tool.for_long_runs or tool for tool in rss_plan.tools]
            runs += rss_phase(settings, rss_plan.interp, rss_tools, long_s, 0.1)
    env["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    failures = [describe(run).strip() for run in runs if run.error]
    minutes = (time.monotonic() - started) / 60
    command = shlex.join(
        ["python", str(Path(sys.argv[0])), *(sys.argv[1:] if argv is None else argv)]
    )
    print(report(runs, plans, args.rates, env, command, minutes, failures))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "environment": env,
                    "interpreters": [asdict(plan.interp) for plan in plans],
                    "runs": [asdict(run) for run in runs],
                },
                indent=1,
            )
        )
    return 1 if failures else 0


def rss_durations(runs: Sequence[Run], plan: Plan, args: argparse.Namespace) -> dict[str, float]:
    """How long each long RSS run lasts: pysampler to ``--rss-samples``, the others capped."""
    rates = [
        r.work_rate
        for r in runs
        if r.tool == "pysampler" and r.rate == MAX and r.workload == "24"
        and r.python == plan.interp.label
    ]  # fmt: skip
    rate = median([r for r in rates if r]) or 20_000.0
    ours = min(args.rss_max_seconds, max(2.0, 1.05 * args.rss_samples / rate))
    return {
        tool.name: ours if tool.name == "pysampler" else min(ours, args.rss_others_seconds)
        for tool in plan.tools
    }


if __name__ == "__main__":
    sys.exit(main())
