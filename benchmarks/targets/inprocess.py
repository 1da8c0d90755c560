"""Run a benchmark target under an in-process profiler.

    python inprocess.py --profiler pysampler|pyinstrument [--rate HZ]
                        [--main-cpu N --others-cpu M] TARGET.py [ARGS...]

The profiler starts in this process before the target's first line, the
target runs as ``__main__`` (so it prints ``ready``, waits for its go line
and times its own work as it does alone), and the profiler stops when the
target returns.  Then one line goes to stderr: ``inprocess: PROFILER N
samples``, so the benchmark can check that the profiler sampled.

* ``pysampler``: ``pysampler.Sampler()`` with no pid samples this process
  from a native thread that never takes the GIL (plus a Python thread
  that drains the samples every 50 ms).
* ``pyinstrument``: ``pyinstrument.Profiler(interval=1/HZ)``, which records
  a stack from the interpreter's profiling hook when an interval has passed.

With ``--main-cpu`` and ``--others-cpu`` the main thread is pinned to one
CPU and every other thread of the process (the profiler's) to another,
which is how the benchmark runs out-of-process profilers too.  Needs
pysampler or pyinstrument importable by this interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import runpy
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def pin(main_cpu: int | None, others_cpu: int | None) -> None:
    """Pin this (main) thread and every other thread of the process."""
    if main_cpu is not None:
        os.sched_setaffinity(0, {main_cpu})  # 0: the calling thread on Linux
    if others_cpu is None:
        return
    me = threading.get_native_id()
    for task in Path("/proc/self/task").iterdir():
        tid = int(task.name)
        if tid != me:
            with contextlib.suppress(OSError):  # a thread that has just ended
                os.sched_setaffinity(tid, {others_cpu})


def profiler_calls(name: str, rate: float) -> tuple[Callable[[], object], Callable[[], int]]:
    """How to start the named in-process profiler, and to stop it (giving its sample count)."""
    if name == "pysampler":
        from pysampler import Sampler

        sampler = Sampler(rate=rate)
        return sampler.start, lambda: sampler.stop().sample_count
    from pyinstrument import Profiler

    profiler = Profiler(interval=1 / rate)
    return profiler.start, lambda: len(profiler.stop().frame_records)


def main() -> int:
    """Start the profiler, run the target, stop the profiler, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiler", choices=("pysampler", "pyinstrument"), required=True)
    parser.add_argument("--rate", type=float, default=1000.0, help="samples per second")
    parser.add_argument("--main-cpu", type=int, help="pin the main thread to this CPU")
    parser.add_argument("--others-cpu", type=int, help="pin the other threads to this CPU")
    parser.add_argument("target", help="the target script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the target's arguments")
    args = parser.parse_args()
    sys.argv = [args.target, *args.args]
    start, stop = profiler_calls(args.profiler, args.rate)
    start()
    pin(args.main_cpu, args.others_cpu)
    try:
        runpy.run_path(args.target, run_name="__main__")
    finally:
        count = stop()
    print(f"inprocess: {args.profiler} {count} samples", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
