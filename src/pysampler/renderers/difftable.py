"""The diff table: a comparison's largest regressions and improvements, as text.

What ``pysampler diff BASELINE CURRENT`` prints.  Times are inclusive (the
function and what it called), the baseline scaled to the current run's
total (see :class:`~pysampler.views.diff.DiffProfile`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import attrs

from pysampler.renderers import Option, RendererBase
from pysampler.views.diff import DiffProfile, FunctionChange

__all__ = ["DiffTableRenderer", "format_diff_table"]


def _seconds(value: float) -> str:
    if value == 0:
        return "—"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s"


def _change(change: FunctionChange) -> str:
    sign = "+" if change.change >= 0 else "-"
    magnitude = _seconds(abs(change.change))
    if change.change_pct is None:
        return f"{sign}{magnitude} (new)"
    if change.current == 0:
        return f"{sign}{magnitude} (gone)"
    return f"{sign}{magnitude} ({change.change_pct:+.0f}%)"


def _rows(title: str, changes: list[FunctionChange], limit: int) -> list[str]:
    lines = [title]
    if not changes:
        return [*lines, "  (none above the noise floor)"]
    width = max(len(c.function.qualname) for c in changes[:limit])
    width = min(max(width, 8), 60)
    lines.append(f"  {'function':<{width}}  {'baseline':>10}  {'current':>10}  change   file")
    for change in changes[:limit]:
        name = change.function.qualname
        if len(name) > width:
            name = name[: width - 1] + "…"
        lines.append(
            f"  {name:<{width}}  {_seconds(change.baseline):>10}  {_seconds(change.current):>10}"
            f"  {_change(change):<22}  {change.function.filename}"
        )
    return lines


def format_diff_table(diff: DiffProfile, *, limit: int = 10, min_share: float = 0.01) -> str:
    """Both lists, with a header saying how the runs were normalized."""
    current = diff.current.metadata
    baseline = diff.baseline.metadata
    header = [
        f"pysampler diff: current pid {current.pid} ({diff.total_seconds:.3f} s sampled) "
        f"against baseline pid {baseline.pid}, whose times are scaled by {diff.scale:.3f} "
        "to the same total",
        f"Functions under {min_share:.0%} of both runs' time are left out; times are "
        "inclusive (the function and what it called).",
        "",
    ]
    body = _rows("Regressions (slower in the current run)", diff.regressions(min_share), limit)
    body += ["", *_rows("Improvements (faster, or gone)", diff.improvements(min_share), limit)]
    return "\n".join(header + body) + "\n"


def _rows_option(text: str) -> int:
    rows = int(text)
    if rows < 1:
        msg = "at least one row"
        raise ValueError(msg)
    return rows


@attrs.define(kw_only=True)
class DiffTableRenderer(RendererBase):
    """A comparison as a table of regressions and improvements."""

    name = "diff-table"
    description = (
        "the largest regressions and improvements against BASELINE, as a table "
        "(the default of pysampler diff)"
    )
    writes_text = True
    accepts = DiffProfile
    options = (
        Option(
            name="limit",
            help="rows per list",
            parse=_rows_option,
            default=10,
            flags=("-l", "--limit"),
            metavar="N",
        ),
        Option(
            name="min_share",
            help="leave out functions under PCT %% of both runs' time",
            parse=float,
            default=1.0,
            metavar="PCT",
        ),
    )

    limit: int = 10
    min_share: float = 1.0
    """In percent of a run's time."""

    def render(self, diff: DiffProfile, path: Path, /) -> None:
        """Write the table to a UTF-8 file."""
        with path.open("w", encoding="utf-8", newline="\n") as stream:
            self.render_text(diff, stream)

    def render_text(self, diff: DiffProfile, stream: TextIO, /) -> None:
        """Write the table."""
        stream.write(format_diff_table(diff, limit=self.limit, min_share=self.min_share / 100))
