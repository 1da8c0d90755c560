"""A target with known stacks, for the unwinder tests.

Four threads park in known places: the main thread 500 calls deep in a
recursion, a busy thread spinning inside a lambda called by a method, a
thread waiting inside a generator driven by a coroutine, and a thread
waiting inside an ``except`` block.  A fifth thread then records what the
interpreter itself says of those stacks (``sys._current_frames``) into the
JSON file named by argv[1], prints "ready" and exits.  Lines the tests
refer to carry a ``# @name`` marker.  Runs on every CPython from 3.8 on.
"""

import dis
import json
import sys
import threading
import time

IN_PLACE = threading.Barrier(5)
HOLD = threading.Event()
BUSY_UNTIL = time.monotonic() + 600
PARKING_MARKERS = ("leaf_wait", "busy_loop", "generator_wait", "except_wait")


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
    while time.monotonic() < BUSY_UNTIL: pass  # noqa: E701  # @busy_loop


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


def position(frame):
    """(lineno, end_lineno, col, end_col) of the frame's current instruction."""
    code = frame.f_code
    if hasattr(code, "co_positions") and frame.f_lasti >= 0:
        return list(code.co_positions())[frame.f_lasti // 2]
    return (frame.f_lineno, None, None, None)


def instruction(frame):
    """The base name of the instruction the frame is executing."""
    found = None
    for ins in dis.get_instructions(frame.f_code):
        if ins.offset > frame.f_lasti:
            break
        found = ins
    return found.opname if found is not None else None


def describe(frame):
    """The frame stack from ``frame`` outwards, leaf first."""
    frames = []
    while frame is not None:
        code = frame.f_code
        lineno, end_lineno, col, end_col = position(frame)
        frames.append(
            {
                "filename": code.co_filename,
                "qualname": getattr(code, "co_qualname", code.co_name),
                "lineno": lineno,
                "end_lineno": end_lineno,
                "col": col,
                "end_col": end_col,
                "instruction": instruction(frame),
            }
        )
        frame = frame.f_back
    return frames


def parking_lines():
    """Lines a thread stays on once in place (the markers above)."""
    with open(__file__) as source:
        return {
            number
            for number, line in enumerate(source, 1)
            if any("# @" + name in line for name in PARKING_MARKERS)
        }


def parked(frames, lines):
    """Whether a thread has reached the place it stays in: at most two
    threading frames (Event.wait, Condition.wait) above a parking line."""
    own = [f for f in frames if f["filename"] == __file__]
    return bool(own) and own[0]["lineno"] in lines and frames.index(own[0]) <= 2


def report(path):
    IN_PLACE.wait()
    me = threading.get_ident()
    threads = {t.ident: t for t in threading.enumerate()}
    lines = parking_lines()
    for _ in range(500):
        stacks = {
            ident: describe(frame)
            for ident, frame in sys._current_frames().items()
            if ident != me
        }
        if all(parked(frames, lines) for frames in stacks.values()):
            break
        time.sleep(0.01)
    record = {
        "main": threading.main_thread().ident,
        "threads": {
            str(ident): {
                "name": threads[ident].name,
                "native_id": threads[ident].native_id,
                "frames": frames,
            }
            for ident, frames in stacks.items()
        },
    }
    with open(path, "w") as out:
        json.dump(record, out)
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def main():
    threads = [
        threading.Thread(target=Worker().spin, name="busy-worker", daemon=True),
        threading.Thread(target=drive_coroutine, name="coroutine-sleeper", daemon=True),
        threading.Thread(target=handler, name="exception-handler", daemon=True),
        threading.Thread(target=report, args=(sys.argv[1],), name="reporter", daemon=True),
    ]
    for thread in threads:
        thread.start()
    nested_outer()  # @main_call


if __name__ == "__main__":
    main()  # @module_call
