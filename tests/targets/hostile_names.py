"""Run from a file named like markup: a function and a thread named like markup too.

The tests copy this file to ``<img src=x onerror=alert(1)>.py`` and run it
for argv[1] seconds.  The main thread spins in a function whose name (and,
on 3.11+, qualified name) is ``<img src=x onerror=alert(1)>``; a thread
named ``<script>alert(2)</script>`` spins in one named
``</script><svg onload=alert(3)>&amp;``.  Runs on CPython 3.8+.
"""

import sys
import threading
import time

HOSTILE = "<img src=x onerror=alert(1)>"
CLOSER = "</script><svg onload=alert(3)>&amp;"


def template(seconds):
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        total += 1
    return total


def renamed(name):
    code = template.__code__.replace(co_name=name)
    if hasattr(code, "co_qualname"):
        code = code.replace(co_qualname=name)
    return type(template)(code, globals(), name)


seconds = float(sys.argv[1])
thread = threading.Thread(
    target=renamed(CLOSER), args=(seconds,), name="<script>alert(2)</script>"
)
thread.start()
renamed(HOSTILE)(seconds)
thread.join()
