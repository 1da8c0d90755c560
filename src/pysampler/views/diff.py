"""Comparing two profiles: what got slower, what got faster, what disappeared.

Frames are matched by their call path of (file, function), not by line, so
code that moved still matches: both profiles become call trees of functions
merged by file and name, matched node by node, once.  Both profiles are turned into seconds
(samples times the time per sample) and the baseline is scaled to the current
profile's total, so runs of different length or rate compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import attrs

from pysampler.profile import FunctionKey, Profile
from pysampler.views.calltree import FunctionTree, function_tree
from pysampler.views.functions import function_totals

__all__ = [
    "CallPath",
    "DiffNode",
    "DiffProfile",
    "Function",
    "FunctionChange",
    "matching_nodes",
]


class Function(NamedTuple):
    """A function as the diff matches it: its file and qualified name."""

    filename: str
    qualname: str


CallPath = tuple[Function, ...]
"""Functions from the root to a frame."""


@attrs.frozen
class DiffNode:
    """One call path, in seconds, the baseline already scaled."""

    path: CallPath
    current_self: float
    current_total: float
    baseline_self: float
    baseline_total: float

    @property
    def is_new(self) -> bool:
        """The path does not occur in the baseline at all."""
        return self.baseline_total == 0.0

    @property
    def change(self) -> float:
        """Change of total time, in seconds."""
        return self.current_total - self.baseline_total

    @property
    def change_pct(self) -> float | None:
        """Change of total time as a percentage of the baseline; None when new."""
        return None if self.is_new else 100.0 * self.change / self.baseline_total


@attrs.frozen
class FunctionChange:
    """A function's total (inclusive) time in both runs."""

    function: Function
    baseline: float
    current: float

    @property
    def change(self) -> float:
        """Seconds gained (positive: slower)."""
        return self.current - self.baseline

    @property
    def change_pct(self) -> float | None:
        """Change as a percentage of the baseline; None for a new function."""
        return None if self.baseline == 0 else 100.0 * self.change / self.baseline


def _merged_functions(
    current: list[FunctionKey], baseline: list[FunctionKey]
) -> tuple[list[FunctionKey], list[int]]:
    """The baseline's functions that ``current`` lacks (by file and name).

    Also where each baseline function lands in the table ``current`` + those.
    """
    index = {(function.filename, function.qualname): n for n, function in enumerate(current)}
    missing: list[FunctionKey] = []
    placed: list[int] = []
    for function in baseline:
        ident = (function.filename, function.qualname)
        if ident not in index:
            index[ident] = len(current) + len(missing)
            missing.append(function)
        placed.append(index[ident])
    return missing, placed


def matching_nodes(tree: FunctionTree, placed: Sequence[int], current: FunctionTree) -> list[int]:
    """Each node's node in ``current`` with the same call path, or -1 (none: gone).

    ``placed`` maps ``tree``'s function numbers to ``current``'s (functions
    ``current`` lacks are numbered past its own), so functions match by file
    and name.  A call path matches when its caller's path matches and the
    function does: the trees are walked together, no path is built.
    """
    child = {(current.parent[n], current.function[n]): n for n in range(1, len(current))}
    match = [0] * len(tree)
    for node in range(1, len(tree)):
        up = match[tree.parent[node]]
        match[node] = child.get((up, placed[tree.function[node]]), -1) if up >= 0 else -1
    return match


def _function_seconds(profile: Profile) -> dict[Function, float]:
    """Inclusive seconds per function (by file and name), once per sample."""
    totals = function_totals(profile, by_name=True)
    seconds = profile.seconds_per_sample
    return {
        Function(key.filename, key.qualname): totals.cumulative[n] * seconds
        for n, key in enumerate(totals.functions)
        if totals.cumulative[n]
    }


def _call_path(tree: FunctionTree, node: int) -> CallPath:
    return tuple(Function(key.filename, key.qualname) for key in tree.path(node))


def _total_seconds(profile: Profile) -> float:
    return profile.total_weight * profile.seconds_per_sample


