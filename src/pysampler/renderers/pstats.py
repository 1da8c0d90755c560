"""pstats output: a table of functions, or a file ``pstats.Stats`` loads.

As text (standard output by default) it is the stdlib sampling profiler's
table: direct/cumulative samples, sample %, tottime, cumul %, cumtime and
``filename:lineno(function)``.  Written to a file it is a ``marshal`` dump
of the dict ``pstats.Stats`` reads (and snakeviz opens), keyed
``(filename, firstlineno, qualname)`` with values ``(direct samples,
cumulative samples, tottime s, cumtime s, callers)``, each caller mapped to
``(samples, samples, tottime s, cumtime s)`` of that call edge.

Times are samples times the time one sample stands for
(:attr:`pysampler.profile.Profile.seconds_per_sample`).  A function counts
once per sample however deep it recurses, so cumulative time never exceeds
the time sampled.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TextIO

import attrs

from pysampler.errors import OutputError
from pysampler.profile import FunctionKey, Profile
from pysampler.renderers import Option, RendererBase
from pysampler.views.functions import FunctionTotals, function_totals

__all__ = [
    "DEFAULT_LIMIT",
    "SORT_ORDERS",
    "FunctionRow",
    "PstatsRenderer",
    "function_rows",
    "pstats_dict",
]

DEFAULT_LIMIT = 15
"""Rows the table shows unless told otherwise (as the stdlib tool does)."""


@attrs.frozen
class FunctionRow:
    """One function's line of the table."""

    function: FunctionKey
    direct: int
    """Samples with the function as the leaf."""
    cumulative: int
    """Samples with the function anywhere on the stack."""
    direct_pct: float
    cumulative_pct: float
    tottime: float
    """Seconds directly in the function."""
    cumtime: float
    """Seconds in the function and what it called."""


def _by_name(row: FunctionRow) -> tuple[str, str, int]:
    return (row.function.qualname, row.function.filename, row.function.firstlineno)


_SortKey = Callable[[FunctionRow], tuple[object, ...]]

SORT_ORDERS: dict[str, tuple[_SortKey, bool]] = {
    "nsamples": (lambda row: (row.direct, row.cumulative), True),
    "nsamples-cumul": (lambda row: (row.cumulative, row.direct), True),
    "tottime": (lambda row: (row.tottime, row.cumtime), True),
    "cumtime": (lambda row: (row.cumtime, row.tottime), True),
    "sample-pct": (lambda row: (row.direct_pct, row.cumulative_pct), True),
    "cumul-pct": (lambda row: (row.cumulative_pct, row.direct_pct), True),
    "name": (_by_name, False),
    "filename": (lambda row: row.function, False),
}
"""``--sort`` values: the stdlib tool's, plus ``filename`` (file, then line).

Each maps to a key and whether larger values come first.  Ties fall back
to the function's name, so the order is stable across runs.
"""


def function_rows(profile: Profile, totals: FunctionTotals | None = None) -> list[FunctionRow]:
    """Every function that was sampled, unsorted."""
    totals = function_totals(profile) if totals is None else totals
    seconds = profile.seconds_per_sample
    whole = totals.total or 1
    return [
        FunctionRow(
            function=function,
            direct=totals.direct[index],
            cumulative=totals.cumulative[index],
            direct_pct=100.0 * totals.direct[index] / whole,
            cumulative_pct=100.0 * totals.cumulative[index] / whole,
            tottime=totals.direct[index] * seconds,
            cumtime=totals.cumulative[index] * seconds,
        )
        for index, function in enumerate(totals.functions)
    ]


PstatsKey = tuple[str, int, str]
PstatsCall = tuple[int, int, float, float]
PstatsEntry = tuple[int, int, float, float, dict[PstatsKey, PstatsCall]]


def pstats_dict(profile: Profile) -> dict[PstatsKey, PstatsEntry]:
    """The ``stats`` dict of ``pstats.Stats``, built from the stack tree.

    Keys and values are plain tuples, as ``marshal`` needs.
    """
    totals = function_totals(profile)
    seconds = profile.seconds_per_sample
    keys: list[PstatsKey] = [tuple(function) for function in totals.functions]  # type: ignore[misc]
    callers: dict[int, dict[PstatsKey, PstatsCall]] = {}
    for (caller, callee), count in totals.edges.items():
        direct = totals.edges_direct[caller, callee]
        callers.setdefault(callee, {})[keys[caller]] = (
            count,
            count,
            direct * seconds,
            count * seconds,
        )
    return {
        key: (
            totals.direct[index],
            totals.cumulative[index],
            totals.direct[index] * seconds,
            totals.cumulative[index] * seconds,
            callers.get(index, {}),
        )
        for index, key in enumerate(keys)
    }


def _unit(largest: float) -> tuple[str, float]:
    if largest >= 1.0:
        return "s", 1.0
    if largest >= 0.001:
        return "ms", 1e3
    return "us", 1e6


