"""A busy, single-threaded benchmark target.

The main thread recurses until its stack is ``--depth`` frames deep (the
module frame included), prints ``ready`` and waits for a line on stdin.
Then, in the deepest frame and without calling anything (so every sample
sees exactly ``--depth`` frames), it does pure-Python integer work:

* ``--units N``: a fixed amount of work, timed with ``time.perf_counter``
  (and ``time.thread_time``); it prints ``elapsed SECONDS CPU_SECONDS`` and
  exits.  The work time under a profiler
  over the work time without one gives the profiler's slowdown.
* ``--seconds S``: work until S seconds have passed, then exit (a target
  for measuring how fast a profiler can sample).

Lines marked ``# work`` are the work loop: the benchmark counts a sample
as taken during the work when its innermost frame is ``bottom`` at one of
them.  Runs on any CPython 3.8 or newer; imports only the standard library.
"""

from __future__ import annotations

import argparse
import sys
import time

UNIT = 10_000  # loop iterations in one unit of work


def bottom(units: int, seconds: float) -> None:
    """Wait for the go line, then work in this frame only."""
    print("ready", flush=True)
    sys.stdin.readline()  # wait
    x = 1
    if seconds > 0:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:  # work
            for _ in range(UNIT):  # work
                x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # work
        print("done", x & 1, flush=True)
        return
    start, start_cpu = time.perf_counter(), time.thread_time()
    for _ in range(units):  # work
        for _ in range(UNIT):  # work
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF  # work
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    print(f"elapsed {elapsed:.6f} {cpu:.6f} {x & 1}", flush=True)


def recurse(remaining: int, units: int, seconds: float) -> None:
    """One frame of the recursion; the last one works."""
    if remaining <= 1:
        bottom(units, seconds)
    else:
        recurse(remaining - 1, units, seconds)


def main() -> None:
    """Parse the arguments and descend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=24, help="frames on the stack, >= 4")
    parser.add_argument("--units", type=int, default=0, help="units of fixed work")
    parser.add_argument("--seconds", type=float, default=0.0, help="work for this long instead")
    args = parser.parse_args()
    if args.depth < 4:
        parser.error("--depth must be at least 4 (module, main, recurse, bottom)")
    sys.setrecursionlimit(max(1000, args.depth + 100))
    # <module> -> main -> recurse x (depth - 3) -> bottom: depth frames.
    recurse(args.depth - 3, args.units, args.seconds)


if __name__ == "__main__":
    main()
