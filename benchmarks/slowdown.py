#!/usr/bin/env python3
"""Target slowdown at 1 kHz, out of process and in process, as tightly as a shared VM allows.

Each run starts a fresh target that does a fixed amount of work and times
it itself: ``targets/busy.py`` (a pure-Python loop at a fixed stack depth)
and ``targets/stdlib_work.py`` (ast, json, difflib and re: calls all the
time).  The target's main thread is pinned to CPU 1 and the profiler to
CPU 0.  In each round the profilers run in random order, every one between
two unprofiled runs (A B1 A B2 A ... A), and a profiled run's slowdown is
B / mean(its two neighbours) - 1, which cancels the host's slow drifts in
speed.  "(none: noise)" is an unprofiled run in a B slot: its spread is the
noise floor the others are read against, measured in the same run.

* out of process: ``pysampler attach`` (and, for context, Austin and
  py-spy) at 1 kHz, started while the target waits for its go line; a run
  whose profiler wrote no sample of the waiting target started late and is
  left out;
* in process: ``pysampler.Sampler()`` (no pid: this process) and
  pyinstrument's ``Profiler(interval=0.001)``, both started inside the
  target before its first line (``targets/inprocess.py``).  The main thread
  is pinned to CPU 1 and the profiler's threads to CPU 0 (``--in-process-cpus
  same`` pins them all to CPU 1).  pyinstrument records a stack from the
  interpreter's call hook when an interval has passed, so on busy.py, whose
  loop calls nothing, it records almost nothing.

Prints a Markdown table per target (medians, means, quartiles and [min,
max] of the slowdowns, and samples per run, to show each profiler
sampled); progress on stderr; every process has a timeout.

    python benchmarks/slowdown.py [--quick] [--rounds 15] [--workloads busy,stdlib]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from compare import (
    Workload,
    busy_workload,
    find_executable,
    kill_quietly,
    log,
    read_line,
    stdlib_workload,
    tally,
)

HERE = Path(__file__).resolve().parent
INPROCESS = HERE / "targets" / "inprocess.py"
PROFILERS = ("pysampler", "pysampler-inprocess", "pyinstrument", "austin", "py-spy")
QUICK_PROFILERS = "pysampler,pysampler-inprocess,pyinstrument"
NOISE = "(none: noise)"
_SAMPLES = re.compile(r"pysampler: ([\d,]+) samples|inprocess: \S+ (\d+) samples")


@dataclass
class Config:
    """One way of profiling the target, or none."""

    name: str
    where: str  # "out of process", "in process", or "-"
    # Out of process: the command for a pid and an output file.
    attach: Callable[[int, Path], list[str]] | None = None
    style: str = "folded"
    # In process: the profiler's name for targets/inprocess.py.
    inprocess: str | None = None


@dataclass
class Result:
    """One target run."""

    workload: str
    config: str
    round: int
    elapsed_s: float | None = None
    cpu_s: float | None = None
    samples: int | None = None
    error: str = ""
    slowdown: float | None = None
    slowdown_cpu: float | None = None


def attach_command(name: str, path: str, rate_hz: int) -> Callable[[int, Path], list[str]]:
    """How an out-of-process profiler attaches at ``rate_hz``, writing folded stacks."""

    def command(pid: int, out: Path) -> list[str]:
        if name == "pysampler":
            return [path, "attach", str(pid), "-r", f"{rate_hz}hz", "--collapsed", "-o", str(out)]
        if name == "austin":
            return [path, "-i", str(1_000_000 // rate_hz), "-p", str(pid), "-o", str(out)]
        return [path, "record", "--pid", str(pid), "--rate", str(rate_hz), "--nonblocking",
                "--idle", "--format", "raw", "-o", str(out)]  # fmt: skip

    return command


def configs(names: Sequence[str], rate_hz: int, python: str) -> list[Config]:
    """The profilers asked for that are installed, plus the noise run."""
    found = [Config(NOISE, "-")]
    for name in names:
        if name in ("pysampler", "austin", "py-spy"):
            path = find_executable(name)
            if path is None:
                log(f"skipping {name}: not installed")
                continue
            style = "lines" if name == "austin" else "folded"
            found.append(Config(name, "out of process", attach_command(name, path, rate_hz), style))
        elif name in ("pysampler-inprocess", "pyinstrument"):
            module = "pysampler" if name == "pysampler-inprocess" else "pyinstrument"
            probe = subprocess.run(
                [python, "-c", f"import {module}"], capture_output=True, timeout=60, check=False
            )
            if probe.returncode == 0:
                label = "pysampler `Sampler()`" if module == "pysampler" else "pyinstrument"
                found.append(Config(label, "in process", inprocess=module))
            else:
                log(f"skipping {name}: {python} cannot import {module}")
        else:
            msg = f"unknown profiler {name!r}: choose from {', '.join(PROFILERS)}"
            raise SystemExit(msg)
    return found


@dataclass
class Settings:
    """What every run shares."""

    python: str
    rate_hz: int
    settle_s: float
    timeout_s: float
    same_cpu: bool
    scratch: Path


def run_once(
    settings: Settings, workload: Workload, units: int, config: Config, result: Result
) -> Result:
    """Start a pinned target, profile it (or not), let it work, read its time."""
    target_args = [str(workload.target), *workload.args, "--units", str(units)]
    if config.inprocess is not None:
        pins = [] if settings.same_cpu else ["--main-cpu", "1", "--others-cpu", "0"]
        cpus = "1" if settings.same_cpu else "0,1"
        argv = ["taskset", "-c", cpus, settings.python, str(INPROCESS), "--profiler",
                config.inprocess, "--rate", str(settings.rate_hz), *pins, *target_args]  # fmt: skip
    else:
        argv = ["taskset", "-c", "1", settings.python, *target_args]
    out = settings.scratch / "profile.txt"
    err_path = settings.scratch / "stderr.txt"
    out.unlink(missing_ok=True)
    target = watcher = None
    try:
        with err_path.open("wb") as err:
            target = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
            )
            assert target.stdin is not None and target.stdout is not None
            if read_line(target.stdout, 30.0) != "ready":
                result.error = "target did not start"
                return result
            if config.attach is not None:
                watcher = subprocess.Popen(
                    ["taskset", "-c", "0", *config.attach(target.pid, out)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            time.sleep(settings.settle_s)
            target.stdin.write(b"go\n")
            target.stdin.flush()
            line = read_line(target.stdout, settings.timeout_s)
            if line is None or not line.startswith("elapsed "):
                result.error = f"target gave {line!r}"
                return result
            fields = line.split()
            result.elapsed_s, result.cpu_s = float(fields[1]), float(fields[2])
            target.wait(timeout=30)
            if watcher is not None:
                watcher.wait(timeout=60)
        text = err_path.read_text(encoding="utf-8", errors="replace")
        counts = [a or b for a, b in _SAMPLES.findall(text)]
        if counts:
            result.samples = int(counts[-1].replace(",", ""))
        if config.attach is not None:
            if not out.exists():
                result.error = f"{config.name} wrote nothing: {text[-200:]!r}"
                return result
            counted = tally(out, "lines" if config.style == "lines" else "folded", workload)
            result.samples = counted.samples
            if counted.waiting == 0:
                result.error = f"{config.name} began sampling after the work began"
        elif config.inprocess is not None and result.samples is None:
            result.error = f"{config.name} reported no samples: {text[-200:]!r}"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        kill_quietly(watcher)
        kill_quietly(target)
    return result


def calibrate(settings: Settings, workload: Workload, seconds: float) -> int:
    """Units of work that take about ``seconds`` pinned and unprofiled."""
    times = []
    for attempt in range(3):
        probe = run_once(
            settings,
            workload,
            workload.probe_units,
            Config(NOISE, "-"),
            Result(workload.name, "calibrate", attempt),
        )
        if probe.elapsed_s:
            times.append(probe.elapsed_s / workload.probe_units)
    if not times:
        msg = f"{workload.target.name} does not run with {settings.python}"
        raise SystemExit(msg)
    return max(1, round(seconds / min(times)))


def measure(
    settings: Settings,
    workload: Workload,
    units: int,
    found: Sequence[Config],
    rounds: int,
    rng: random.Random,
) -> list[Result]:
    """Rounds of A B1 A B2 ... A, the Bs (the noise run among them) in random order."""
    results: list[Result] = []
    unprofiled = Config(NOISE, "-")
    for round_ in range(rounds):
        log(f"{workload.title}: round {round_ + 1}/{rounds}")
        order = list(found)
        rng.shuffle(order)
        steps: list[tuple[Config, bool]] = []  # (what runs, is an A)
        for config in order:
            steps += [(unprofiled, True), (config, False)]
        steps.append((unprofiled, True))
        sequence: list[tuple[Result, bool]] = []
        for config, is_a in steps:
            result = Result(workload.name, "A" if is_a else config.name, round_)
            sequence.append((run_once(settings, workload, units, config, result), is_a))
        for index, (run, is_a) in enumerate(sequence):
            if is_a:
                continue
            neighbours = [sequence[index - 1][0], sequence[index + 1][0]]
            wall = [r.elapsed_s for r in neighbours if r.elapsed_s and not r.error]
            cpu = [r.cpu_s for r in neighbours if r.cpu_s and not r.error]
            if run.elapsed_s and not run.error and wall:
                run.slowdown = run.elapsed_s / statistics.fmean(wall) - 1
            if run.cpu_s and not run.error and cpu:
                run.slowdown_cpu = run.cpu_s / statistics.fmean(cpu) - 1
            samples = "" if run.samples is None else f", {run.samples} samples"
            status = f"FAILED {run.error}" if run.error else f"{_pct(run.slowdown)}{samples}"
            log(f"  {run.config}: {status}")
        results.extend(run for run, _ in sequence)
    return results


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f} %"


def table(workload: Workload, found: Sequence[Config], results: Sequence[Result]) -> list[str]:
    """One Markdown table: slowdown statistics per profiler."""
    noise = [r.slowdown for r in results if r.config == NOISE and r.slowdown is not None]
    noise_median = statistics.median(noise) if noise else None
    out = [
        f"### {workload.title}",
        "",
        "| profiler | where | slowdown (median) | mean | quartiles | [min, max] "
        "| median - noise median | slowdown by target CPU time (median) | samples / run | runs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for config in found:
        mine = [r for r in results if r.config == config.name]
        values = [r.slowdown for r in mine if r.slowdown is not None]
        by_cpu = [r.slowdown_cpu for r in mine if r.slowdown_cpu is not None]
        samples = [r.samples for r in mine if r.samples is not None and not r.error]
        failed = sum(1 for r in mine if r.error)
        if not values:
            out.append(f"| {config.name} | {config.where} | failed | | | | | | | {failed} failed |")
            continue
        mid = statistics.median(values)
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        versus = (
            "-"
            if noise_median is None or config.name == NOISE
            else f"{100 * (mid - noise_median):+.2f} points"
        )
        runs = f"{len(values)}" + (f" ({failed} failed)" if failed else "")
        cells = [
            config.name,
            config.where,
            f"{100 * mid:+.2f} %",
            f"{100 * statistics.fmean(values):+.2f} %",
            f"{100 * quartiles[0]:+.1f} % … {100 * quartiles[2]:+.1f} %",
            f"[{100 * min(values):+.1f}, {100 * max(values):+.1f}] %",
            versus,
            _pct(statistics.median(by_cpu)) if by_cpu else "-",
            f"{statistics.median(samples):,.0f}" if samples else "-",
            runs,
        ]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def main() -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, pysampler and pyinstrument")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the target interpreter; in-process runs need pysampler and pyinstrument "
        "importable by it (default: this one, %(default)s)",
    )
    parser.add_argument("--workloads", default="busy,stdlib", help="busy and/or stdlib")
    parser.add_argument("--depth", type=int, default=24, help="busy.py's stack depth")
    parser.add_argument("--rounds", type=int, help="rounds (default 15; --quick 3)")
    parser.add_argument(
        "--work-seconds", type=float, default=0.3, help="unprofiled work per run (default 0.3)"
    )
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    parser.add_argument(
        "--profilers",
        help=f"of {', '.join(PROFILERS)} (default: all; --quick {QUICK_PROFILERS})",
    )
    parser.add_argument(
        "--in-process-cpus",
        choices=("separate", "same"),
        default="separate",
        help="in-process profilers' threads on CPU 0 beside the target's main thread on "
        "CPU 1 (separate, as out-of-process ones run), or all on CPU 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.5,
        help="seconds from the profiler's start to the work (default: %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per target run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run order")
    parser.add_argument("--json", type=Path, help="also write every run to this file")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    names = (args.profilers or (QUICK_PROFILERS if args.quick else ",".join(PROFILERS))).split(",")
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        msg = "needs two CPUs (target on CPU 1, profiler on CPU 0)"
        raise SystemExit(msg)
    started = time.monotonic()
    found = configs([n.strip() for n in names if n.strip()], args.rate, args.python)
    workloads = []
    for name in (w.strip() for w in args.workloads.split(",")):
        if name == "busy":
            workloads.append(busy_workload(args.depth))
        elif name == "stdlib":
            workloads.append(stdlib_workload())
        elif name:
            msg = f"unknown workload {name!r}: busy or stdlib"
            raise SystemExit(msg)
    rng = random.Random(args.seed)
    results: list[Result] = []
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="pysampler-slowdown-") as scratch:
        # Bytecode cached once, not compiled again by every start (see compare.warm_up).
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        settings = Settings(
            args.python,
            args.rate,
            args.settle,
            args.timeout,
            args.in_process_cpus == "same",
            Path(scratch),
        )
        units = {}
        for workload in workloads:
            units[workload.name] = calibrate(settings, workload, args.work_seconds)
            log(f"{workload.title}: {units[workload.name]} units ≈ {args.work_seconds:g} s")
            results += measure(settings, workload, units[workload.name], found, rounds, rng)
    minutes = (time.monotonic() - started) / 60
    print(
        f"Slowdown at {args.rate} Hz, CPython {version} (`{args.python}`), {rounds} rounds "
        f"of A-B-A-B...-A runs, {args.work_seconds:g} s of work each, target pinned to CPU 1, "
        f"profilers to CPU 0 (in-process: {args.in_process_cpus}); load average "
        f"{os.getloadavg()[0]:.2f} at the end; {minutes:.1f} min.\n"
    )
    print(
        "Slowdown: the profiled run's work time over the mean of the unprofiled runs just "
        "before and after it, minus 1; the noise row is an unprofiled run in a profiled "
        "run's place.\n"
    )
    for workload in workloads:
        print(
            "\n".join(table(workload, found, [r for r in results if r.workload == workload.name]))
        )
    failed = [r for r in results if r.error]
    if failed:
        print("Failed runs:\n")
        for run in failed:
            print(f"- {run.workload} {run.config} round {run.round + 1}: {run.error}")
    if args.json:
        with contextlib.suppress(OSError):
            args.json.write_text(
                json.dumps({"units": units, "runs": [asdict(r) for r in results]}, indent=1)
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
