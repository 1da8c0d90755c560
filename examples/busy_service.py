"""A small program to point pysampler at: a few threads doing different work.

Run it, then read its stacks from outside:

    python examples/busy_service.py &
    pysampler dump $!

It runs for --seconds (default 60) and then exits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import queue
import threading
import time


def is_prime(n: int) -> bool:
    """Trial division: deliberately CPU-bound."""
    if n < 2:
        return False
    factor = 2
    while factor * factor <= n:
        if n % factor == 0:
            return False
        factor += 1
    return True


def count_primes(limit: int) -> int:
    """How many primes are below ``limit``."""
    return sum(1 for n in range(limit) if is_prime(n))


def cpu_worker(stop: threading.Event) -> None:
    """Keeps a core busy counting primes."""
    while not stop.is_set():
        count_primes(20_000)


def encode_records(jobs: queue.Queue[int], stop: threading.Event) -> None:
    """Turns job numbers into JSON documents and hashes them."""
    while not stop.is_set():
        try:
            job = jobs.get(timeout=0.1)
        except queue.Empty:
            continue
        document = json.dumps({"job": job, "items": list(range(job % 500))})
        hashlib.sha256(document.encode()).hexdigest()


def producer(jobs: queue.Queue[int], stop: threading.Event) -> None:
    """Feeds jobs at a steady pace, sleeping in between."""
    job = 0
    while not stop.is_set():
        jobs.put(job)
        job += 1
        time.sleep(0.001)


def main() -> None:
    """Start the workers and wait."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    stop = threading.Event()
    jobs: queue.Queue[int] = queue.Queue(maxsize=1000)
    workers = [
        threading.Thread(target=cpu_worker, args=(stop,), name="primes"),
        threading.Thread(target=encode_records, args=(jobs, stop), name="encoder"),
        threading.Thread(target=producer, args=(jobs, stop), name="producer"),
    ]
    for worker in workers:
        worker.start()
    try:
        stop.wait(args.seconds)
    finally:
        stop.set()
        for worker in workers:
            worker.join()


if __name__ == "__main__":
    main()
