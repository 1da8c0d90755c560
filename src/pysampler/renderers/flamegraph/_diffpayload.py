"""The differential flamegraph's data: the flamegraph payload plus a ``diff`` object.

The page draws the *current* profile's tree (widths are its time) with
functions merged by file and name, as :class:`~pysampler.views.diff.DiffProfile`
matches them.  The ``diff`` object adds:

``baseline``
    The baseline session, shaped like ``meta``.
``scale``
    What the baseline's seconds are multiplied by so both runs have the
    same total (:attr:`DiffProfile.scale <pysampler.views.diff.DiffProfile.scale>`).
``unit``
    Seconds one baseline sample stands for once scaled: the baseline's
    seconds per sample times ``scale``.  Baseline weights below are
    samples; times are weights times ``unit``.
``steps``
    The colour steps, in percent of change of a frame's total time
    (:data:`COLOUR_STEPS`); a change under the first is neutral.
``self`` and ``total``
    Per node of ``nodes``, the baseline's self and total weight on the same
    call path (0 and 0 for a path that is new).
``elided``
    The baseline's tree pruned to the call paths that are gone now and
    their callers, as ``nodes``, ``lines`` and ``self`` columns of baseline
    weights, plus ``roots``: the nodes where a gone subtree starts (their
    ancestors still run; they are as wide as what is gone under them).
``elidedPaths``
    How many call paths are gone.
"""

from __future__ import annotations

from typing import Any

from pysampler.renderers.flamegraph._payload import flame_payload, session_meta, tree_columns
from pysampler.views.calltree import pruned_tree
from pysampler.views.diff import DiffProfile, matching_nodes

__all__ = ["COLOUR_STEPS", "NEUTRAL_PERCENT", "diff_payload"]

COLOUR_STEPS = (15.0, 30.0, 50.0, 100.0)
"""Where the colour shades change, in percent of change of a frame's total time.

Under the first step a frame is neutral (grey); regressions are red and
improvements blue, each shade stronger from one step to the next.
"""
NEUTRAL_PERCENT = COLOUR_STEPS[0]
"""A frame whose total time changed by less than this percentage is neutral."""


def diff_payload(diff: DiffProfile) -> dict[str, Any]:
    """The differential page's data object for ``diff``."""
    current_tree, base_tree, match = diff.current_tree, diff.baseline_tree, diff.match
    base_self = [0] * len(current_tree)
    base_total = [0] * len(current_tree)
    for node, found in enumerate(match):
        if found >= 0:
            base_self[found] = base_tree.self_weight[node]
            base_total[found] = base_tree.total[node]

    # The call paths that are gone (DiffProfile.elided) and their callers.
    elided = pruned_tree(base_tree, [found < 0 for found in match])
    gone = matching_nodes(elided, diff.placed, current_tree)
    roots = [node for node in range(1, len(elided)) if gone[node] < 0 <= gone[elided.parent[node]]]

    payload = flame_payload(diff.current, current_tree, more_functions=diff.missing)
    functions = [*current_tree.functions, *diff.missing]
    payload["diff"] = {
        "baseline": session_meta(diff.baseline, base_tree),
        "scale": diff.scale,
        "unit": diff.baseline.seconds_per_sample * diff.scale,
        "steps": list(COLOUR_STEPS),
        "self": base_self,
        "total": base_total,
        "elided": {**tree_columns(elided, diff.placed, functions), "roots": roots},
        "elidedPaths": len(diff.elided),
    }
    return payload
