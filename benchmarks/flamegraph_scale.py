#!/usr/bin/env python3
"""How the flamegraph page scales: file size, time to first draw, zoom time.

For each size it synthesizes a profile with about that many distinct call
paths of functions (flamegraph nodes): a few thousand functions in a few
hundred files (an application, installed packages, the standard library),
stacks 6 to 60 deep, 8 threads, heavy-tailed sample counts.  The profile is
built the way a session builds one (``ProfileDelta`` values, made by the
unit tests' ``BatchBuilder``, through ``StackCollector``), rendered with
the ``flamegraph`` renderer, and opened from ``file://`` in headless
Chromium through Playwright, in a fresh page of an already started
browser.  The page reports its own timings (``window.__flamegraphTimings``,
``performance.now()`` since navigation):

* first draw: the first frame drawn, data parsed and tree built;
* first frame: the next animation frame after it (the page on screen);
* zoom: zooming into a frame and redrawing (median over 15 of the widest
  frames at a few depths), synchronous, and up to the next animation frame;
* search and inverted: searching for a common name; building and drawing
  the inverted view.

Run ``python benchmarks/flamegraph_scale.py --help`` for the options; it
prints a Markdown table.  This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from batches import BatchBuilder, session_info, session_stats  # noqa: E402

from pysampler.collectors import StackCollector  # noqa: E402
from pysampler.profile import Profile  # noqa: E402
from pysampler.renderers import get  # noqa: E402
from pysampler.views.calltree import function_tree  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
Function = tuple[str, str, int, int]


def functions(rng: random.Random, count: int) -> list[Function]:
    """``count`` functions in files of an app, some packages and the stdlib."""
    files = []
    for index in range(count // 12):
        kind = rng.random()
        if kind < 0.4:
            files.append(f"/srv/app/service/module_{index}.py")
        elif kind < 0.8:
            files.append(
                f"/venv/lib/python3.12/site-packages/pkg{index % 40}/sub{index % 7}/m{index}.py"
            )
        else:
            files.append(f"/usr/lib/python3.12/stdmod{index % 25}/part{index}.py")
    made = []
    for index in range(count):
        first = rng.randrange(1, 2000)
        made.append(
            (
                rng.choice(files),
                f"Class{index % 97}.method_{index}",
                first,
                first + rng.randrange(1, 40),
            )
        )
    return made


def synthesize(nodes: int, seed: int = 1) -> Profile:
    """A profile with about ``nodes`` distinct call paths of functions."""
    rng = random.Random(seed)
    funcs = functions(rng, max(200, nodes // 25))
    builder = BatchBuilder()
    threads = [0x7F00_0000_1000 + 0x1000 * n for n in range(8)]
    prefixes: list[list[Function]] = [[funcs[0], funcs[1]]]
    paths: set[tuple[Function, ...]] = set()
    collector = StackCollector()
    collector.start(session_info(interval_ns=1_000_000))
    pending = 0
    while len(paths) < nodes:
        base = rng.choice(prefixes)
        stack = base[: rng.randrange(1, len(base) + 1)]
        for _ in range(rng.randrange(1, 7)):
            if len(stack) >= 60:
                break
            stack = [*stack, rng.choice(funcs)]
        for depth in range(1, len(stack) + 1):
            paths.add(tuple(stack[:depth]))
        if len(stack) >= 6:
            prefixes.append(stack)
        count = min(int(rng.paretovariate(1.2)), 500)
        builder.sample(stack, thread=rng.choice(threads), count=count)
        pending += count
        if pending > 50_000:
            collector.add(builder.batch())
            pending = 0
    collector.add(builder.batch())
    return collector.finish(session_stats(duration_ns=10**9, taken=10**6, failed=0))


def measure(browser: object, path: Path) -> dict[str, float]:
    """Open the page in a fresh context and read the page's timings."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("window.__flamegraphTimings && window.__flamegraphTimings.ready")
    timings = page.evaluate("window.__flamegraphTimings")
    zooms = page.evaluate(
        """async () => {
        const fg = window.__flamegraph;
        const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
        // Wide frames at several depths: the widest child, repeatedly.
        const targets = [];
        for (let node = 0, depth = 0; depth < 15; depth++) {
            const kids = fg.children(node);
            if (!kids.length) break;
            node = kids[0];
            targets.push(kids[Math.min(1, kids.length - 1)], node);
        }
        const sync = [], framed = [];
        for (const node of targets.slice(0, 15)) {
            const t0 = performance.now();
            fg.zoom(node);
            sync.push(performance.now() - t0);
            await frame();
            framed.push(performance.now() - t0);
            fg.reset();
            await frame();
        }
        const t1 = performance.now();
        fg.search("method_1");
        const search = performance.now() - t1;
        const t2 = performance.now();
        fg.setView("inverted");
        const inverted = performance.now() - t2;
        return {sync, framed, search, inverted};
    }"""
    )
    context.close()
    return {
        "first_draw": timings["firstDraw"],
        "first_frame": timings["firstFrame"],
        "script": timings["firstDraw"] - timings["scriptStart"],
        "zoom": statistics.median(zooms["sync"]),
        "zoom_frame": statistics.median(zooms["framed"]),
        "zoom_max": max(zooms["sync"]),
        "search": zooms["search"],
        "inverted": zooms["inverted"],
    }


def main() -> int:
    """Measure each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 200_000])
    parser.add_argument("--repeat", type=int, default=3, help="page loads per size (median)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="write the HTML files here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    out = args.keep or Path(tempfile.mkdtemp(prefix="flamegraph-scale-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        warm = out / "warm-up.html"
        get("flamegraph")().render(synthesize(200), warm)
        measure(browser, warm)
        for nodes in args.nodes:
            print(f"synthesizing {nodes} nodes ...", file=sys.stderr)
            profile = synthesize(nodes)
            flame_nodes = len(function_tree(profile)) - 1
            path = out / f"flamegraph-{nodes}.html"
            started = time.perf_counter()
            get("flamegraph")().render(profile, path)
            render_s = time.perf_counter() - started
            runs = [measure(browser, path) for _ in range(args.repeat)]
            median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            size = path.stat().st_size
            rows.append((flame_nodes, profile.total_weight, size, render_s, median))
        browser.close()

    print(f"Chromium: {args.chromium}; pages from {out}; medians of {args.repeat} loads\n")
    print(
        "| nodes | samples | HTML size | bytes/node | render (Python) | first draw | "
        "first frame | script | zoom (sync) | zoom (to frame) | zoom max | search | inverted |"
    )
    print("|" + "---|" * 13)
    for nodes, samples, size, render_s, m in rows:
        print(
            f"| {nodes:,} | {samples:,} | {size / 1e6:.2f} MB | {size / nodes:.1f} | "
            f"{render_s:.2f} s | {m['first_draw']:.0f} ms | {m['first_frame']:.0f} ms | "
            f"{m['script']:.0f} ms | {m['zoom']:.1f} ms | {m['zoom_frame']:.1f} ms | "
            f"{m['zoom_max']:.1f} ms | {m['search']:.1f} ms | {m['inverted']:.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
