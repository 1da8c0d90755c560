"""A target for the flamegraph tests: known functions, a known split, named threads.

The main thread runs ``main -> run_jobs`` for argv[1] seconds, each round
splitting its time between ``parse`` (two hot lines) and ``render``, which
calls ``layout`` and ``paint``; ``paint`` recurses through ``walk`` before
spinning.  Two threads, "worker-1" and "worker-2", alternate short
``crunch`` bursts with sleeps until the main thread is done.  Runs on
CPython 3.8+.
"""

import sys
import threading
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        for i in range(100):
            total += i * i
    return total


def parse(slice_):
    total = 0
    end = time.perf_counter() + slice_ * 0.3
    while time.perf_counter() < end:
        total += sum([i * 3 for i in range(40)])  # first hot line
    end = time.perf_counter() + slice_ * 0.2
    while time.perf_counter() < end:
        total += len(str(total * 7))  # second hot line
    return total


def layout(slice_):
    return spin(slice_)


def walk(depth, slice_):
    if depth:
        return walk(depth - 1, slice_)
    return spin(slice_)


def paint(slice_):
    return walk(3, slice_)


def render(slice_):
    layout(slice_ * 0.3)
    paint(slice_ * 0.2)


def run_jobs(deadline):
    while time.perf_counter() < deadline:
        parse(0.02)
        render(0.02)


def crunch():
    return spin(0.003)


def worker_loop(stop):
    while not stop.is_set():
        crunch()
        time.sleep(0.003)


def main():
    seconds = float(sys.argv[1])
    stop = threading.Event()
    workers = [
        threading.Thread(target=worker_loop, args=(stop,), name="worker-%d" % n) for n in (1, 2)
    ]
    for worker in workers:
        worker.start()
    run_jobs(time.perf_counter() + seconds)
    stop.set()
    for worker in workers:
        worker.join()


main()
