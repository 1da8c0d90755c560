"""Deep stacks, for the sampling-completeness tests.

    deep_stacks.py steady D1 D2 ...   one thread per depth: recurse to depth D
                                      (D frames of `down`) and spin there
    deep_stacks.py churn D            the main thread recurses to depth D and
                                      back, over and over
    deep_stacks.py exec D             the same to depths 0..D-1 in turn, through
                                      functions compiled by exec and freed after
                                      each call (code objects, and their
                                      addresses, come and go)

Prints "ready" once every stack is in place (steady) or the loop runs.
"""

import sys
import threading


def spin():
    x = 0
    while True:
        x += 1


def leaf(n):
    s = 0
    for i in range(n):
        s += i
    return s


def down(d, then):
    return then() if d <= 1 else down(d - 1, then)


def steady(depth, ready):
    def arrived():
        ready.release()
        spin()

    down(depth, arrived)


def loop(depth):
    print("ready", flush=True)
    while True:
        down(depth, lambda: leaf(2000))


GENERATED = "<generated>"
VARIANTS = 7


def generated_source(k):
    """gen_k, whose recursive call is on line k + 2 of its source."""
    return (
        "\n" * k + f"def gen_{k}(d, then):\n    return then() if d <= 0 else gen_{k}(d - 1, then)\n"
    )


def exec_loop(depth):
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        k = n % VARIANTS
        namespace = {}
        exec(compile(generated_source(k), GENERATED, "exec"), namespace)
        namespace[f"gen_{k}"](n % depth, lambda: leaf(200))
        del namespace


def main():
    sys.setrecursionlimit(10000)
    kind, depths = sys.argv[1], [int(arg) for arg in sys.argv[2:]]
    if kind == "churn":
        loop(depths[0])
    if kind == "exec":
        exec_loop(depths[0])
    ready = threading.Semaphore(0)
    for depth in depths:
        name = f"depth-{depth}"
        threading.Thread(target=steady, args=(depth, ready), name=name, daemon=True).start()
    for _ in depths:
        ready.acquire()
    print("ready", flush=True)
    threading.Event().wait()


main()
