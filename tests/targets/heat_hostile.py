"""A heatmap target whose names and source text are markup.

The tests copy it to a directory and a file named like markup and run it
for argv[1] seconds: it spins in a function whose name (and, on 3.11+,
qualified name) is ``<img src=x onerror=alert(1)>&amp;``, on a line whose
source holds ``</script><script>alert(2)</script>``.  Runs on CPython 3.8+.
"""

import sys
import time


def template(seconds):
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        total += len("</script><script>alert(2)</script>")  # @hostile_hot
    return total


def renamed(name):
    code = template.__code__.replace(co_name=name)
    if hasattr(code, "co_qualname"):
        code = code.replace(co_qualname=name)
    return type(template)(code, globals(), name)


renamed("<img src=x onerror=alert(1)>&amp;")(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
