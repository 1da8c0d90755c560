"""Per-function totals: self and cumulative weight, and caller edges.

A function counts once per sample however often it recurses, so
cumulative weight never exceeds the samples taken; likewise each
(caller, callee) pair counts once per sample.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, islice

import attrs

from pysampler.profile import FunctionKey, Profile
from pysampler.views._stacks import number_functions, paused_gc, preorder, tree_sums

__all__ = ["FunctionTotals", "function_totals"]


@attrs.define
class FunctionTotals:
    """Sample weights per function, and per caller → callee edge.

    Functions are numbered in ``functions``; the other fields use those numbers.
    """

    functions: list[FunctionKey] = attrs.Factory(list)
    direct: Counter[int] = attrs.Factory(Counter)
    """Weight of samples with the function as the leaf (self time)."""
    cumulative: Counter[int] = attrs.Factory(Counter)
    """Weight of samples with the function anywhere on the stack."""
    edges: Counter[tuple[int, int]] = attrs.Factory(Counter)
    """Weight of samples where ``caller`` called ``callee``, keyed (caller, callee)."""
    edges_direct: Counter[tuple[int, int]] = attrs.Factory(Counter)
    """Weight of samples where the leaf ``callee`` was called by ``caller``."""
    total: int = 0
    """Weight of the samples that held at least one frame."""


def function_totals(
    profile: Profile, *, by_name: bool = False, edges: bool = True
) -> FunctionTotals:
    """Aggregate a profile's samples by function (pstats' view).

    With ``by_name``, functions of one file and qualified name are one
    function whatever their first line (the first one seen names them).
    Without ``edges``, the caller edges are left empty (a table of
    functions needs none).
    """
    with paused_gc():
        return _function_totals(profile, by_name=by_name, edges=edges)


def _function_totals(profile: Profile, *, by_name: bool, edges: bool) -> FunctionTotals:
    totals = FunctionTotals()
    weights = [(node, weight) for node, weight in profile.weight_by_stack().items() if weight]
    parent = list(profile.stacks.parent)  # a list: indexing it makes no new int objects
    frame_of = profile.stacks.frame

    # The nodes on sampled stacks, each stack from its leaf up to a node met
    # before: functions are numbered in the order the stacks' frames are met.
    seen = bytearray(len(parent))
    seen[0] = 1
    met: list[int] = []
    for leaf, _ in weights:
        node = leaf
        while not seen[node]:
            seen[node] = 1
            met.append(node)
            node = parent[node]
    numbers = number_functions(profile, map(frame_of.__getitem__, met), by_name=by_name)
    totals.functions = numbers.functions
    # Node 0, the empty stack, has no function: it is the caller of root frames.
    function = [-1, *map(numbers.of_frame.__getitem__, islice(frame_of, 1, None))]

    for node, weight in weights:
        if node != profile.EMPTY_STACK:
            totals.total += weight
            totals.direct[function[node]] += weight
            up = parent[node]
            if up != profile.EMPTY_STACK:
                totals.edges_direct[function[up], function[node]] += weight
    if met:
        seen[0] = 0
        nodes = list(compress(range(len(parent)), seen))
        _count_once_per_sample(totals, parent, function, nodes, weights, edges=edges)
    return totals


def _count_once_per_sample(
    totals: FunctionTotals,
    parent: list[int],
    function: list[int],
    nodes: list[int],
    weights: list[tuple[int, int]],
    *,
    edges: bool,
) -> None:
    """Cumulative weights (and edges) from the outermost node of each on every path.

    A function recursing counts once per sample: only a node with no
    ancestor of its function adds the weight through it.  ``nodes`` (those
    on sampled stacks, in id order) are visited in preorder, where a node's
    subtree is the run of positions up to its end: a node is the outermost
    of its function on its path unless its position falls before the end
    of the last outermost node of that function.
    """
    through, size = tree_sums(parent, nodes, weights)
    _, order = preorder(parent, sorted(nodes, key=parent.__getitem__), size)
    count = len(totals.functions)
    cumulative = [0] * count
    end_of = [0] * count
    for at, node in enumerate(islice(order, 1, None), 1):
        callee = function[node]
        if at >= end_of[callee]:
            end_of[callee] = at + size[node]
            cumulative[callee] += through[node]
    totals.cumulative.update({callee: weight for callee, weight in enumerate(cumulative) if weight})
    if not edges:
        return

    edge_weights: dict[int, int] = {}
    edge_end: dict[int, int] = {}
    for at, node in enumerate(islice(order, 1, None), 1):
        caller = function[parent[node]]
        if caller >= 0:
            edge = caller * count + function[node]
            if at >= edge_end.get(edge, 0):
                edge_end[edge] = at + size[node]
                edge_weights[edge] = edge_weights.get(edge, 0) + through[node]
    totals.edges.update({divmod(edge, count): weight for edge, weight in edge_weights.items()})
