"""The stack tree merged per function: what a flamegraph draws.

A profile's stack tree has a node per (parent, frame), and a frame is a
function *at a line*.  A flamegraph node is a call path of *functions*:
frames of one function at different lines, reached along the same path,
merge into one node that remembers how the samples split between lines.

Nodes are numbered in preorder, children widest first, so a node's parent
always has a smaller number and a node's subtree is the run of numbers
after it.  Node 0 is the root: every sample that held a frame.

The differential flamegraph merges functions by file and name only (as
:mod:`pysampler.views.diff` matches them, so code that moved still matches) and
draws a tree pruned to the call paths that disappeared (:func:`pruned_tree`).
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Sequence
from itertools import compress, islice, repeat
from typing import NamedTuple, overload

import attrs

from pysampler.model import FrameKind
from pysampler.profile import FunctionKey, Profile
from pysampler.views._stacks import number_functions, paused_gc, preorder, through_weights

__all__ = ["FunctionTree", "NodeLines", "function_tree", "pruned_tree"]


class NodeLines(Sequence[list[tuple[int, int]]]):
    """Per node of a tree, the (line, weight) pairs its function ran, heaviest first.

    Most nodes ran one line, so that line and its weight are kept as two
    columns (:attr:`hottest`, :attr:`weight`), and only nodes that ran
    several lines keep a list (:attr:`several`).  Indexing makes the list
    of a node; a node of no weight (the root, a pruned caller) has none.
    """

    def __init__(
        self, hottest: array[int], weight: array[int], several: dict[int, list[tuple[int, int]]]
    ) -> None:
        """The lines of ``len(hottest)`` nodes."""
        self.hottest = hottest
        """Each node's line of most weight; 0 when unknown."""
        self.weight = weight
        """The weight of that line (0: the node has no lines)."""
        self.several = several
        """The (line, weight) pairs of nodes that ran more than one line."""

    def __len__(self) -> int:
        """The number of nodes."""
        return len(self.hottest)

    @overload
    def __getitem__(self, node: int) -> list[tuple[int, int]]: ...
    @overload
    def __getitem__(self, node: slice) -> list[list[tuple[int, int]]]: ...
    def __getitem__(self, node: int | slice) -> list[tuple[int, int]] | list[list[tuple[int, int]]]:
        """The (line, weight) pairs of a node, heaviest first."""
        if isinstance(node, slice):
            return [self[index] for index in range(*node.indices(len(self)))]
        pairs = self.several.get(node)
        if pairs is not None:
            return list(pairs)
        weight = self.weight[node]
        return [(self.hottest[node], weight)] if weight else []


class _Lines(NamedTuple):
    """Lines of nodes not yet numbered in preorder: as :class:`NodeLines`, in lists."""

    hottest: list[int]
    weight: list[int]
    several: dict[int, list[tuple[int, int]]]


@attrs.define
class FunctionTree:
    """The samples' stacks as a tree of call paths of functions, in preorder."""

    functions: list[FunctionKey]
    """The functions sampled; ``function`` values index this list."""
    parent: array[int]
    """Each node's parent; the root's is 0."""
    function: array[int]
    """Each node's function; -1 for the root."""
    total: array[int]
    """Weight of the samples whose stack passes through the node."""
    self_weight: array[int]
    """Weight of the samples whose stack ends at the node."""
    lines: NodeLines
    """Per node, (line, weight) the function executed along this path, heaviest
    first; line 0 when unknown.  Empty for the root."""
    thread_self: dict[tuple[int, int], int]
    """Self weight per (node, thread index), for the per-thread views."""

    def __len__(self) -> int:
        """The number of nodes, the root included."""
        return len(self.parent)

    def path(self, node: int) -> list[FunctionKey]:
        """The functions from the root's child down to ``node``."""
        chain = []
        while node != 0:
            chain.append(self.functions[self.function[node]])
            node = self.parent[node]
        return chain[::-1]


def function_tree(profile: Profile, *, by_name: bool = False) -> FunctionTree:
    """Merge a profile's stack tree per function, as a flamegraph shows it.

    With ``by_name``, functions of one file and qualified name are one
    function whatever their first line (the first one seen names them).
    """
    with paused_gc():
        return _function_tree(profile, by_name=by_name)


