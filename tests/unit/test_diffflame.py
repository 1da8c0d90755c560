"""The differential flamegraph's data: baseline values per node, the elided tree, the renderer."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from batches import MAIN, PARSE, BatchBuilder, FrameSpec, session_info, session_stats

from pysampler import renderers
from pysampler.cli import _parser
from pysampler.collectors import StackCollector
from pysampler.errors import OutputError
from pysampler.profile import Profile
from pysampler.renderers.flamegraph._diffpayload import COLOUR_STEPS, NEUTRAL_PERCENT, diff_payload
from pysampler.renderers.flamegraph.diff import DiffFlamegraphRenderer, diff_flamegraph_html
from pysampler.views.calltree import function_tree, pruned_tree
from pysampler.views.diff import DiffProfile, Function

RUN = ("/srv/app/main.py", "run", 10, 12)
RUN_MOVED = ("/srv/app/main.py", "run", 40, 44)  # the same function, further down the file
GONE = ("/srv/app/main.py", "old_step", 60, 61)
LEAF = ("/srv/lib/util.py", "helper", 3, 4)
NEW = ("/srv/app/main.py", "new_step", 70, 71)


def collect(stacks: Sequence[tuple[Sequence[FrameSpec], int]], interval_ns: int) -> Profile:
    builder = BatchBuilder()
    for frames, count in stacks:
        builder.sample(frames, count=count, step_ns=interval_ns)
    collector = StackCollector()
    collector.start(session_info(interval_ns=interval_ns))
    collector.add(builder.batch())
    return collector.finish(session_stats())


@pytest.fixture
def baseline() -> Profile:
    """1 kHz: run→parse 4 samples, run→old_step→helper 2 (old_step has no self time)."""
    return collect([([MAIN, RUN, PARSE], 4), ([MAIN, RUN, GONE, LEAF], 2)], 1_000_000)


@pytest.fixture
def current() -> Profile:
    """2 kHz, run moved: run→parse 16 samples (8 ms, +100 %), run→new_step 4 (2 ms)."""
    return collect([([MAIN, RUN_MOVED, PARSE], 16), ([MAIN, RUN_MOVED, NEW], 4)], 500_000)


def decoded(payload: dict[str, Any], columns: dict[str, Any]) -> dict[tuple[str, ...], int]:
    """Node number per call path of qualified names."""
    strings = payload["strings"]
    names = [strings[payload["funcs"][3 * f]] for f in range(len(payload["funcs"]) // 3)]
    up = columns["nodes"]["up"]
    paths: list[tuple[str, ...]] = [()]
    for node in range(1, len(up)):
        paths.append((*paths[node - up[node]], names[columns["nodes"]["func"][node]]))
    return {path: node for node, path in enumerate(paths)}


def self_weights(columns: dict[str, Any]) -> dict[int, int]:
    weights: dict[int, int] = {}
    node = 0
    for step, weight in zip(columns["self"]["node"], columns["self"]["weight"], strict=True):
        node += step
        weights[node] = weights.get(node, 0) + weight
    return weights


def test_each_node_carries_the_baseline_of_its_call_path(
    baseline: Profile, current: Profile
) -> None:
    diff = DiffProfile.compare(baseline, current)
    payload = json.loads(json.dumps(diff_payload(diff)))
    extra = payload["diff"]
    nodes = decoded(payload, payload)
    # run moved (another first line) and still matches: one node, with the baseline's samples
    run = nodes["<module>", "run"]
    parse = nodes["<module>", "run", "Parser.parse"]
    new = nodes["<module>", "run", "new_step"]
    assert (extra["total"][run], extra["self"][run]) == (6, 0)
    assert (extra["total"][parse], extra["self"][parse]) == (4, 4)
    assert (extra["total"][new], extra["self"][new]) == (0, 0)
    assert extra["total"][0] == 6
    # baseline weights times the unit are DiffProfile's scaled seconds
    assert extra["scale"] == pytest.approx(10e-3 / 6e-3)
    assert extra["unit"] == pytest.approx(1e-3 * extra["scale"])
    for names, node in nodes.items():
        if names:
            path = diff_path(diff, names)
            assert extra["total"][node] * extra["unit"] == pytest.approx(
                diff.nodes[path].baseline_total
            )
            assert extra["self"][node] * extra["unit"] == pytest.approx(
                diff.nodes[path].baseline_self
            )
    assert extra["steps"] == list(COLOUR_STEPS)
    assert NEUTRAL_PERCENT == COLOUR_STEPS[0] == 15
    assert extra["baseline"]["intervalNs"] == 1_000_000
    assert payload["meta"]["intervalNs"] == 500_000


def diff_path(diff: DiffProfile, names: tuple[str, ...]) -> tuple[Function, ...]:
    (path,) = [p for p in (*diff.nodes, *diff.elided) if tuple(f.qualname for f in p) == names]
    return path


def test_the_elided_tree_holds_the_gone_paths_under_callers_that_still_run(
    baseline: Profile, current: Profile
) -> None:
    diff = DiffProfile.compare(baseline, current)
    payload = diff_payload(diff)
    elided = payload["diff"]["elided"]
    nodes = decoded(payload, elided)
    assert set(nodes) == {
        (),
        ("<module>",),
        ("<module>", "run"),
        ("<module>", "run", "old_step"),
        ("<module>", "run", "old_step", "helper"),
    }
    gone = nodes["<module>", "run", "old_step"]
    # the gone subtree starts at old_step, which has no self time of its own
    assert elided["roots"] == [gone]
    assert self_weights(elided) == {nodes["<module>", "run", "old_step", "helper"]: 2}
    assert payload["diff"]["elidedPaths"] == len(diff.elided) == 2
    seconds = 2 * payload["diff"]["unit"]
    assert seconds == pytest.approx(
        diff.elided[diff_path(diff, ("<module>", "run", "old_step"))].baseline_total
    )
    # the baseline-only functions were added to the function table
    names = {payload["strings"][payload["funcs"][3 * f]] for f in range(len(payload["funcs"]) // 3)}
    assert {"old_step", "helper", "new_step"} <= names


def test_a_whole_stack_that_is_gone_is_an_elided_root_under_the_structural_root() -> None:
    other = ("/srv/app/worker.py", "<module>", 1, 5)
    baseline = collect([([MAIN, RUN, PARSE], 3), ([other, LEAF], 3)], 1_000_000)
    current = collect([([MAIN, RUN, PARSE], 3)], 1_000_000)
    payload = diff_payload(DiffProfile.compare(baseline, current))
    elided = payload["diff"]["elided"]
    nodes = decoded(payload, elided)
    assert elided["roots"] == [nodes["<module>",]]
    assert nodes["<module>",] != 0
    assert elided["nodes"]["func"][0] == -1
    # the payload's file table knows the file that is gone
    assert "/srv/app/worker.py" in payload["strings"]
    html = diff_flamegraph_html(baseline, current)
    assert html.count("</script>") == 2


def test_nothing_gone_means_no_elided_tree(current: Profile) -> None:
    payload = diff_payload(DiffProfile.compare(current, current))
    assert payload["diff"]["elidedPaths"] == 0
    assert payload["diff"]["elided"]["roots"] == []
    assert payload["diff"]["elided"]["nodes"]["up"] == [0]
    assert payload["diff"]["scale"] == 1.0
    assert payload["diff"]["total"] == [
        function_tree(current).total[n] for n in range(len(payload["diff"]["total"]))
    ]


def test_functions_of_one_file_and_name_merge_by_name_only() -> None:
    lambda_a = ("/srv/app/main.py", "run.<locals>.<lambda>", 20, 20)
    lambda_b = ("/srv/app/main.py", "run.<locals>.<lambda>", 21, 21)
    profile = collect([([MAIN, RUN, lambda_a], 2), ([MAIN, RUN, lambda_b], 3)], 1_000_000)
    assert len(function_tree(profile)) == 5
    merged = function_tree(profile, by_name=True)
    assert len(merged) == 4
    assert list(merged.total) == [5, 5, 5, 5]
    assert sorted(merged.lines[3]) == [(20, 2), (21, 3)]


def test_pruned_tree_keeps_counted_nodes_and_their_callers(baseline: Profile) -> None:
    tree = function_tree(baseline)
    paths = {tuple(f.qualname for f in tree.path(n)): n for n in range(len(tree))}
    counted = [False] * len(tree)
    counted[paths["<module>", "run", "old_step", "helper"]] = True
    pruned = pruned_tree(tree, counted)
    assert [tuple(f.qualname for f in pruned.path(n)) for n in range(len(pruned))] == [
        (),
        ("<module>",),
        ("<module>", "run"),
        ("<module>", "run", "old_step"),
        ("<module>", "run", "old_step", "helper"),
    ]
    assert list(pruned.total) == [2, 2, 2, 2, 2]
    assert list(pruned.self_weight) == [0, 0, 0, 0, 2]
    assert pruned.lines[2] == []  # a caller keeps no lines: they were for all its time
    assert pruned.lines[4] == [(4, 2)]


def test_the_renderer_takes_a_comparison(baseline: Profile, current: Profile) -> None:
    factory = renderers.get("diff-flamegraph")
    assert factory is DiffFlamegraphRenderer
    assert factory.accepts is DiffProfile
    with pytest.raises(OutputError, match="diff-flamegraph renders a DiffProfile, not a Profile"):
        renderers.emit(factory(), current, "-")


def test_the_renderer_writes_the_page_named_after_the_pid(
    baseline: Profile, current: Profile, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    written = renderers.emit(DiffFlamegraphRenderer(), DiffProfile.compare(baseline, current))
    assert str(written) == "diff_flamegraph.4242.html"
    text = (tmp_path / "diff_flamegraph.4242.html").read_text(encoding="utf-8")
    data = re.search(r'id="flamegraph-data">(.*?)</script>', text)
    assert data is not None
    assert json.loads(data.group(1))["diff"]["elidedPaths"] == 2


def test_the_command_line_takes_a_baseline_path_not_a_bare_flag() -> None:
    parser = _parser()
    args = parser.parse_args(["replay", "now.bin", "--diff-flamegraph", "before.bin"])
    assert (args.format_baseline, args.format) == ("before.bin", "diff-flamegraph")
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "now.bin", "--diff-flamegraph"])
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "now.bin", "--flamegraph", "--diff-flamegraph", "b.bin"])
