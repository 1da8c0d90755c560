"""A CPU-bound target whose time splits between three functions, about 50/30/20 %.

Each function measures the CPU time it spends (time.thread_time), so the
truth is what the target measured, not what it was meant to do.  At exit it
writes {"heavy": s, "medium": s, "light": s} to the JSON file named by
argv[1].  argv[2] is the total CPU seconds to spend.  Runs on CPython 3.8+.
"""

# The very first line: ~50 ms of work a profiler that starts late would miss.
WARM_UP = sum(i * i for i in range(400000))  # @first_line

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

SPENT = {"heavy": 0.0, "medium": 0.0, "light": 0.0}


def spin(seconds):
    end = time.thread_time() + seconds
    total = 0
    while time.thread_time() < end:
        for i in range(200):
            total += i * i
    return total


def heavy(slice_):
    start = time.thread_time()
    spin(slice_ * 0.5)
    SPENT["heavy"] += time.thread_time() - start


def medium(slice_):
    start = time.thread_time()
    spin(slice_ * 0.3)
    SPENT["medium"] += time.thread_time() - start


def light(slice_):
    start = time.thread_time()
    spin(slice_ * 0.2)
    SPENT["light"] += time.thread_time() - start


def main():
    budget = float(sys.argv[2])
    rounds = int(budget / 0.05)
    for _ in range(rounds):
        heavy(0.05)
        medium(0.05)
        light(0.05)
    with open(sys.argv[1], "w") as out:
        json.dump(SPENT, out)


main()
