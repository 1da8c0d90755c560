"""Heatmap: a folder of HTML pages showing which *lines* the samples fell on.

``index.html`` ranks the sampled source files by samples; each file gets a
page listing every line with its self and total samples and a heat colour
scaled to the hottest line of the profile.  A line unfolds into its
callers and callees (links across files) and, for profiles taken with
``--opcodes``, the bytecode instructions sampled on it.  Pages are static,
work from ``file://`` and fetch nothing.

Source is read when the heatmap is written: a file modified after
sampling started gets a warning, a file that is gone (or never existed,
like ``<frozen importlib._bootstrap>``) a page that says so and still
lists the sampled lines.  See :mod:`._lines` for how samples are counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import attrs

from pysampler.errors import OutputError
from pysampler.profile import Profile
from pysampler.renderers import RendererBase
from pysampler.renderers.heatmap._file import file_page
from pysampler.renderers.heatmap._html import INDEX_PAGE, page_names
from pysampler.renderers.heatmap._index import index_page
from pysampler.renderers.heatmap._source import SourceFile, read_source
from pysampler.views.lines import HeatData, collect_lines

__all__ = ["HeatmapRenderer"]


def _listed_lines(data: HeatData, sources: dict[str, SourceFile]) -> dict[str, set[int]]:
    """The line numbers each file's page lists: all of them when the text is known."""
    listed: dict[str, set[int]] = {name: set() for name in data.files}
    for key in data.lines:
        listed[key.filename].add(key.lineno)
    for name, source in sources.items():
        if source.status.has_text:
            last = max([len(source.lines), *listed[name]])
            listed[name] = set(range(1, last + 1))
    return listed


@attrs.define(kw_only=True)
class HeatmapRenderer(RendererBase):
    """Per-line heatmap: ``index.html`` and one page per sampled source file."""

    name = "heatmap"
    description = (
        "a folder of HTML pages showing each source file line by line with self and "
        "total samples (default heatmap_PID/; --opcodes adds a bytecode panel)"
    )
    default_output = "heatmap_{pid}"

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write ``index.html`` and the file pages into the directory ``path``.

        The directory is created if needed; pages already in it are replaced.

        Raises:
            OutputError: ``path`` exists and is not a directory.
            OSError: The pages cannot be written.
        """
        if path.exists() and not path.is_dir():
            msg = f"{path} exists and is not a directory: the heatmap is a folder of pages"
            raise OutputError(msg)
        data = collect_lines(profile)
        start = profile.metadata.start_time
        sources = {name: read_source(name, start) for name in data.files}
        names = page_names(list(data.files))
        listed = _listed_lines(data, sources)
        path.mkdir(parents=True, exist_ok=True)
        for filename, source in sources.items():
            page = file_page(profile, filename, data, source, names, listed)
            _write(path / names[filename], page)
        _write(path / INDEX_PAGE, index_page(profile, data, sources, names))

    def render_text(self, data: object, stream: TextIO, /) -> None:
        """Refuse: a heatmap is a folder of pages, not text.

        Raises:
            OutputError: Always.
        """
        msg = "heatmap output is a folder of HTML pages, not text: name a directory with -o"
        raise OutputError(msg)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="replace", newline="\n")
