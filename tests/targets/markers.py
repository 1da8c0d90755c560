"""A target that alternates Python called from C and garbage collection.

``through_c`` has ``map`` (C) call ``called_by_c`` for ~0.2 s; ``collect``
builds reference cycles and runs ``gc.collect()``.  argv[1] is how long to
run, in seconds.  Runs on CPython 3.8+.
"""

import gc
import sys
import time


def called_by_c(n):
    end = time.perf_counter() + 0.0005
    while time.perf_counter() < end:
        n += 1
    return n


def through_c():
    return list(map(called_by_c, range(400)))


class Node:
    def __init__(self):
        self.other = self


def collect():
    junk = [Node() for _ in range(200000)]
    del junk
    gc.collect()


def main():
    gc.disable()  # collections happen only where this script asks
    end = time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:
        through_c()
        collect()


main()
