"""A stack that keeps changing: recurse to --depth and back, over and over.

Prints ``ready`` once running, works for --seconds, then prints one line
``window START SHARE`` per 100 ms from ``ready`` on: the share of that
window spent in ``leaf``, the deepest call (timed around each call).  A
profiler's samples whose stack holds all
--depth frames of ``down`` with ``leaf`` on top should come to that share.
Runs on any CPython 3.8 or newer; imports only the standard library.
"""

from __future__ import annotations

import argparse
import sys
import time

in_leaf = 0
WINDOW_NS = 100_000_000


def leaf(n: int) -> int:
    """The deepest call: pure-Python work."""
    s = 0
    for i in range(n):
        s += i
    return s


def down(d: int) -> None:
    """Recurse d deep, then call leaf and time it."""
    global in_leaf
    if d <= 1:
        start = time.perf_counter_ns()
        leaf(2000)
        in_leaf += time.perf_counter_ns() - start
        return
    down(d - 1)


def main() -> None:
    """Run until --seconds are up, printing the share of time in leaf per window."""
    global in_leaf
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sys.setrecursionlimit(args.depth + 100)
    print("ready", flush=True)
    start = window = time.perf_counter_ns()
    end = start + int(args.seconds * 1e9)
    lines = []
    while window < end:
        down(args.depth)
        now = time.perf_counter_ns()
        if now - window >= WINDOW_NS:
            lines.append(f"window {(window - start) / 1e9:.3f} {in_leaf / (now - window):.4f}")
            in_leaf, window = 0, now
    print("\n".join(lines), flush=True)


main()
