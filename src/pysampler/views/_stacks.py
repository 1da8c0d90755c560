"""What the views share: functions numbered per frame, weights and orders of a tree.

The views read a profile's stack tree whole, node by node, rather than
sample by sample or stack by stack: a profile of a million samples over a
hundred thousand stacks is a few hundred thousand nodes, where walking
every sampled stack to its root would be millions of steps.  Trees here
are parent arrays in which a node's parent has a smaller id than the
node (node 0 the root), as in a profile's stack table.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import attrs

from pysampler.model import FrameKind
from pysampler.profile import MARKER_FILENAME, FunctionKey, Profile

__all__ = [
    "FunctionNumbers",
    "number_functions",
    "paused_gc",
    "preorder",
    "through_weights",
    "tree_sums",
]

_PYTHON = int(FrameKind.PYTHON)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a view is built.

    A view of a large profile makes hundreds of thousands of lists and
    tuples, none of them in a reference cycle.  Every few hundred new
    ones start a collection, and as they pile up the older generations
    are walked again too: on a million samples that doubled the time
    some steps took, for no garbage found.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@attrs.define
class FunctionNumbers:
    """The functions of some frames, numbered in the order the frames came."""

    functions: list[FunctionKey]
    """The functions in order of first sight; numbers index this list."""
    of_frame: list[int]
    """Per frame id, its function's number; -1 for frames that were not given."""


def number_functions(
    profile: Profile, frames: Iterable[int], *, by_name: bool = False
) -> FunctionNumbers:
    """Number the functions of ``frames`` in the order they first appear there.

    Frames of one code object (or one marker kind) are one function; with
    ``by_name``, so are functions of one file and qualified name whatever
    their first line, named by the first one seen.
    """
    table = profile.frames
    # One source per function: its code id, or -1 - kind for a marker.
    sources = [
        code if kind == _PYTHON else -1 - kind
        for code, kind in zip(table.code, table.kind, strict=True)
    ]
    functions: list[FunctionKey] = []
    number_of_ident: dict[object, int] = {}
    number_of_source: dict[int, int] = {}
    for source in dict.fromkeys(map(sources.__getitem__, frames)):
        if source >= 0:
            key = profile.code_function(source)
        else:
            key = FunctionKey(MARKER_FILENAME, 0, FrameKind(-1 - source).marker_name)
        ident = (key.filename, key.qualname) if by_name else key
        number = number_of_source[source] = number_of_ident.setdefault(ident, len(functions))
        if number == len(functions):
            functions.append(key)
    return FunctionNumbers(functions, [number_of_source.get(source, -1) for source in sources])


def through_weights(parent: Sequence[int], leaf_weights: Iterable[tuple[int, int]]) -> list[int]:
    """Weight of the samples passing through each node (node 0: all of them).

    ``leaf_weights`` are (node, weight) pairs.
    """
    through = [0] * len(parent)
    for node, weight in leaf_weights:
        through[node] += weight
    for node in range(len(through) - 1, 0, -1):
        weight = through[node]
        if weight:
            through[parent[node]] += weight
    return through


def tree_sums(
    parent: Sequence[int], nodes: Sequence[int], leaf_weights: Iterable[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """Per node id, the weight passing through it and the size of its subtree.

    ``nodes`` are the nodes of the tree but node 0, in increasing order,
    and hold every node of ``leaf_weights`` (node, weight) and its parents;
    sizes count the nodes among them (and the node itself).
    """
    through = [0] * len(parent)
    for node, weight in leaf_weights:
        through[node] += weight
    size = [1] * len(parent)
    for node in reversed(nodes):
        up = parent[node]
        size[up] += size[node]
        through[up] += through[node]
    return through, size


def preorder(
    parent: Sequence[int], siblings: Iterable[int], size: Sequence[int]
) -> tuple[list[int], list[int]]:
    """A depth-first preorder from node 0: each node id's position, and the nodes in order.

    ``siblings`` are the nodes but node 0, grouped by parent in increasing
    parent order, each group in the order its nodes are to be visited;
    ``size`` as :func:`tree_sums` gives it.  There is no walk: a node comes
    after its parent, then after the subtrees of the siblings visited
    before it.
    """
    number = [0] * len(parent)
    order = [0] * (size[0] if len(size) else 1)
    previous = -1
    at = 0
    for node in siblings:
        up = parent[node]
        if up != previous:
            at = number[up] + 1
            previous = up
        number[node] = at
        order[at] = node
        at += size[node]
    return number, order