def _function_tree(profile: Profile, *, by_name: bool) -> FunctionTree:
    threads, stacks, weights = profile.thread_stack_weights()
    stack_parent = list(profile.stacks.parent)  # a list: indexing it makes no int objects
    stack_frame = profile.stacks.frame
    through = through_weights(stack_parent, zip(stacks, weights, strict=True))
    # The nodes samples passed through, parents first; functions are numbered
    # in the order their frames appear among them.
    nodes = list(compress(range(1, len(through)), islice(through, 1, None)))
    if not nodes:
        return _assemble([], [], [0], [-1], _Lines([0], [0], {}), {}, 1)
    numbers = number_functions(profile, map(stack_frame.__getitem__, nodes), by_name=by_name)
    functions = numbers.functions
    function_of = [-1, *map(numbers.of_frame.__getitem__, islice(stack_frame, 1, None))]

    # Each flamegraph node is named by its first profile node, in profile-node
    # order (parents first): a node joins the child of its parent's flamegraph
    # node that runs its function, or starts it.
    mapped = [0] * len(through)
    first_of: dict[int, int] = {}
    width = len(functions)
    for node, up, function in zip(
        nodes,
        map(stack_parent.__getitem__, nodes),
        map(function_of.__getitem__, nodes),
        strict=True,
    ):
        mapped[node] = first_of.setdefault(mapped[up] * width + function, node)
    parent_of = list(map(mapped.__getitem__, stack_parent))

    frames = profile.frames
    frame_line = [
        line if line >= 0 and kind == FrameKind.PYTHON else 0
        for line, kind in zip(frames.lineno, frames.kind, strict=True)
    ]
    # Each flamegraph node's lines, kept at its first profile node: the
    # first's line and weight, and for a node that joined profile nodes at
    # other lines, the weight of each line.
    line_of = list(map(frame_line.__getitem__, stack_frame))
    line_weight = through.copy()
    split: dict[int, dict[int, int]] = {}
    flames = nodes
    if len(first_of) < len(nodes):  # some flamegraph nodes join several profile nodes
        joined = list(compress(nodes, map(operator.ne, nodes, map(mapped.__getitem__, nodes))))
        for flame, line, weight in zip(
            map(mapped.__getitem__, joined),
            map(line_of.__getitem__, joined),
            map(through.__getitem__, joined),
            strict=True,
        ):
            by_line = split.get(flame)
            if by_line is not None:
                by_line[line] = by_line.get(line, 0) + weight
            elif line == line_of[flame]:
                line_weight[flame] += weight
            else:
                split[flame] = {line_of[flame]: line_weight[flame], line: weight}
        flames = sorted(first_of.values())
    several = {
        flame: sorted(by_line.items(), key=_heaviest_first) for flame, by_line in split.items()
    }
    for flame, pairs in several.items():
        line_of[flame], line_weight[flame] = pairs[0]
    line_of[0] = line_weight[0] = 0
    lines = _Lines(line_of, line_weight, several)

    # Self weights by flamegraph node and thread, keyed node * thread_count + thread.
    thread_count = max(len(profile.threads), 1)
    keys = map(
        operator.add,
        map(operator.mul, map(mapped.__getitem__, stacks), repeat(thread_count)),
        threads,
    )
    self_weights: dict[int, int] = {}
    for key, stack, weight in zip(keys, stacks, weights, strict=True):
        if stack != profile.EMPTY_STACK and weight:
            self_weights[key] = self_weights.get(key, 0) + weight
    return _assemble(functions, flames, parent_of, function_of, lines, self_weights, thread_count)


def pruned_tree(tree: FunctionTree, counted: Sequence[bool]) -> FunctionTree:
    """Only the nodes marked ``counted`` and their ancestors.

    Counted nodes keep their self weight and lines; an ancestor that is not
    counted keeps neither, so it is as wide as the counted nodes under it.
    Children are ordered widest first again, by the new totals.
    """
    with paused_gc():
        return _pruned_tree(tree, counted)


