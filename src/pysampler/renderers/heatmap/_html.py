"""What every heatmap page shares: escaping, assets, page names, colours, the header.

Everything taken from a profile or a source file reaches a page either
through :func:`esc` (HTML text and attributes) or inside the page's JSON
data (:func:`~pysampler.renderers._html.script_json`), which the script only ever sets as
``textContent``.  Pages carry a Content-Security-Policy that lets only
their own inline script run and lets nothing be fetched.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
import time
from pathlib import PurePosixPath

from pysampler.profile import Profile
from pysampler.renderers._html import asset, csp_hash, fill, script_json

__all__ = [
    "INDEX_PAGE",
    "esc",
    "heat_colour",
    "page_document",
    "page_names",
    "path_html",
    "profile_summary",
]

_PACKAGE = "pysampler.renderers.heatmap"  # its _assets folder holds the script and styles

INDEX_PAGE = "index.html"
"""The file name of the index page."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_BASE_LENGTH = 60

# Light yellow to red, every stop light enough for dark text (WCAG AA).
_STOPS = (
    (0.0, (255, 246, 213)),
    (0.35, (255, 220, 120)),
    (0.7, (252, 163, 86)),
    (1.0, (240, 104, 88)),
)


def esc(text: object) -> str:
    """Text made safe for HTML content and quoted attribute values."""
    return html.escape(str(text), quote=True)


def heat_colour(value: int, hottest: int) -> str | None:
    """The background of something with ``value`` samples when the hottest has ``hottest``.

    None for nothing sampled.  The scale runs by the square root of the
    ratio, so lines with a tenth of the hottest line's samples still show.
    """
    if value <= 0 or hottest <= 0:
        return None
    ratio = min(value / hottest, 1.0) ** 0.5
    for (low, low_rgb), (high, high_rgb) in itertools.pairwise(_STOPS):
        if ratio <= high:
            share = (ratio - low) / (high - low)
            rgb = [round(a + (b - a) * share) for a, b in zip(low_rgb, high_rgb, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*_STOPS[-1][1])


def page_names(filenames: list[str]) -> dict[str, str]:
    """A distinct, safe page file name for each source file.

    Names are the file's base name reduced to ``[A-Za-z0-9_.-]`` plus a
    digest of the whole path: never a path separator, never ``..``, never
    two files on one page, never the index page.
    """
    names: dict[str, str] = {}
    taken = {INDEX_PAGE}
    for filename in sorted(set(filenames)):
        base = _UNSAFE.sub("_", PurePosixPath(filename).name)[:_BASE_LENGTH].strip("._") or "file"
        digest = hashlib.sha256(filename.encode("utf-8", "surrogatepass")).hexdigest()
        length = 10
        name = f"{base}.{digest[:length]}.html"
        while name in taken:
            length += 2
            name = f"{base}.{digest[:length]}.html"
        taken.add(name)
        names[filename] = name
    return names


def path_html(filename: str) -> str:
    """A file name as HTML: its directory muted, its base name emphasised."""
    head, sep, base = filename.rpartition("/")
    directory = f'<span class="dir">{esc(head + sep)}</span>' if sep else ""
    return f'{directory}<span class="base">{esc(base)}</span>'


def _rate(profile: Profile) -> str:
    rate = profile.metadata.rate_hz
    return f"{rate:g} Hz" if rate else "as fast as possible"


def profile_summary(profile: Profile, samples: int) -> str:
    """The profile's description, one line of HTML."""
    meta = profile.metadata
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(meta.start_time))
    command = " ".join(meta.command_line) or "?"
    parts = [
        f"<code>{esc(command)}</code>",
        f"pid {meta.pid}",
        f"Python {esc(meta.python_version)}",
        f"{esc(meta.mode)} mode",
        _rate(profile),
        f"{samples:,} samples with Python frames",
    ]
    if meta.duration_ns:
        parts.append(f"{meta.duration_s:.2f} s")
    parts.append(f"started {esc(started)}")
    if meta.truncated:
        parts.append("<strong>profile file cut short</strong>")
    return " · ".join(parts)


def page_document(title: str, body: str, *, data: object = None, body_class: str = "") -> str:
    """A whole page (``_assets/page.html``): the inlined stylesheet, ``body``, data and script."""
    # exactly the element's text, which the CSP hashes
    script = "\n" + asset(_PACKAGE, "heatmap.js")
    data_html = (
        ""
        if data is None
        else f'<script type="application/json" id="heat-data">{script_json(data)}</script>\n'
    )
    return fill(
        asset(_PACKAGE, "page.html"),
        {
            "script_hash": csp_hash(script),
            "title": esc(title),
            "style": asset(_PACKAGE, "heatmap.css"),
            "body_class": esc(body_class),
            "body": body,
            "data": data_html,
            "script": script,
        },
    )