@attrs.frozen
class DiffProfile:
    """A current profile against a baseline, matched once.

    Both profiles are merged into call trees of functions by file and name
    (:func:`~pysampler.views.calltree.function_tree` with ``by_name``), and
    the baseline's tree is matched to the current one node by node
    (:attr:`match`); everything else is read off those.  ``nodes`` are the
    current profile's call paths; ``elided`` are the baseline's paths that
    no longer occur (their times are the baseline's, scaled); ``scale`` is
    what baseline seconds were multiplied by.
    """

    current: Profile
    baseline: Profile
    scale: float
    current_tree: FunctionTree
    baseline_tree: FunctionTree
    missing: list[FunctionKey]
    """The baseline's functions the current profile lacks."""
    placed: list[int]
    """Each baseline function's number in ``current_tree.functions + missing``."""
    match: list[int]
    """Each baseline tree node's node in the current tree, or -1 (gone)."""
    nodes: dict[CallPath, DiffNode]
    elided: dict[CallPath, DiffNode]
    functions: dict[Function, FunctionChange]

    @classmethod
    def compare(cls, baseline: Profile, current: Profile) -> DiffProfile:
        """Match the two profiles' call paths and functions."""
        base_total = _total_seconds(baseline)
        scale = _total_seconds(current) / base_total if base_total else 1.0
        current_tree = function_tree(current, by_name=True)
        baseline_tree = function_tree(baseline, by_name=True)
        missing, placed = _merged_functions(current_tree.functions, baseline_tree.functions)
        match = matching_nodes(baseline_tree, placed, current_tree)

        cur_unit = current.seconds_per_sample
        base_unit = baseline.seconds_per_sample * scale
        base_self = [0] * len(current_tree)
        base_through = [0] * len(current_tree)
        elided: dict[CallPath, DiffNode] = {}
        for node in range(1, len(baseline_tree)):
            found = match[node]
            if found >= 0:
                base_self[found] = baseline_tree.self_weight[node]
                base_through[found] = baseline_tree.total[node]
            else:
                path = _call_path(baseline_tree, node)
                elided[path] = DiffNode(
                    path,
                    0.0,
                    0.0,
                    baseline_tree.self_weight[node] * base_unit,
                    baseline_tree.total[node] * base_unit,
                )
        nodes = {
            path: DiffNode(
                path,
                current_tree.self_weight[node] * cur_unit,
                current_tree.total[node] * cur_unit,
                base_self[node] * base_unit,
                base_through[node] * base_unit,
            )
            for node in range(1, len(current_tree))
            for path in (_call_path(current_tree, node),)
        }
        base_functions = _function_seconds(baseline)
        cur_functions = _function_seconds(current)
        functions = {
            function: FunctionChange(
                function,
                base_functions.get(function, 0.0) * scale,
                cur_functions.get(function, 0.0),
            )
            for function in base_functions.keys() | cur_functions.keys()
        }
        return cls(
            current,
            baseline,
            scale,
            current_tree,
            baseline_tree,
            missing,
            placed,
            match,
            nodes,
            elided,
            functions,
        )

    @property
    def total_seconds(self) -> float:
        """The current profile's sampled time."""
        return _total_seconds(self.current)

    def significant(self, min_share: float = 0.01) -> Iterable[FunctionChange]:
        """Functions that took at least ``min_share`` of either run's time."""
        floor = min_share * self.total_seconds
        return (
            change
            for change in self.functions.values()
            if max(change.baseline, change.current) >= floor
        )

    def regressions(self, min_share: float = 0.01) -> list[FunctionChange]:
        """Significant functions that got slower, the largest change first.

        A change under a quarter of the ``min_share`` floor is noise, not news.
        """
        noise = 0.25 * min_share * self.total_seconds
        slower = [c for c in self.significant(min_share) if c.change > noise]
        return sorted(slower, key=lambda c: (-c.change, c.function))

    def improvements(self, min_share: float = 0.01) -> list[FunctionChange]:
        """Significant functions that got faster or went away, the largest first."""
        noise = 0.25 * min_share * self.total_seconds
        faster = [c for c in self.significant(min_share) if c.change < -noise]
        return sorted(faster, key=lambda c: (c.change, c.function))

    def regressions_over(self, percent: float, min_share: float = 0.01) -> list[str]:
        """The significant functions slower by more than ``percent`` (new ones count).

        Each as ``qualname (file) +N%``: what a CI gate reports.
        """
        over = []
        for change in self.regressions(min_share):
            pct = change.change_pct
            if pct is None or pct > percent:
                label = "new" if pct is None else f"{pct:+.0f}%"
                over.append(f"{change.function.qualname} ({change.function.filename}) {label}")
        return over