def _pruned_tree(tree: FunctionTree, counted: Sequence[bool]) -> FunctionTree:
    kept = bytearray(len(tree))
    kept[0] = 1
    for node in range(len(tree) - 1, 0, -1):
        if counted[node] or kept[node]:
            kept[node] = 1
            kept[tree.parent[node]] = 1
    provisional = {old: new for new, old in enumerate(n for n in range(len(tree)) if kept[n])}
    parents = [0] * len(provisional)
    funcs = [-1] * len(provisional)
    lines = _Lines([0] * len(provisional), [0] * len(provisional), {})
    for old, new in provisional.items():
        if old:
            parents[new] = provisional[tree.parent[old]]
            funcs[new] = tree.function[old]
            pairs = tree.lines[old] if counted[old] else []
            if pairs:
                lines.hottest[new], lines.weight[new] = pairs[0]
            if len(pairs) > 1:
                lines.several[new] = pairs
    threads = max((thread + 1 for _, thread in tree.thread_self), default=1)
    self_weights: dict[int, int] = {}
    for (node, thread), weight in tree.thread_self.items():
        if counted[node]:
            key = provisional[node] * threads + thread
            self_weights[key] = self_weights.get(key, 0) + weight
    nodes = list(range(1, len(parents)))
    return _assemble(list(tree.functions), nodes, parents, funcs, lines, self_weights, threads)


def _assemble(
    functions: list[FunctionKey],
    nodes: list[int],
    parent: list[int],
    function: list[int],
    lines: _Lines,
    self_weights: dict[int, int],
    threads: int,
) -> FunctionTree:
    """Number the nodes in preorder, widest first, with their totals.

    ``nodes`` are the tree's nodes but the root, 0, in increasing order,
    each node's parent before it; ``parent``, ``function`` and ``lines``
    are indexed by node, and ``self_weights`` by ``node * threads + thread``.
    """
    own = [0] * len(parent)
    for key, weight in self_weights.items():
        own[key // threads] += weight
    total = own.copy()
    size = [1] * len(parent)
    for node in reversed(nodes):
        up = parent[node]
        total[up] += total[node]
        size[up] += size[node]

    number, order = preorder(parent, _widest_first(nodes, parent, function, total, functions), size)
    # Self weights by (node, thread) in the new numbering, sorted.
    renumbered = [number[key // threads] * threads + key % threads for key in self_weights]
    weights = list(self_weights.values())
    ranked = sorted(range(len(renumbered)), key=renumbered.__getitem__)
    return FunctionTree(
        functions=functions,
        parent=array("I", map(number.__getitem__, map(parent.__getitem__, order))),
        function=array("i", map(function.__getitem__, order)),
        total=array("Q", map(total.__getitem__, order)),
        self_weight=array("Q", map(own.__getitem__, order)),
        lines=NodeLines(
            array("i", map(lines.hottest.__getitem__, order)),
            array("Q", map(lines.weight.__getitem__, order)),
            {number[node]: pairs for node, pairs in lines.several.items()},
        ),
        thread_self=dict(
            zip(
                map(divmod, map(renumbered.__getitem__, ranked), repeat(threads)),
                map(weights.__getitem__, ranked),
                strict=True,
            )
        ),
    )


def _heaviest_first(pair: tuple[int, int]) -> tuple[int, int]:
    return (-pair[1], pair[0])


def _widest_first(
    nodes: list[int],
    parent: list[int],
    function: list[int],
    total: list[int],
    functions: list[FunctionKey],
) -> list[int]:
    """``nodes`` grouped by parent (in parent order), each group widest first.

    Siblings are ordered by total (widest first), then by qualified name,
    file name and first line: one sort of all nodes by one integer key.
    """
    by_name = sorted(
        range(len(functions)),
        key=lambda f: (functions[f].qualname, functions[f].filename, functions[f].firstlineno),
    )
    rank = [0] * len(functions)
    for position, number in enumerate(by_name):
        rank[number] = position
    widest = max(total, default=0) + 1
    names = len(functions) or 1
    keys = [
        (up * widest + widest - 1 - weight) * names + rank[f]
        for up, weight, f in zip(
            map(parent.__getitem__, nodes),
            map(total.__getitem__, nodes),
            map(function.__getitem__, nodes),
            strict=True,
        )
    ]
    return list(map(nodes.__getitem__, sorted(range(len(nodes)), key=keys.__getitem__)))
