"""A busy, single-threaded target running real standard-library code.

Where ``busy.py`` holds one frame still, this target's stack changes all
the time, as real programs' stacks do: each unit of work parses Python
source with ``ast`` and walks the tree with an ``ast.NodeVisitor``, round
trips a nested document through ``json`` (indented, so the pure-Python
encoder runs), diffs two versions of a text with ``difflib``, and compiles
and applies regular expressions with ``re`` (its cache purged, so the
pure-Python parser and compiler run too).

The main thread prints ``ready`` and waits for a line on stdin (the line
marked ``# wait``), then:

* ``--units N``: does N units of work, timed with ``time.perf_counter``
  (and ``time.thread_time``); it prints ``elapsed SECONDS CPU_SECONDS`` and
  exits;
* ``--seconds S``: works until S seconds have passed, then exits.

The stack of every sample taken during the work is, root first,
``<module>`` → ``main`` → ``work`` → one of the ``task_*`` functions →
whatever the standard library calls below it.  The benchmark calls a
sample *complete* when it has exactly that root: the three frames, in this
file, then a ``task_*`` function of this file (the sample reaches into the
work).  A profiler that cuts stacks short at the root, or loses frames at
the top of the stack, fails that test.  Runs on any CPython 3.8 or newer;
imports only the standard library.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
import time
from pathlib import Path

TASKS = ("task_ast", "task_json", "task_difflib", "task_re")

# Source to parse: this file, so the tree is real code of a known size.
SOURCE = Path(__file__).read_text(encoding="utf-8")

DOCUMENT = {
    "name": "benchmark",
    "items": [
        {"id": n, "tags": [f"t{n % 7}", f"u{n % 5}"], "score": n * 0.5, "ok": n % 3 == 0}
        for n in range(60)
    ],
    "nested": {"a": {"b": {"c": [1, 2, {"d": "e"}]}}},
}

OLD_TEXT = SOURCE.splitlines()[:120]
NEW_TEXT = [line.replace("work", "task") if n % 9 == 0 else line for n, line in enumerate(OLD_TEXT)]

PATTERNS = (
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>[^#\n]+)",
    r"def\s+(\w+)\((.*?)\)\s*(?:->\s*([\w\[\], |]+))?:",
    r"\b(?:import|from)\s+([\w.]+)",
    r"[\"'](.*?)[\"']",
)


class Counter(ast.NodeVisitor):
    """Counts the nodes of each type (pure-Python recursion over the tree)."""

    def __init__(self) -> None:
        """An empty count."""
        self.counts: dict[str, int] = {}

    def generic_visit(self, node: ast.AST) -> None:
        """Count this node, then its children."""
        name = type(node).__name__
        self.counts[name] = self.counts.get(name, 0) + 1
        super().generic_visit(node)


def task_ast() -> int:
    """Parse the source and walk its tree."""
    counter = Counter()
    counter.visit(ast.parse(SOURCE))
    return len(counter.counts)


def task_json() -> int:
    """Round-trip the document through indented (pure-Python) JSON."""
    text = json.dumps(DOCUMENT, indent=1, sort_keys=True)
    return len(json.loads(text)["items"])


def task_difflib() -> int:
    """A unified diff of the two texts."""
    return sum(1 for _ in difflib.unified_diff(OLD_TEXT, NEW_TEXT, lineterm=""))


def task_re() -> int:
    """Compile the patterns afresh and match them over the source."""
    re.purge()
    found = 0
    for pattern in PATTERNS:
        found += len(re.compile(pattern).findall(SOURCE))
    return found


def work(units: int, seconds: float) -> int:
    """Run the tasks round-robin: ``units`` rounds, or for ``seconds``."""
    tasks = (task_ast, task_json, task_difflib, task_re)
    total = 0
    if seconds > 0:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:  # work
            for task in tasks:  # work
                total += task()  # work
        return total
    for _ in range(units):  # work
        for task in tasks:  # work
            total += task()  # work
    return total


def main() -> None:
    """Parse the arguments, wait for the go line, work."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=0, help="units of fixed work")
    parser.add_argument("--seconds", type=float, default=0.0, help="work for this long instead")
    args = parser.parse_args()
    print("ready", flush=True)
    sys.stdin.readline()  # wait
    if args.seconds > 0:
        print("done", work(0, args.seconds) & 1, flush=True)
        return
    start, start_cpu = time.perf_counter(), time.thread_time()
    total = work(args.units, 0.0)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    print(f"elapsed {elapsed:.6f} {cpu:.6f} {total & 1}", flush=True)


if __name__ == "__main__":
    main()
