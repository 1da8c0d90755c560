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

from array import array
from collections import Counter
from collections.abc import Sequence

import attrs

from pysampler.profile import FunctionKey, Profile

__all__ = ["FunctionTree", "function_tree", "pruned_tree"]


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
    lines: list[list[tuple[int, int]]]
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


def _through_weights(profile: Profile, by_thread: Counter[tuple[int, int]]) -> list[int]:
    """Weight of samples passing through each profile stack node."""
    through = [0] * len(profile.stacks)
    for (_, node), weight in by_thread.items():
        through[node] += weight
    parent = profile.stacks.parent
    for node in range(len(through) - 1, 0, -1):
        if through[node]:
            through[parent[node]] += through[node]
    return through


def function_tree(profile: Profile, *, by_name: bool = False) -> FunctionTree:
    """Merge a profile's stack tree per function, as a flamegraph shows it.

    With ``by_name``, functions of one file and qualified name are one
    function whatever their first line (the first one seen names them).
    """
    by_thread = profile.weight_by_thread_and_stack()
    through = _through_weights(profile, by_thread)
    functions: list[FunctionKey] = []
    function_ids: dict[tuple[object, ...], int] = {}
    frame_info: dict[int, tuple[int, int]] = {}  # frame -> (function, line)

    # Provisional numbering: in profile-node order, so parents come first.
    mapped = array("i", [0]) * len(through)
    child_ids: dict[tuple[int, int], int] = {}
    parents = [0]
    funcs = [-1]
    line_weights: Counter[tuple[int, int]] = Counter()
    stack_parent = profile.stacks.parent
    stack_frame = profile.stacks.frame
    for node in range(1, len(through)):
        weight = through[node]
        if not weight:
            continue
        frame = stack_frame[node]
        info = frame_info.get(frame)
        if info is None:
            key = profile.frame_function(frame)
            ident = (key.filename, key.qualname) if by_name else key
            function = function_ids.setdefault(ident, len(function_ids))
            if function == len(functions):
                functions.append(key)
            info = frame_info[frame] = (function, profile.frame_lineno(frame) or 0)
        function, line = info
        up = mapped[stack_parent[node]]
        flame = child_ids.setdefault((up, function), len(parents))
        if flame == len(parents):
            parents.append(up)
            funcs.append(function)
        mapped[node] = flame
        line_weights[flame, line] += weight

    thread_self: Counter[tuple[int, int]] = Counter()
    for (thread, node), weight in by_thread.items():
        if node != profile.EMPTY_STACK and weight:
            thread_self[mapped[node], thread] += weight
    return _assemble(functions, parents, funcs, line_weights, thread_self)


def pruned_tree(tree: FunctionTree, counted: Sequence[bool]) -> FunctionTree:
    """Only the nodes marked ``counted`` and their ancestors.

    Counted nodes keep their self weight and lines; an ancestor that is not
    counted keeps neither, so it is as wide as the counted nodes under it.
    Children are ordered widest first again, by the new totals.
    """
    kept = bytearray(len(tree))
    kept[0] = 1
    for node in range(len(tree) - 1, 0, -1):
        if counted[node] or kept[node]:
            kept[node] = 1
            kept[tree.parent[node]] = 1
    provisional = {old: new for new, old in enumerate(n for n in range(len(tree)) if kept[n])}
    parents = [0] * len(provisional)
    funcs = [-1] * len(provisional)
    line_weights: Counter[tuple[int, int]] = Counter()
    for old, new in provisional.items():
        if old:
            parents[new] = provisional[tree.parent[old]]
            funcs[new] = tree.function[old]
            if counted[old]:
                for line, weight in tree.lines[old]:
                    line_weights[new, line] += weight
    thread_self: Counter[tuple[int, int]] = Counter()
    for (node, thread), weight in tree.thread_self.items():
        if counted[node]:
            thread_self[provisional[node], thread] += weight
    return _assemble(list(tree.functions), parents, funcs, line_weights, thread_self)


def _assemble(
    functions: list[FunctionKey],
    parents: list[int],
    funcs: list[int],
    line_weights: Counter[tuple[int, int]],
    thread_self: Counter[tuple[int, int]],
) -> FunctionTree:
    """Number provisional nodes (parents first) in preorder, widest first, with totals."""
    own = [0] * len(parents)
    for (flame, _), weight in thread_self.items():
        own[flame] += weight
    total = own.copy()
    for flame in range(len(parents) - 1, 0, -1):
        total[parents[flame]] += total[flame]

    order = _preorder(parents, funcs, total, functions)
    renumber = array("i", [0]) * len(order)
    for new, old in enumerate(order):
        renumber[old] = new
    lines: list[list[tuple[int, int]]] = [[] for _ in order]
    for (flame, line), weight in line_weights.items():
        lines[renumber[flame]].append((line, weight))
    for entry in lines:
        if len(entry) > 1:
            entry.sort(key=lambda pair: (-pair[1], pair[0]))
    return FunctionTree(
        functions=functions,
        parent=array("I", (renumber[parents[old]] for old in order)),
        function=array("i", (funcs[old] for old in order)),
        total=array("Q", (total[old] for old in order)),
        self_weight=array("Q", (own[old] for old in order)),
        lines=lines,
        thread_self=dict(
            sorted(
                ((renumber[flame], thread), weight)
                for (flame, thread), weight in thread_self.items()
            )
        ),
    )


def _preorder(
    parents: list[int], funcs: list[int], total: list[int], functions: list[FunctionKey]
) -> list[int]:
    """Provisional node ids in preorder, each node's children widest first."""
    children: list[list[int]] = [[] for _ in parents]
    for flame in range(1, len(parents)):
        children[parents[flame]].append(flame)

    def widest_first(flame: int) -> tuple[int, str, str, int]:
        key = functions[funcs[flame]]
        return (-total[flame], key.qualname, key.filename, key.firstlineno)

    order = []
    pending = [0]
    while pending:
        flame = pending.pop()
        order.append(flame)
        kids = children[flame]
        if len(kids) > 1:
            kids.sort(key=widest_first, reverse=True)  # the widest is popped first
        pending.extend(kids)
    return order
