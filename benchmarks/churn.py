#!/usr/bin/env python3
"""Profilers on a stack that keeps changing, side by side, in one run.

The target (targets/churn.py) recurses to depth 200 and back over and over
and times its own deepest call.  Each profiler attaches to a fresh target
for a few seconds, at 2 kHz and at its highest rate, writing folded stacks;
the rounds interleave the profilers.  Per run it reports:

* samples per second, and at 2 kHz the share of the requested instants that
  gave a sample (the rest were lost, whether or not the profiler says so);
* the share of samples that are a stack the program can have (rooted at
  ``<module>``, a run of ``down`` with nothing missing, ``leaf`` or nothing
  on top) -- a torn read shows up here;
* complete samples per second: those with all 200 ``down`` frames and
  ``leaf`` on top;
* how far the share of complete samples is from the share of time the
  target itself measured in ``leaf`` (points): a profiler whose failed
  reads are not spread evenly over the target's phases is biased.

Profilers: pysampler (this checkout), CPython 3.15's ``profiling.sampling``
on 3.15 targets (it reads only its own version), py-spy and Austin 3.7 on
the versions they read.  Medians over the rounds; Markdown on stdout.

    python benchmarks/churn.py [--rounds 3] [--seconds 3] [--python PATH ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "targets" / "churn.py"
DEPTH = 200
UNSTABLE = Path(
    os.environ.get("PYSAMPLER_DEBIAN_PYTHONS", Path.home() / ".cache/pysampler/debian-unstable")
)
DEFAULT_PYTHONS = [
    str(UNSTABLE / "root/usr/bin/python3.15-local"),
    str(UNSTABLE / "root/usr/bin/python3.14-local"),
    "/usr/bin/python3",
    str(Path.home() / ".pyenv/versions/3.11.7/bin/python"),
]


@dataclass(frozen=True)
class Run:
    """What one profiler run gave."""

    samples: int
    seconds: float
    possible: int
    complete: int
    truth: float  # the target's own share of time in leaf


def version_of(python: str) -> tuple[int, int]:
    """(major, minor) of an interpreter."""
    out = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    major, minor = out.split()
    return int(major), int(minor)


def function_of(frame: str) -> str:
    """The function name in a folded frame.

    ``file:func:line`` (pysampler, CPython, Austin) or ``func (file:line)``
    (py-spy).
    """
    if frame.endswith(")") and " (" in frame:
        return frame.split(" (", 1)[0]
    parts = frame.split(":")
    return parts[-2] if len(parts) >= 3 else frame


def read_folded(path: Path, one_per_line: bool = False) -> list[tuple[list[str], int]]:
    """(function names root first, count) per line of a folded file.

    Thread and process entries are dropped.  Austin writes one line per
    sample with its duration where the others write a count: with
    ``one_per_line`` each line counts once.
    """
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if not head or not count.isdigit():
            continue
        frames = [f for f in head.split(";") if not re.fullmatch(r"(tid:|P|T)\S*", f)]
        stacks.append(([function_of(f) for f in frames], 1 if one_per_line else int(count)))
    return stacks


def judge(stacks: list[tuple[list[str], int]]) -> tuple[int, int, int]:
    """(samples, possible ones, complete ones)."""
    samples = possible = complete = 0
    for names, count in stacks:
        samples += count
        if "<module>" not in names:
            continue
        rest = names[names.index("<module>") + 1 :]
        if rest[:1] != ["main"]:
            continue
        rest = rest[1:]
        downs = 0
        while downs < len(rest) and rest[downs] == "down":
            downs += 1
        tail = rest[downs:]
        if downs <= DEPTH and tail in ([], ["leaf"]):
            possible += count
            if downs == DEPTH and tail == ["leaf"]:
                complete += count
    return samples, possible, complete


Command = Callable[[int, str, Path, int], list[str]]


def pysampler_cmd(pid: int, rate: str, out: Path, seconds: int) -> list[str]:
    """This checkout's pysampler at 2 kHz or as fast as it goes."""
    rate = "max" if rate == "max" else "2000"
    return [sys.executable, "-m", "pysampler", "attach", "-r", rate, "-d", str(seconds),
            "--collapsed", "-o", str(out), str(pid)]  # fmt: skip


def cpython_cmd(python: str) -> Command:
    """CPython 3.15's profiler, run by the target's own interpreter."""

    def command(pid: int, rate: str, out: Path, seconds: int) -> list[str]:
        rate = "1000khz" if rate == "max" else "2khz"
        return [python, "-m", "profiling.sampling", "attach", "-r", rate, "-d", str(seconds),
                "--collapsed", "-o", str(out), str(pid)]  # fmt: skip

    return command


