"""The index page: sampled source files ranked by samples, with a filter."""

from __future__ import annotations

from pysampler.profile import Profile
from pysampler.renderers.heatmap._html import (
    esc,
    heat_colour,
    page_document,
    path_html,
    profile_summary,
)
from pysampler.renderers.heatmap._source import SourceFile, SourceStatus
from pysampler.views.lines import HeatData

__all__ = ["index_page"]

_NOTES = {
    SourceStatus.CHANGED: ("warn", "changed after sampling started"),
    SourceStatus.MISSING: ("gone", "file is gone"),
    SourceStatus.UNREADABLE: ("gone", "cannot be read"),
    SourceStatus.NO_SOURCE: ("info", "no source"),
}


def _percent(value: float) -> str:
    return "&lt;0.1%" if 0 < value < 0.05 else f"{value:.1f}%"


def _row(
    rank: int,
    filename: str,
    data: HeatData,
    source: SourceFile,
    page: str,
    hottest_self: int,
) -> str:
    totals = data.files[filename]
    whole = data.total or 1
    lines = data.file_lines(filename)
    hot = max(lines.items(), key=lambda item: (item[1].self_weight, -item[0]), default=None)
    hot_html = (
        f'<a href="{esc(page)}#L{hot[0]}">line {hot[0]}</a> '
        f'<span class="muted">({hot[1].self_weight:,})</span>'
        if hot is not None and hot[1].self_weight > 0
        else '<span class="muted">—</span>'
    )
    note = _NOTES.get(source.status)
    note_html = f' <span class="note-tag {note[0]}">{esc(note[1])}</span>' if note else ""
    self_pct = 100 * totals.self_weight / whole
    total_pct = 100 * totals.total / whole
    self_text, total_text = _percent(self_pct), _percent(total_pct)
    colour = heat_colour(totals.self_weight, hottest_self)
    swatch = f' style="--heat:{colour}"' if colour else ""
    return (
        f'<tr data-path="{esc(filename)}" data-self="{totals.self_weight}" '
        f'data-total="{totals.total}" data-lines="{len(lines)}" data-rank="{rank}">'
        f'<td class="num rank">{rank}</td>'
        f'<td class="num heat"{swatch}>{totals.self_weight:,}</td>'
        f'<td class="pct"><span class="track"><span class="bar" style="width:{self_pct:.1f}%">'
        f"</span></span>{self_text}</td>"
        f'<td class="num">{totals.total:,}</td>'
        f'<td class="pct"><span class="track"><span class="bar total" '
        f'style="width:{total_pct:.1f}%"></span></span>{total_text}</td>'
        f'<td class="num">{len(lines):,}</td>'
        f'<td class="hot">{hot_html}</td>'
        f'<td class="file"><a href="{esc(page)}">{path_html(filename)}</a>{note_html}</td></tr>'
    )


def index_page(
    profile: Profile, data: HeatData, sources: dict[str, SourceFile], names: dict[str, str]
) -> str:
    """The index page, ranking files by self samples, then total samples."""
    ranked = sorted(
        data.files, key=lambda name: (-data.files[name].self_weight, -data.files[name].total, name)
    )
    hottest_self = max((totals.self_weight for totals in data.files.values()), default=0)
    rows = "\n".join(
        _row(rank, filename, data, sources[filename], names[filename], hottest_self)
        for rank, filename in enumerate(ranked, start=1)
    )
    empty = (
        ""
        if ranked
        else '<p class="banner info">No samples with Python frames were collected.</p>\n'
    )
    body = (
        '<header class="top">\n<h1>pysampler heatmap</h1>\n'
        f'<p class="meta">{profile_summary(profile, data.total)}</p>\n'
        f'<p class="stats"><span><b>{len(ranked):,}</b> source files</span> '
        f"<span><b>{len(data.lines):,}</b> lines sampled</span></p>\n"
        '<div class="controls"><input type="search" id="filter" '
        'placeholder="Filter files by path…" aria-label="Filter files by path" autocomplete="off">'
        f'<span id="shown" aria-live="polite">{len(ranked):,} of {len(ranked):,} files</span>'
        '<span class="hint">Self: samples executing a line of the file; total: samples '
        "with the file anywhere on the stack. Click a heading to sort.</span></div>\n"
        f"</header>\n{empty}"
        '<main class="index">\n<table class="files">\n<thead><tr>'
        '<th class="num" data-sort="rank" aria-sort="ascending">#</th>'
        '<th class="num" data-sort="self" colspan="2">self samples</th>'
        '<th class="num" data-sort="total" colspan="2">total samples</th>'
        '<th class="num" data-sort="lines">lines</th>'
        "<th>hottest line</th>"
        '<th data-sort="path">file</th></tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>\n</main>"
    )
    return page_document("pysampler heatmap", body, body_class="index-page")
