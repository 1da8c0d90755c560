"""Comparing two profiles: what got slower, what got faster, what disappeared.

Frames are matched by their call path of (file, function), not by line, so
code that moved still matches.  Both profiles are turned into seconds
(samples times the time per sample) and the baseline is scaled to the current
profile's total, so runs of different length or rate compare.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import attrs

from pysampler.profile import Profile

__all__ = ["CallPath", "DiffNode", "DiffProfile", "Function", "FunctionChange"]


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


def _function_paths(profile: Profile) -> tuple[list[CallPath], list[int]]:
    """The call path of every stack node, and each node's path id.

    Walks the stack tree once, parents before children (a parent's id is
    smaller), so a path is built from its parent's in one step instead of
    re-slicing every stack at every depth.
    """
    stacks = profile.stacks
    index: dict[CallPath, int] = {(): 0}
    paths: list[CallPath] = [()]
    path_of = [0] * len(stacks.parent)
    for node in range(1, len(stacks.parent)):
        frame = stacks.frame[node]
        function = Function(profile.frame_filename(frame), profile.frame_qualname(frame))
        path = (*paths[path_of[stacks.parent[node]]], function)
        found = index.get(path)
        if found is None:
            found = index[path] = len(paths)
            paths.append(path)
        path_of[node] = found
    return paths, path_of


def _paths(profile: Profile) -> tuple[dict[CallPath, float], dict[CallPath, float]]:
    """Self and total seconds per call path of a profile."""
    seconds = profile.seconds_per_sample
    paths, path_of = _function_paths(profile)
    self_weight = [0] * len(paths)
    for stack, weight in profile.weight_by_stack().items():
        self_weight[path_of[stack]] += weight
    # A path's total is its self plus its children's totals: children come
    # after their parents, so one pass from the end adds everything up.
    parent_of = [0] * len(paths)
    where = {path: i for i, path in enumerate(paths)}
    for i in range(1, len(paths)):
        parent_of[i] = where[paths[i][:-1]]
    total_weight = list(self_weight)
    for i in range(len(paths) - 1, 0, -1):
        total_weight[parent_of[i]] += total_weight[i]
    self_time = {paths[i]: w * seconds for i, w in enumerate(self_weight) if i and w}
    total_time = {paths[i]: w * seconds for i, w in enumerate(total_weight) if i and w}
    return self_time, total_time


def _function_totals(profile: Profile) -> dict[Function, float]:
    """Inclusive seconds per function, each sample counted once per function."""
    seconds = profile.seconds_per_sample
    paths, path_of = _function_paths(profile)
    by_path: dict[int, int] = {}
    for stack, weight in profile.weight_by_stack().items():
        by_path[path_of[stack]] = by_path.get(path_of[stack], 0) + weight
    totals: dict[Function, float] = {}
    for path_id, weight in by_path.items():
        for function in set(paths[path_id]):
            totals[function] = totals.get(function, 0.0) + weight * seconds
    return totals


def _total_seconds(profile: Profile) -> float:
    return profile.total_weight * profile.seconds_per_sample


@attrs.frozen
class DiffProfile:
    """A current profile against a baseline.

    ``nodes`` are the current profile's call paths; ``elided`` are the
    baseline's paths that no longer occur (their times are the baseline's,
    scaled); ``scale`` is what baseline seconds were multiplied by.
    """

    current: Profile
    baseline: Profile
    scale: float
    nodes: dict[CallPath, DiffNode]
    elided: dict[CallPath, DiffNode]
    functions: dict[Function, FunctionChange]

    @classmethod
    def compare(cls, baseline: Profile, current: Profile) -> DiffProfile:
        """Match the two profiles' call paths and functions."""
        base_total = _total_seconds(baseline)
        scale = _total_seconds(current) / base_total if base_total else 1.0
        cur_self, cur_total = _paths(current)
        base_self, base_total_by_path = _paths(baseline)

        def node(path: CallPath) -> DiffNode:
            return DiffNode(
                path=path,
                current_self=cur_self.get(path, 0.0),
                current_total=cur_total.get(path, 0.0),
                baseline_self=base_self.get(path, 0.0) * scale,
                baseline_total=base_total_by_path.get(path, 0.0) * scale,
            )

        nodes = {path: node(path) for path in cur_total}
        elided = {path: node(path) for path in base_total_by_path if path not in cur_total}
        base_functions = _function_totals(baseline)
        cur_functions = _function_totals(current)
        functions = {
            function: FunctionChange(
                function,
                base_functions.get(function, 0.0) * scale,
                cur_functions.get(function, 0.0),
            )
            for function in base_functions.keys() | cur_functions.keys()
        }
        return cls(current, baseline, scale, nodes, elided, functions)

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
