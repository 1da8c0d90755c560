"""Flamegraph output: one self-contained, interactive HTML file.

The page works offline (from ``file://``): its script, style and data are
inlined and it fetches nothing (its Content-Security-Policy forbids it).
It draws on a canvas, so profiles with a hundred thousand call paths open
in well under a second.  It offers zoom with breadcrumbs, search by
function, file or module with the share of samples matched, a tooltip with
total and self samples and time, Percentage and Relative Percentage (of
the zoomed frame), an inverted view (functions with self time first), a
per-thread filter, colours by package or file, and keyboard shortcuts.

The profile's stack tree is merged per function (see
:mod:`pysampler.views.calltree`) and embedded as compact JSON with
interned strings (see :mod:`pysampler.renderers.flamegraph._payload`).  Names
are only ever shown as text, never interpreted as markup.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import attrs

from pysampler.profile import Profile
from pysampler.renderers import RendererBase
from pysampler.renderers._html import asset, csp_hash, fill, script_json
from pysampler.renderers.flamegraph._payload import flame_payload
from pysampler.views.calltree import function_tree

__all__ = ["FlamegraphRenderer", "flamegraph_html", "page_html"]


@cache
def _generator_version() -> str:
    """The installed pysampler's version, for the page's generator tag."""
    try:
        return metadata.version("pysampler")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "0+unknown"


def page_html(payload: dict[str, Any]) -> str:
    """The flamegraph page showing ``payload`` (a flamegraph or a differential one)."""
    script = asset(__name__, "flamegraph.js")
    style = asset(__name__, "flamegraph.css")
    values = {
        "data": script_json(payload),
        "script": script,
        "style": style,
        "script_hash": csp_hash(script),
        "style_hash": csp_hash(style),
        "version": _generator_version(),
    }
    return fill(asset(__name__, "flamegraph.html"), values)


def flamegraph_html(profile: Profile) -> str:
    """The flamegraph page of ``profile``, as one HTML document."""
    return page_html(flame_payload(profile, function_tree(profile)))


@attrs.define(kw_only=True)
class FlamegraphRenderer(RendererBase):
    """An interactive flamegraph in one HTML file."""

    name = "flamegraph"
    description = (
        "an interactive flamegraph: one self-contained HTML file (zoom, search, "
        "inverted view, threads; default flamegraph.PID.html)"
    )
    default_output = "flamegraph.{pid}.html"
    writes_text = True

    def page(self, profile: Profile) -> str:
        """The page of ``profile``, as one HTML document."""
        return flamegraph_html(profile)

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write the page to ``path`` (UTF-8)."""
        path.write_text(self.page(profile), encoding="utf-8", newline="\n")

    def render_text(self, profile: Profile, stream: TextIO, /) -> None:
        """Write the page to a text stream."""
        stream.write(self.page(profile))
