"""A target with known stacks, for the unwinder tests.

Lines the tests look for carry a marker comment `# @name`; the tests read
this file to find their numbers, so edits here do not break them.  When
every thread is in place the script prints "ready" and waits until killed.
Runs on every CPython from 3.8 on.
"""

import sys
import threading
import time

READY = threading.Event()
IN_PLACE = threading.Barrier(5)
HOLD = threading.Event()
BUSY_UNTIL = time.monotonic() + 600


def nested_outer():
    nested_middle()  # @nested_outer


def nested_middle():
    recurse(500)  # @nested_middle


def recurse(n):
    if n > 1:
        return recurse(n - 1)  # @recurse_call
    return leaf_wait()  # @recurse_base


def leaf_wait():
    IN_PLACE.wait()
    HOLD.wait()  # @leaf_wait


class Worker:
    def spin(self):
        compute = lambda: spin_forever()  # noqa: E731  # @lambda_call
        compute()  # @method_call


def spin_forever():
    IN_PLACE.wait()
    while time.monotonic() < BUSY_UNTIL:  # @busy_loop
        pass


def numbers():
    IN_PLACE.wait()
    HOLD.wait()  # @generator_wait
    yield 1


async def coroutine_body():
    for _ in numbers():  # @coroutine_call
        pass


def drive_coroutine():
    coro = coroutine_body()
    try:
        coro.send(None)  # @drive_send
    except StopIteration:
        pass


def handler():
    try:
        raise ValueError("kept while waiting")
    except ValueError:
        IN_PLACE.wait()
        HOLD.wait()  # @except_wait


def main():
    threads = [
        threading.Thread(target=Worker().spin, name="busy-worker", daemon=True),
        threading.Thread(target=drive_coroutine, name="coroutine-sleeper", daemon=True),
        threading.Thread(target=handler, name="exception-handler", daemon=True),
        threading.Thread(target=announce, name="announcer", daemon=True),
    ]
    for thread in threads:
        thread.start()
    nested_outer()  # @main_call


def announce():
    # The fifth party of the barrier: once everyone is in place, say so.
    IN_PLACE.wait()
    time.sleep(0.2)
    sys.stdout.write("ready\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()  # @module_call