def _location(function: FunctionKey) -> str:
    if function.filename == "~" and function.firstlineno == 0:
        return function.qualname
    return f"{PurePosixPath(function.filename).name}:{function.firstlineno}({function.qualname})"


def _summary(profile: Profile, total: int) -> str:
    meta = profile.metadata
    rate = f"{meta.rate_hz:g} Hz" if meta.rate_hz else "as fast as possible"
    parts = [f"pid {meta.pid}, Python {meta.python_version}, {meta.mode} mode, {rate}"]
    if meta.taken:
        parts.append(f"{meta.taken} sampling instants over {meta.duration_s:.3f} s")
    if meta.failed:
        parts.append(f"{meta.failed} failed")
    if meta.late:
        parts.append(f"{meta.late} late")
    line = f"Profile of {'; '.join(parts)}: {total} samples with Python frames"
    if meta.truncated:
        line += " (the profile file was cut short: this is what it held)"
    return line


def _limit(text: str) -> int | None:
    """A row count; 0 (or less) for every row."""
    rows = int(text)
    return rows if rows > 0 else None


@attrs.define(kw_only=True)
class PstatsRenderer(RendererBase):
    """pstats: a sorted table of functions, or a ``pstats.Stats`` file."""

    name = "pstats"
    description = (
        "a table of functions by self and cumulative samples on stdout; with -o FILE a "
        "binary pstats file that pstats.Stats(FILE) and snakeviz load (the default)"
    )
    writes_text = True
    options = (
        Option(
            name="sort",
            help="table order",
            choices=tuple(SORT_ORDERS),
            default="nsamples",
            flags=("--sort",),
        ),
        Option(
            name="limit",
            help="table rows (0 for all)",
            parse=_limit,
            default=DEFAULT_LIMIT,
            flags=("-l", "--limit"),
            metavar="N",
        ),
    )

    sort: str = attrs.field(default="nsamples")
    """A key of :data:`SORT_ORDERS`."""
    limit: int | None = DEFAULT_LIMIT
    """Rows shown in the table; None shows every function."""

    @sort.validator
    def _check_sort(self, _attribute: object, value: str) -> None:
        if value not in SORT_ORDERS:
            msg = f"unknown pstats sort order {value!r}; choose from {', '.join(SORT_ORDERS)}"
            raise ValueError(msg)

    def rows(self, profile: Profile, totals: FunctionTotals | None = None) -> list[FunctionRow]:
        """The table's rows, sorted and limited (``totals``: the profile's, when at hand)."""
        key, descending = SORT_ORDERS[self.sort]
        rows = sorted(function_rows(profile, totals), key=_by_name)
        rows.sort(key=key, reverse=descending)
        return rows if self.limit is None else rows[: max(self.limit, 0)]

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write a marshal dump that ``pstats.Stats(path)`` loads (times in seconds).

        Raises:
            OutputError: The profile holds no sample with a Python frame
                (``pstats.Stats`` refuses an empty file).
        """
        stats = pstats_dict(profile)
        if not stats:
            msg = "no samples with Python frames: pstats cannot load an empty profile"
            raise OutputError(msg)
        path.write_bytes(marshal.dumps(stats))

    def render_text(self, profile: Profile, stream: TextIO, /) -> None:
        """Write the table, a legend and a one-line summary."""
        totals = function_totals(profile, edges=False)
        stream.write(_summary(profile, totals.total) + "\n")
        if not totals.total:
            stream.write("No samples with Python frames were collected.\n")
            return
        rows = self.rows(profile, totals)
        tot_unit, tot_scale = _unit(max((row.tottime for row in rows), default=0.0))
        cum_unit, cum_scale = _unit(max((row.cumtime for row in rows), default=0.0))
        tot_head = f"tottime ({tot_unit})"
        cum_head = f"cumtime ({cum_unit})"
        tot_width = max(12, len(tot_head))
        cum_width = max(12, len(cum_head))
        stream.write(
            f"\n{'nsamples':>15}  {'sample%':>8}  {tot_head:>{tot_width}}  "
            f"{'cumul%':>8}  {cum_head:>{cum_width}}  filename:lineno(function)\n"
        )
        for row in rows:
            counts = f"{row.direct}/{row.cumulative}"
            stream.write(
                f"{counts:>15}  {row.direct_pct:8.1f}  {row.tottime * tot_scale:{tot_width}.3f}  "
                f"{row.cumulative_pct:8.1f}  {row.cumtime * cum_scale:{cum_width}.3f}  "
                f"{_location(row.function)}\n"
            )
        shown = len(rows)
        if shown < len(totals.functions):
            stream.write(f"({shown} of {len(totals.functions)} functions shown)\n")
        stream.write(
            "\nnsamples: direct/cumulative samples (executing the function / "
            "with it on the stack)\n"
            "sample%: direct samples over all samples; tottime: time directly in the function\n"
            "cumul%: cumulative samples over all samples; cumtime: time including callees\n"
        )
