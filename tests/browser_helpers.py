"""The browser tests' helpers: profiles of real runs, and driving a flamegraph page.

The page (plain or differential) exposes ``window.__flamegraph`` (see
renderers/flamegraph/_assets/flamegraph.js); these helpers find frames by call path,
hover them and read the tooltip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pysampler import Profile, Sampler


def finish(sampler: Sampler) -> Profile:
    """Wait for the target a sampler launched to exit (successfully); the profile."""
    assert sampler.wait(timeout=120)
    profile = sampler.stop()
    assert sampler.launched_process is not None
    assert sampler.launched_process.wait(timeout=60) == 0
    return profile


def open_page(page: Any, html: Path) -> None:
    """Load a page from file:// and wait until it has drawn."""
    page.goto(html.as_uri())
    page.wait_for_function("window.__flamegraphTimings && window.__flamegraphTimings.ready")


def node_at(page: Any, path: tuple[str, ...]) -> int:
    """The page's node for a call path of function names, in the current view."""
    for node in page.evaluate("name => __flamegraph.nodes(name)", path[-1]):
        if tuple(page.evaluate("node => __flamegraph.path(node)", node)) == path:
            return int(node)
    raise AssertionError(f"no frame for {path}")


def centre(page: Any, node: int) -> tuple[float, float]:
    """A point inside a frame, in viewport coordinates (scrolled into view)."""
    box = page.evaluate("node => __flamegraph.rect(node)", node)
    assert box is not None, f"node {node} is not drawn"
    return box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2


def hover(page: Any, node: int) -> dict[str, str]:
    """Move the mouse over a frame; the tooltip's fields by name."""
    page.mouse.move(*centre(page, node))
    page.wait_for_selector("#tooltip:not([hidden])")
    return dict(
        page.evaluate(
            "() => [...document.querySelectorAll('#tooltip [data-field]')]"
            ".map(e => [e.dataset.field, e.textContent])"
        )
    )
