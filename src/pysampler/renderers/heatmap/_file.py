"""The page of one source file: every line with its self and total samples.

Each sampled line carries its heat colours (by self and by total samples,
scaled to the hottest line of the whole profile) and, in the page's JSON
data, its callers, callees and sampled instructions, which the script
unfolds into a panel under the line.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from pysampler.profile import FunctionKey, Profile
from pysampler.renderers.heatmap._html import (
    INDEX_PAGE,
    esc,
    heat_colour,
    page_document,
    path_html,
    profile_summary,
)
from pysampler.renderers.heatmap._source import SourceFile, SourceStatus, char_column
from pysampler.views.lines import HeatData, LineKey, LineStats

__all__ = ["file_page"]

_HOT_LINES = 8


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _banner(source: SourceFile, start_time: float) -> str:
    status = source.status
    listed = "The lines that were sampled are listed with their counts."
    if status is SourceStatus.CHANGED:
        assert source.mtime is not None
        text = (
            f"<strong>This file changed after sampling started.</strong> It was modified "
            f"{esc(_when(source.mtime))}, after sampling started {esc(_when(start_time))}: "
            "the text below is the file as it is now and may not match the lines that ran."
        )
        kind = "warn"
    elif status is SourceStatus.MISSING:
        text = (
            "<strong>This file is gone:</strong> it no longer exists, so its source "
            f"cannot be shown. {listed}"
        )
        kind = "gone"
    elif status is SourceStatus.UNREADABLE:
        text = (
            f"<strong>This file cannot be read</strong> ({esc(source.error or 'unknown error')}), "
            f"so its source cannot be shown. {listed}"
        )
        kind = "gone"
    elif status is SourceStatus.NO_SOURCE:
        text = (
            "<strong>No source:</strong> this code was not loaded from a file (a frozen "
            f"module or code compiled from a string). {listed}"
        )
        kind = "info"
    else:
        return ""
    return f'<div class="banner {kind}" role="status" id="source-status">{text}</div>\n'


def _href(target_file: str, lineno: int, here: str, names: dict[str, str]) -> str:
    anchor = f"#L{lineno}"
    return anchor if target_file == here else names[target_file] + anchor


def _base(filename: str) -> str:
    return filename.rpartition("/")[2] or filename


def _caller_entries(
    stats: LineStats, here: str, data: HeatData, names: dict[str, str]
) -> list[list[object]]:
    entries: list[list[object]] = []
    for key, total in stats.callers.most_common():
        caller = data.lines.get(key)
        function = caller.functions.most_common(1)[0][0] if caller and caller.functions else "?"
        entries.append(
            [
                _href(key.filename, key.lineno, here, names),
                f"{_base(key.filename)}:{key.lineno} · {function}",
                f"{key.filename}, line {key.lineno}, in {function}",
                stats.callers_self[key],
                total,
            ]
        )
    return entries


def _callee_target(
    function: FunctionKey, executing: Iterable[int], data: HeatData, listed: dict[str, set[int]]
) -> int:
    """The line a link to ``function`` goes to: its first line when its page lists it."""
    if function.firstlineno in listed.get(function.filename, set()):
        return function.firstlineno
    hottest = sorted(executing, key=lambda n: -data.lines[LineKey(function.filename, n)].total)
    return hottest[0] if hottest else function.firstlineno


def _callee_entries(
    stats: LineStats,
    here: str,
    data: HeatData,
    names: dict[str, str],
    listed: dict[str, set[int]],
) -> list[list[object]]:
    entries: list[list[object]] = []
    for function, total in stats.callees.most_common():
        executing = stats.callee_lines.get(function, Counter())
        target = _callee_target(function, executing, data, listed)
        entries.append(
            [
                _href(function.filename, target, here, names),
                f"{function.qualname} · {_base(function.filename)}:{function.firstlineno}",
                f"{function.qualname}, defined in {function.filename}, line {function.firstlineno}",
                stats.callees_self[function],
                total,
            ]
        )
    return entries


def _op_entries(profile: Profile, stats: LineStats, text: str | None) -> list[list[object]]:
    entries: list[list[object]] = []
    for op, total in sorted(stats.ops.items(), key=lambda item: (-item[1], item[0])):
        name = profile.opcode_name(op.opcode) or f"opcode {op.opcode}"
        base = profile.opcode_name(op.base_opcode) or f"opcode {op.base_opcode}"
        start = end = -1
        spans = stats.op_spans.get(op)
        if spans and text is not None:
            col, end_col = spans.most_common(1)[0][0]
            start = char_column(text, col)
            end = len(text) if end_col < 0 else char_column(text, end_col)
        entries.append([name, base, stats.ops_self[op], total, start, end])
    return entries


def _row(
    lineno: int, source_html: str, stats: LineStats | None, data: HeatData, has_details: bool
) -> str:
    anchor = f'<a class="no" href="#L{lineno}">{lineno}</a>'
    if stats is None or stats.total == 0:
        return (
            f'<div class="ln" id="L{lineno}">{anchor}<span class="self"></span>'
            f'<span class="tot"></span><span class="fold"></span>'
            f'<code class="src">{source_html}</code></div>'
        )
    colours = [
        f"--{var}:{colour}"
        for var, colour in (
            ("hs", heat_colour(stats.self_weight, data.max_self)),
            ("ht", heat_colour(stats.total, data.max_total)),
        )
        if colour is not None
    ]
    style = f' style="{";".join(colours)}"' if colours else ""
    whole = data.total or 1
    tip = (
        f"{stats.self_weight:,} self samples ({100 * stats.self_weight / whole:.1f}%), "
        f"{stats.total:,} total ({100 * stats.total / whole:.1f}%)"
    )
    fold = (
        f'<button type="button" class="fold" aria-expanded="false" '
        f'aria-label="Callers, callees and bytecode of line {lineno}" '
        f'title="Callers, callees and bytecode of line {lineno}"></button>'
        if has_details
        else '<span class="fold"></span>'
    )
    zero = " zero" if stats.self_weight == 0 else ""
    ops = " data-ops" if stats.ops else ""
    return (
        f'<div class="ln hit" id="L{lineno}" data-self="{stats.self_weight}" '
        f'data-total="{stats.total}"{ops}{style} title="{esc(tip)}">{anchor}'
        f'<span class="self{zero}">{stats.self_weight:,}</span>'
        f'<span class="tot">{stats.total:,}</span>{fold}'
        f'<code class="src">{source_html}</code></div>'
    )


def _source_html(source: SourceFile, lineno: int, stats: LineStats | None) -> str:
    text = source.line(lineno)
    if text is not None:
        return esc(text)
    if source.status.has_text:
        return '<span class="note">(beyond the end of the file as it is now)</span>'
    functions = ", ".join(stats.functions) if stats else ""
    return f'<span class="note">in {esc(functions)}</span>' if functions else ""


def _hot_lines(lines: dict[int, LineStats]) -> str:
    hottest = sorted(
        ((n, s) for n, s in lines.items() if s.self_weight > 0),
        key=lambda item: (-item[1].self_weight, item[0]),
    )[:_HOT_LINES]
    if not hottest:
        return ""
    links = " ".join(
        f'<a class="chip" href="#L{n}">line {n} <b>{s.self_weight:,}</b></a>' for n, s in hottest
    )
    return f'<p class="hotlines">Hottest lines (self samples): {links}</p>\n'


def _heat_controls(data: HeatData) -> str:
    return (
        '<div class="controls">'
        '<span class="mode" role="radiogroup" aria-label="Heat by">Heat by '
        '<label><input type="radio" name="heat" value="self" checked> self</label>'
        '<label><input type="radio" name="heat" value="total"> total</label></span>'
        '<span class="legend"><span class="ramp"></span>'
        f'<span class="for-self">1 to {data.max_self:,} self samples (the hottest line)</span>'
        f'<span class="for-total">1 to {data.max_total:,} total samples</span></span>'
        '<span class="hint">Click a line number to link to it; <b>▸</b> unfolds its '
        "callers, callees and bytecode; <kbd>b</kbd> unfolds every line with bytecode.</span>"
        "</div>\n"
    )


def file_page(
    profile: Profile,
    filename: str,
    data: HeatData,
    source: SourceFile,
    names: dict[str, str],
    listed: dict[str, set[int]],
) -> str:
    """The HTML page of one sampled file.

    Args:
        profile: The profile (for its metadata and opcode names).
        filename: The file, as code objects name it.
        data: The profile's per-line totals.
        source: The file as read now.
        names: The page name of every sampled file.
        listed: The line numbers each page lists (links to functions go
            to their first line when it is listed).
    """
    lines = data.file_lines(filename)
    totals = data.files[filename]
    whole = data.total or 1
    numbers = sorted(listed[filename])
    line_data: dict[str, dict[str, object]] = {}
    rows: list[str] = []
    for lineno in numbers:
        stats = lines.get(lineno)
        details = False
        if stats is not None:
            entry: dict[str, object] = {
                "s": stats.self_weight,
                "t": stats.total,
                "c": _caller_entries(stats, filename, data, names),
                "e": _callee_entries(stats, filename, data, names, listed),
                "o": _op_entries(profile, stats, source.line(lineno)),
            }
            details = any(entry[k] for k in "ceo")
            if details:
                line_data[str(lineno)] = entry
        rows.append(_row(lineno, _source_html(source, lineno, stats), stats, data, details))
    number_width = max(len(f"{data.max_total:,}"), 5)
    line_width = max(len(str(numbers[-1])) if numbers else 1, 4)
    header = (
        '<header class="top">\n'
        f'<nav><a href="{INDEX_PAGE}">← All files</a></nav>\n'
        f'<h1 class="path">{path_html(filename)}</h1>\n'
        f'<p class="meta">{profile_summary(profile, data.total)}</p>\n'
        f'<p class="stats"><span><b>{totals.self_weight:,}</b> self samples '
        f"({100 * totals.self_weight / whole:.1f}%)</span> "
        f"<span><b>{totals.total:,}</b> total ({100 * totals.total / whole:.1f}%)</span> "
        f"<span><b>{len(lines):,}</b> lines sampled</span></p>\n"
        f"{_hot_lines(lines)}{_heat_controls(data)}</header>\n"
    )
    listing = (
        f'<main class="listing" style="--line-w:{line_width}ch;--num-w:{number_width}ch">\n'
        '<div class="head"><span class="no">line</span><span class="self">self</span>'
        '<span class="tot">total</span><span class="fold"></span>'
        '<span class="src">source</span></div>\n' + "\n".join(rows) + "\n</main>"
    )
    body = header + _banner(source, profile.metadata.start_time) + listing
    title = f"{_base(filename)} — pysampler heatmap"
    return page_document(title, body, data={"lines": line_data}, body_class="file-page")
