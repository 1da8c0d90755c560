"""Two versions of one program, for differential profiles.

``python diff_app.py baseline SECONDS``: each round spends 10 ms in
``made_slower``, 20 ms in ``unchanged`` and 10 ms in ``removed``.
``python diff_app.py current SECONDS``: ``made_slower`` takes 20 ms and
``removed`` is no longer called.  Rounds take 40 ms either way.
"""

import sys
import time


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def made_slower(current):
    spin(0.020 if current else 0.010)


def unchanged():
    spin(0.020)


def removed():
    spin(0.010)


def round_of_work(current):
    made_slower(current)
    unchanged()
    if not current:
        removed()


def main():
    current = sys.argv[1] == "current"
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        round_of_work(current)


main()
