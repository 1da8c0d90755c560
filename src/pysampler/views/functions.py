"""Per-function totals: self and cumulative weight, and caller edges.

A function counts once per sample however often it recurses, so
cumulative weight never exceeds the samples taken; likewise each
(caller, callee) pair counts once per sample.
"""

from __future__ import annotations

from collections import Counter

import attrs

from pysampler.profile import FunctionKey, Profile

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


def function_totals(profile: Profile, *, by_name: bool = False) -> FunctionTotals:
    """Aggregate a profile's samples by function (pstats' view).

    With ``by_name``, functions of one file and qualified name are one
    function whatever their first line (the first one seen names them).
    """
    totals = FunctionTotals()
    index_of_key: dict[object, int] = {}
    index_of_frame: dict[int, int] = {}

    def function_index(frame: int) -> int:
        index = index_of_frame.get(frame)
        if index is None:
            key = profile.frame_function(frame)
            ident = (key.filename, key.qualname) if by_name else key
            index = index_of_key.setdefault(ident, len(index_of_key))
            if index == len(totals.functions):
                totals.functions.append(key)
            index_of_frame[frame] = index
        return index

    for node, weight in profile.weight_by_stack().items():
        if node == profile.EMPTY_STACK or weight == 0:
            continue
        chain = [function_index(frame) for frame in profile.stack_frames(node)]
        totals.total += weight
        totals.direct[chain[0]] += weight
        for function in set(chain):
            totals.cumulative[function] += weight
        callers = chain[1:]
        for edge in set(zip(callers, chain, strict=False)):
            totals.edges[edge] += weight
        if callers:
            totals.edges_direct[callers[0], chain[0]] += weight
    return totals
