"""Target slowdown at 1 kHz, measured as tightly as a shared VM allows.

The target (targets/busy.py, a fixed amount of pure-Python work at a given
stack depth) is pinned to CPU 1 and the profiler to CPU 0, and every
profiled run is bracketed by two unprofiled ones: the slowdown of a triplet
is B / mean(A, C) - 1, which cancels the host's slow drifts in speed.  The
same triplets without a profiler in the middle give the noise, so the two
medians can be compared.  Prints a Markdown table.

    python benchmarks/slowdown.py [--triplets 25] [--units 150] [--depth 24]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "targets" / "busy.py"
SETTLE = 0.8  # seconds between the profiler's start and the work


def profilers(rate_hz: int) -> dict[str, list[str]]:
    """How each profiler attaches at ``rate_hz`` (PID is filled in later)."""
    found = {}
    bin_dir = Path(sys.executable).parent
    for name in ("pysampler", "austin", "py-spy"):
        path = shutil.which(name, path=str(bin_dir)) or shutil.which(name)
        if path:
            found[name] = path
    commands = {}
    if "pysampler" in found:
        commands["pysampler"] = [
            found["pysampler"],
            "attach",
            "{pid}",
            "-r",
            f"{rate_hz}hz",
            "--collapsed",
            "-o",
            "/dev/null",
        ]
    if "austin" in found:
        commands["austin"] = [
            found["austin"],
            "-i",
            str(1_000_000 // rate_hz),
            "-p",
            "{pid}",
            "-o",
            "/dev/null",
        ]
    if "py-spy" in found:
        commands["py-spy"] = [
            found["py-spy"],
            "record",
            "--pid",
            "{pid}",
            "--rate",
            str(rate_hz),
            "--nonblocking",
            "--format",
            "raw",
            "-o",
            "/dev/null",
        ]
    return commands


def work_time(python: str, depth: int, units: int, profiler: list[str] | None) -> float:
    """Seconds the target took for its fixed work, profiled or not."""
    target = subprocess.Popen(
        ["taskset", "-c", "1", python, str(TARGET), "--depth", str(depth), "--units", str(units)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert target.stdin is not None and target.stdout is not None
    target.stdout.readline()  # ready
    watcher = None
    if profiler is not None:
        command = [part.replace("{pid}", str(target.pid)) for part in profiler]
        watcher = subprocess.Popen(
            ["taskset", "-c", "0", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(SETTLE)
    target.stdin.write("go\n")
    target.stdin.flush()
    fields = target.stdout.readline().split()
    target.wait(timeout=120)
    if watcher is not None:
        watcher.wait(timeout=120)
    return float(fields[1])


def triplets(
    python: str, depth: int, units: int, count: int, profiler: list[str] | None
) -> list[float]:
    """B / mean(A, C) - 1 for ``count`` triplets (B profiled when a profiler is given)."""
    out = []
    for _ in range(count):
        before = work_time(python, depth, units, None)
        middle = work_time(python, depth, units, profiler)
        after = work_time(python, depth, units, None)
        out.append(middle / ((before + after) / 2) - 1)
    return out


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="/root/.pyenv/versions/3.11.7/bin/python")
    parser.add_argument("--triplets", type=int, default=25)
    parser.add_argument("--units", type=int, default=150, help="work per run (~0.1 s per 150)")
    parser.add_argument("--depth", type=int, default=24)
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    args = parser.parse_args()
    rows = [("(none: noise)", triplets(args.python, args.depth, args.units, args.triplets, None))]
    for name, command in profilers(args.rate).items():
        print(f"measuring {name}", file=sys.stderr)
        rows.append((name, triplets(args.python, args.depth, args.units, args.triplets, command)))
    print(
        f"Slowdown at {args.rate} Hz, depth {args.depth}, {args.triplets} pinned A-B-A triplets\n"
    )
    print("| profiler | median | mean | quartiles |")
    print("|---|---|---|---|")
    for name, values in rows:
        q1, _, q3 = statistics.quantiles(values, n=4)
        print(
            f"| {name} | {statistics.median(values) * 100:+.2f} % | "
            f"{statistics.mean(values) * 100:+.2f} % | {q1 * 100:+.1f} % … {q3 * 100:+.1f} % |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
