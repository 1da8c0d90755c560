"""The flamegraph page's data: a function tree as compact, string-interned JSON.

Everything the page shows comes from one JSON object (format version 1):

``strings``
    Every distinct text (function and file names, modules, group labels),
    each once; other tables refer to them by index.
``groups``
    Colour groups, flat ``[label, kind]`` pairs, busiest (self weight) first;
    kind is a :class:`~pysampler.renderers.flamegraph._groups.GroupKind`.
``files``
    Flat ``[path, module, group]`` triples.
``funcs``
    Flat ``[qualname, file, firstlineno]`` triples.
``nodes``
    The :class:`~pysampler.views.calltree.FunctionTree` in preorder, as
    columns: ``up`` (node number minus its parent's; 0 for the root),
    ``func`` (-1 for the root) and ``line``, the hottest line coded
    relative to the function's first line (``line - firstlineno + 1`` when
    the line is at or after it, ``line - firstlineno`` when before, 0 when
    unknown).
``lines``
    For nodes that ran more than one line, flat runs of
    ``node, count, line, weight, line, weight, ...`` (at most 8 lines).
``self``
    Self weight per node and thread: columns ``node`` (as the difference to
    the previous entry's node), ``thread`` and ``weight``.  Totals, and the
    totals of one thread, are sums of these; the page computes them.
``threads`` and ``meta``
    The threads sampled and how the session went.
``diff`` (differential flamegraphs only)
    The baseline's values per node, the pruned tree of the call paths
    that disappeared, and the colour thresholds; see
    :mod:`pysampler.renderers.flamegraph._diffpayload`.  The page switches to its
    differential mode when this key is present.

No value is ever written into markup: the page parses this object and
builds text with ``textContent`` and canvas ``fillText``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from pysampler.profile import FunctionKey, Profile
from pysampler.renderers.flamegraph._groups import classify, unique_labels
from pysampler.views.calltree import FunctionTree

__all__ = [
    "FORMAT_VERSION",
    "MAX_LINES",
    "flame_payload",
    "session_meta",
    "tree_columns",
]

FORMAT_VERSION = 1
"""The version of the embedded data's layout."""
MAX_LINES = 8
"""Lines kept per node for the tooltip."""


class _Strings:
    """An interning table."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        return self.ids.setdefault(text, len(self.ids))

    def table(self) -> list[str]:
        return list(self.ids)


def session_meta(profile: Profile, tree: FunctionTree) -> dict[str, Any]:
    """The ``meta`` object: how the session that made ``profile`` went."""
    meta = profile.metadata
    return {
        "pid": meta.pid,
        "command": list(meta.command_line),
        "python": meta.python_version,
        "mode": meta.mode,
        "allThreads": meta.all_threads,
        "intervalNs": meta.interval_ns,
        "durationNs": meta.duration_ns,
        "startTime": meta.start_time,
        "taken": meta.taken,
        "failed": meta.failed,
        "late": meta.late,
        "endedBy": meta.ended_by,
        "truncated": meta.truncated,
        "samples": profile.total_weight,
        "withFrames": tree.total[0] if len(tree) else 0,
        "secondsPerSample": profile.seconds_per_sample,
    }


def _threads(profile: Profile) -> list[dict[str, Any]]:
    threads = profile.threads
    return [
        {
            "ident": f"0x{threads.thread_id[index]:x}",
            "native": threads.native_id[index],
            "name": profile.thread_name(index),
        }
        for index in range(len(threads))
    ]


def flame_payload(
    profile: Profile, tree: FunctionTree, *, more_functions: Sequence[FunctionKey] = ()
) -> dict[str, Any]:
    """The page's data object for ``tree``, built from ``profile``.

    ``more_functions`` are appended to the function table after the tree's,
    for another tree the page draws (their files are grouped too).
    """
    strings = _Strings()
    functions = [*tree.functions, *more_functions]
    paths = sorted({function.filename for function in functions})
    sources = {path: classify(path) for path in paths}

    # Self and total weight per function of the tree, then per colour group.
    function_self = [0] * len(tree.functions)
    function_total = [0] * len(tree.functions)
    for number, own, total in zip(
        islice(tree.function, 1, None),
        islice(tree.self_weight, 1, None),
        islice(tree.total, 1, None),
        strict=True,
    ):
        function_self[number] += own
        function_total[number] += total
    group_self: dict[str, list[int]] = {sources[path].key: [0, 0] for path in paths}
    for called, own, total in zip(tree.functions, function_self, function_total, strict=True):
        weights = group_self[sources[called.filename].key]
        weights[0] += own
        weights[1] += total
    group_keys = sorted(group_self, key=lambda key: (-group_self[key][0], -group_self[key][1], key))
    group_index = {key: index for index, key in enumerate(group_keys)}
    first_of_group = {source.key: source for source in sources.values()}
    file_paths = [key[5:] for key in group_keys if key.startswith("file:")]
    file_labels = dict(zip(file_paths, unique_labels(file_paths), strict=True))
    groups: list[int] = []
    for key in group_keys:
        source = first_of_group[key]
        label = file_labels.get(key[5:], source.label) if key.startswith("file:") else source.label
        groups += [strings(label), int(source.kind)]

    file_index = {path: index for index, path in enumerate(paths)}
    files: list[int] = []
    for path in paths:
        source = sources[path]
        files += [strings(path), strings(source.module), group_index[source.key]]
    funcs: list[int] = []
    for function in functions:
        funcs += [strings(function.qualname), file_index[function.filename], function.firstlineno]

    return {
        "version": FORMAT_VERSION,
        "meta": session_meta(profile, tree),
        "threads": _threads(profile),
        "strings": strings.table(),
        "groups": groups,
        "files": files,
        "funcs": funcs,
        **tree_columns(tree, range(len(tree.functions)), functions),
    }


def tree_columns(
    tree: FunctionTree, func_index: Sequence[int], functions: Sequence[FunctionKey]
) -> dict[str, Any]:
    """A tree's ``nodes``, ``lines`` and ``self`` columns.

    ``func_index`` maps the tree's function numbers to the payload's function
    table, ``functions`` (lines are coded against its first lines).
    """
    up = list(map(operator.sub, range(len(tree)), tree.parent))
    func = [-1, *map(func_index.__getitem__, islice(tree.function, 1, None))]
    firstlinenos = [function.firstlineno for function in functions]
    line = [0] + [
        0 if number <= 0 else number - first + 1 if number >= first else number - first
        for number, first in zip(
            islice(tree.lines.hottest, 1, None),
            map(firstlinenos.__getitem__, islice(func, 1, None)),
            strict=True,
        )
    ]
    extra_lines: list[int] = []
    for node in sorted(tree.lines.several):
        kept = tree.lines.several[node][:MAX_LINES]
        extra_lines += [node, len(kept)]
        for number, weight in kept:
            extra_lines += [number, weight]

    self_nodes = list(map(itemgetter(0), tree.thread_self))
    return {
        "nodes": {"up": up, "func": func, "line": line},
        "lines": extra_lines,
        "self": {
            "node": list(map(operator.sub, self_nodes, chain((0,), self_nodes))),
            "thread": list(map(itemgetter(1), tree.thread_self)),
            "weight": list(tree.thread_self.values()),
        },
    }
