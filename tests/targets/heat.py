"""A heatmap target: a clear hottest line in heat_helper.py, calls across two files.

``work`` calls ``churn`` (in heat_helper.py, the hottest line of the run)
and ``local_spin`` (here, a second, cooler hot spot).  Lines the tests look
for are tagged ``# @name``.  argv[1] is how many seconds to run (default
1.5).  Runs on CPython 3.8+.
"""

import sys
import time

from heat_helper import churn


def local_spin(n):
    acc = 0
    for i in range(n):
        acc += i % 3  # @local_hot
    return acc


def work(rounds):
    total = 0
    for _ in range(rounds):
        total += churn(4000)  # @call_churn
        total += local_spin(1000)  # @call_local
    return total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        work(5)  # @call_work


main()  # @main_call