def pyspy_cmd(pid: int, rate: str, out: Path, seconds: int) -> list[str]:
    """py-spy at 2 kHz or its highest rate."""
    rate = "100000" if rate == "max" else "2000"
    return ["py-spy", "record", "-r", rate, "-d", str(seconds), "-f", "raw",
            "-o", str(out), "-p", str(pid)]  # fmt: skip


def austin_cmd(pid: int, rate: str, out: Path, seconds: int) -> list[str]:
    """Austin at a 500 us or a 1 us interval."""
    interval = "1" if rate == "max" else "500"
    return ["austin", "-i", interval, "-x", str(seconds), "-o", str(out), "-p", str(pid)]


def profilers(python: str, version: tuple[int, int]) -> dict[str, Command]:
    """The profilers that read this version."""
    found: dict[str, Command] = {"pysampler": pysampler_cmd}
    if version == (3, 15):
        found["CPython 3.15"] = cpython_cmd(python)
    if version <= (3, 13) and shutil.which("py-spy"):
        found["py-spy 0.4"] = pyspy_cmd
    if version <= (3, 12) and shutil.which("austin"):
        found["Austin 3.7"] = austin_cmd
    return found


def one_run(python: str, command: Command, rate: str, seconds: int, work: Path) -> Run | None:
    """Start a target, attach one profiler to it, judge what it wrote."""
    target = subprocess.Popen(
        [python, str(TARGET), "--depth", str(DEPTH), "--seconds", str(seconds + 1.5)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert target.stdout is not None
    try:
        assert target.stdout.readline().strip() == "ready"
        out = work / "folded.txt"
        out.unlink(missing_ok=True)
        done = subprocess.run(
            command(target.pid, rate, out, seconds),
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        truth_line = target.stdout.read()
        target.wait(timeout=60)
    finally:
        target.kill()
        target.wait()
    # The target's own share of time in leaf while the profiler ran (it
    # attaches within a few tens of milliseconds of "ready").
    shares = [
        float(share)
        for start, share in re.findall(r"window ([\d.]+) ([\d.]+)", truth_line)
        if 0.3 <= float(start) <= seconds - 0.2
    ]
    if done.returncode != 0 or not out.exists() or not shares:
        print(f"  failed: {' '.join(command(target.pid, rate, out, seconds))}: "
              f"{done.stderr.strip()[-300:]}", file=sys.stderr)  # fmt: skip
        return None
    samples, possible, complete = judge(read_folded(out, one_per_line=command is austin_cmd))
    return Run(samples, seconds, possible, complete, statistics.mean(shares))


def median(values: list[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


def report(python: str, version: tuple[int, int], runs: dict[tuple[str, str], list[Run]]) -> None:
    """One Markdown table for one target interpreter."""
    print(f"\n### CPython {version[0]}.{version[1]} target ({python}), depth {DEPTH}\n")
    print("| profiler | rate | samples/s | instants sampled | possible stacks "
          "| complete samples/s | complete share - time share |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for (name, rate), found in runs.items():
        if not found:
            print(f"| {name} | {rate} | failed | | | | |")
            continue
        per_s = median([r.samples / r.seconds for r in found])
        sampled = median([r.samples / (2000 * r.seconds) for r in found])
        possible = median([r.possible / r.samples for r in found if r.samples])
        complete = median([r.complete / r.seconds for r in found])
        bias = median([100 * (r.complete / r.samples - r.truth) for r in found if r.samples])
        shown_sampled = f"{sampled:.1%}" if rate == "2 kHz" else ""
        print(f"| {name} | {rate} | {per_s:,.0f} | {shown_sampled} | {possible:.2%} "
              f"| {complete:,.0f} | {bias:+.1f} points |")  # fmt: skip


def main() -> int:
    """Run every profiler on every target, interleaved; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="target interpreter (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3, help="per run (whole seconds)")
    args = parser.parse_args()
    pythons = [p for p in (args.python or DEFAULT_PYTHONS) if Path(p).exists()]
    print(f"Deep changing stack (depth {DEPTH}), {args.rounds} rounds of {args.seconds:g} s, "
          f"medians; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f} at start.")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="churn.") as tmp:
        for python in pythons:
            version = version_of(python)
            tools = profilers(python, version)
            runs: dict[tuple[str, str], list[Run]] = {
                (name, label): [] for name in tools for label in ("2 kHz", "max")
            }
            for round_no in range(args.rounds):
                for (name, label), found in runs.items():
                    print(f"{python} round {round_no + 1}: {name} {label}", file=sys.stderr)
                    rate = "max" if label == "max" else "2k"
                    result = one_run(python, tools[name], rate, args.seconds, Path(tmp))
                    if result is not None:
                        found.append(result)
            report(python, version, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
