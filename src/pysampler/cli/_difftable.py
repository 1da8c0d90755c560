"""The terminal table of ``pysampler diff``: largest regressions and improvements."""

from __future__ import annotations

from pysampler.views.diff import DiffProfile, FunctionChange

__all__ = ["format_diff_table", "regressions_over"]


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


def regressions_over(diff: DiffProfile, percent: float, min_share: float = 0.01) -> list[str]:
    """The significant functions slower by more than ``percent`` (new ones count)."""
    over = []
    for change in diff.regressions(min_share):
        pct = change.change_pct
        if pct is None or pct > percent:
            label = "new" if pct is None else f"{pct:+.0f}%"
            over.append(f"{change.function.qualname} ({change.function.filename}) {label}")
    return over
