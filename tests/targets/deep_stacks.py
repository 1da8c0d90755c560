"""Deep stacks, for the sampling-completeness tests.

    deep_stacks.py steady D1 D2 ...   one thread per depth: recurse to depth D
                                      (D frames of `down`) and spin there
    deep_stacks.py churn D            the main thread recurses to depth D and
                                      back, over and over
    deep_stacks.py exec D             the same to depths 0..D-1 in turn, through
                                      functions compiled by exec and freed after
                                      each call (code objects, and their
                                      addresses, come and go)
    deep_stacks.py branches D         call chains of D frames that alternate
                                      their functions over the same frame
                                      addresses: recursion, a generator resumed
                                      from each chain, C code calling back, an
                                      exception unwinding

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


def branch_leaf(n):
    s = 0
    for i in range(n):
        s += i
    return s


def a_chain(d):
    return a_chain(d - 1) if d > 1 else branch_leaf(300)


def b_chain(d):
    return b_chain(d - 1) if d > 1 else branch_leaf(300)


def generator():
    while True:
        yield branch_leaf(100)


def a_resume(g, d):
    return a_resume(g, d - 1) if d > 1 else next(g)


def b_resume(g, d):
    return b_resume(g, d - 1) if d > 1 else next(g)


def through_c(d):
    return sum(map(b_chain, [d, d]))


def raiser(d):
    if d <= 1:
        branch_leaf(100)
        raise ValueError(d)
    raiser(d - 1)


def branches_loop(depth):
    """Each chain is depth frames of one function; nothing mixes them."""
    a, b = generator(), generator()
    print("ready", flush=True)
    while True:
        a_chain(depth)
        b_chain(depth)
        a_resume(a, depth)
        b_resume(a, depth)
        a_resume(b, depth)
        through_c(depth)
        try:
            raiser(depth)
        except ValueError:
            pass


def main():
    sys.setrecursionlimit(10000)
    kind, depths = sys.argv[1], [int(arg) for arg in sys.argv[2:]]
    if kind == "churn":
        loop(depths[0])
    if kind == "exec":
        exec_loop(depths[0])
    if kind == "branches":
        branches_loop(depths[0])
    ready = threading.Semaphore(0)
    for depth in depths:
        name = f"depth-{depth}"
        threading.Thread(target=steady, args=(depth, ready), name=name, daemon=True).start()
    for _ in depths:
        ready.acquire()
    print("ready", flush=True)
    threading.Event().wait()


main()
