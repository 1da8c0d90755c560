"""Profile and StackCollector: tables built from batches, and what renderers read."""

from __future__ import annotations

from array import array
from collections import Counter

import attrs
import pytest
from batches import (
    MAIN,
    PARSE,
    RUN,
    THREAD_1,
    THREAD_2,
    WALK_INNER,
    WALK_OUTER,
    BatchBuilder,
    changed,
    known_batches,
    session_info,
    session_stats,
)

from pysampler.collectors import StackCollector
from pysampler.errors import CollectorError, PySamplerError
from pysampler.model import Frame, FrameKind
from pysampler.profile import FunctionKey, Profile, ProfileDelta, ProfileMetadata, StackTable


def labels(profile: Profile, node: int) -> list[str]:
    return [profile.frame_qualname(frame) for frame in profile.stack_frames(node)]


def test_collector_builds_one_profile_from_batches(profile: Profile) -> None:
    assert profile.sample_count == 13
    assert profile.total_weight == 13
    assert len(profile.threads) == 2
    assert list(profile.threads.thread_id) == [THREAD_1, THREAD_2]
    assert list(profile.threads.name) == [-1, -1]
    assert profile.lengths.nodes == len(profile.stacks) == 8  # node 0 + 7 interned nodes
    assert sorted(profile.strings) == sorted(
        {"/srv/app/main.py", "<module>", "run", "walk", "/srv/lib/parse.py", "Parser.parse"}
    )
    stacks = {
        tuple(labels(profile, node)): weight for node, weight in profile.weight_by_stack().items()
    }
    assert stacks == {
        ("Parser.parse", "run", "<module>"): 4,
        ("run", "<module>"): 2,
        ("Parser.parse", "walk", "walk", "run", "<module>"): 4,
        ("<GC>", "walk", "run", "<module>"): 1,
        (): 2,
    }
    by_thread = profile.weight_by_thread_and_stack()
    assert sum(by_thread.values()) == 13
    assert {thread for thread, _ in by_thread} == {0, 1}


def test_metadata_joins_session_info_and_stats(profile: Profile) -> None:
    meta = profile.metadata
    assert meta.pid == 4242
    assert meta.command_line == ("python", "app.py", "--fast")
    assert meta.python_version == "3.12.1"
    assert meta.interval_ns == 1_000_000
    assert meta.rate_hz == pytest.approx(1000.0)
    assert meta.mode == "wall"
    assert meta.all_threads is True
    assert meta.opcodes is False
    assert meta.opcode_names == ("CACHE", "POP_TOP", "")
    assert (meta.duration_ns, meta.taken, meta.failed, meta.late) == (100_000_000, 100, 2, 1)
    assert meta.ended_by == "stopped"
    assert meta.complete
    assert not meta.truncated


def test_frame_accessors_label_python_frames_and_markers(profile: Profile) -> None:
    leaf_of = {tuple(labels(profile, node)): node for node in profile.weight_by_stack()}
    node = leaf_of["<GC>", "walk", "run", "<module>"]
    gc, walk, run, module = profile.stack_frames(node)
    assert profile.frame_kind(gc) is FrameKind.GC
    assert profile.is_marker(gc)
    assert profile.frame_function(gc) == FunctionKey("~", 0, "<GC>")
    assert profile.frame_lineno(gc) is None
    assert profile.frame(gc) == Frame(filename="~", qualname="<GC>", lineno=None, kind=FrameKind.GC)

    assert profile.frame_function(walk) == FunctionKey("/srv/app/main.py", 20, "walk")
    assert profile.frame_lineno(walk) == WALK_OUTER[3]
    assert profile.frame_filename(run) == RUN[0]
    assert profile.frame_firstlineno(module) == MAIN[2]
    frame = profile.frame(walk)
    assert (frame.filename, frame.qualname, frame.lineno) == ("/srv/app/main.py", "walk", 22)
    assert (frame.col, frame.end_col, frame.opcode, frame.opname) == (4, 20, None, None)
    assert list(profile.stack_nodes(node))[-1] != Profile.EMPTY_STACK


def test_stack_frames_are_leaf_first_and_end_at_the_empty_stack(profile: Profile) -> None:
    deepest = max(profile.weight_by_stack(), key=lambda node: len(list(profile.stack_nodes(node))))
    frames = list(profile.stack_frames(deepest))
    assert [profile.frame_lineno(f) for f in frames] == [
        PARSE[3],
        WALK_INNER[3],
        WALK_OUTER[3],
        RUN[3],
        MAIN[3],
    ]
    assert list(profile.stack_frames(Profile.EMPTY_STACK)) == []


def test_opcode_names_come_from_the_metadata() -> None:
    profile = Profile(ProfileMetadata(session_info()))
    assert profile.opcode_name(1) == "POP_TOP"
    assert profile.opcode_name(2) is None  # unused number
    assert profile.opcode_name(99) is None
    assert profile.opcode_name(-1) is None


def test_profile_is_readable_between_batches(batches: list[ProfileDelta]) -> None:
    collector = StackCollector()
    collector.start(session_info())
    collector.add(batches[0])
    assert collector.profile.sample_count == 5
    assert collector.profile.metadata.ended_by is None
    assert not collector.profile.metadata.complete
    collector.add(batches[1])
    assert collector.profile.sample_count == 10


def test_seconds_per_sample_is_the_interval_or_duration_over_instants() -> None:
    timed = Profile(ProfileMetadata(session_info()))
    assert timed.seconds_per_sample == pytest.approx(0.001)

    fastest = Profile(ProfileMetadata(session_info(interval_ns=0)))
    fastest.finish(session_stats(duration_ns=50_000_000, taken=200))
    assert fastest.seconds_per_sample == pytest.approx(0.05 / 200)

    # a truncated file knows no duration: use the span of sample times
    cut = Profile(ProfileMetadata(session_info(interval_ns=0)))
    builder = BatchBuilder()
    builder.sample([MAIN], count=5, step_ns=2_000_000)
    cut.extend(builder.batch())
    assert cut.seconds_per_sample == pytest.approx(0.002)


def test_weights_multiply_samples(batches: list[ProfileDelta]) -> None:
    profile = Profile(ProfileMetadata(session_info()))
    profile.extend(changed(batches[0], samples__weight=array("I", [1, 2, 3, 4, 5])))
    assert profile.total_weight == 15
    assert sorted(profile.weight_by_stack().values()) == [6, 9]
    assert sum(profile.weight_by_thread_and_stack().values()) == 15


def test_weights_follow_the_samples_however_they_were_added(batches: list[ProfileDelta]) -> None:
    """Sums are counted as deltas arrive; rows added or tables replaced otherwise count too."""
    profile = Profile(ProfileMetadata(session_info()))
    for batch in batches:
        profile.extend(batch)
    expected = profile.weight_by_thread_and_stack()

    def recount() -> Counter[tuple[int, int]]:
        pairs = zip(profile.samples.thread, profile.samples.stack, strict=True)
        counts: Counter[tuple[int, int]] = Counter()
        for pair, weight in zip(pairs, profile.samples.weight, strict=True):
            counts[pair] += weight
        return counts

    assert list(expected.items()) == list(recount().items())
    threads, stacks, weights = profile.thread_stack_weights()
    assert list(zip(zip(threads, stacks, strict=True), weights, strict=True)) == list(
        expected.items()
    )

    samples = profile.samples  # rows appended to the columns directly, with weights
    for row in ((99, 1, 1, 0, 7), (99, 1, 2**24 + 3, 0, 1)):  # a node id too big to pack
        for column, value in zip(samples.columns().values(), row, strict=True):
            column.append(value)
        assert list(profile.weight_by_thread_and_stack().items()) == list(recount().items())
    assert profile.weight_by_stack()[1] == sum(w for (_, s), w in recount().items() if s == 1)

    profile.samples = samples.rows(0, 3)  # a new table is counted afresh
    assert list(profile.weight_by_thread_and_stack().items()) == list(recount().items())
    assert sum(profile.weight_by_stack().values()) == profile.total_weight


def test_a_batch_that_skips_ids_is_refused_clearly(batches: list[ProfileDelta]) -> None:
    collector = StackCollector()
    collector.start(session_info())
    collector.add(batches[0])
    with pytest.raises(CollectorError, match=r"batch string ids start at \d+, but the profile"):
        collector.add(batches[2])
    assert collector.profile.sample_count == 5  # left as it was


def test_node_zero_is_never_sent(batches: list[ProfileDelta]) -> None:
    first = batches[0]
    with_root = attrs.evolve(
        first,
        node_first=0,
        stacks=StackTable(
            parent=array("I", [0, *first.stacks.parent]),
            frame=array("I", [0, *first.stacks.frame]),
        ),
    )
    profile = Profile(ProfileMetadata(session_info()))
    with pytest.raises(CollectorError, match="node 0, the empty stack, is implicit"):
        profile.extend(with_root)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"samples__stack": array("I", [99, 1, 1, 1, 1])}, "a sample stack refers to entry 99"),
        ({"samples__thread": array("I", [0, 0, 7, 0, 0])}, "a sample thread refers to entry 7"),
        ({"codes__qualname": array("I", [0, 55, 1])}, "a code qualname refers to entry 55"),
        ({"frames__kind": array("I", [0, 9, 0])}, "frame kind is not one of"),
        ({"samples__status": array("I", [1])}, "sample columns differ in length"),
        ({"stacks__parent": array("I", [0, 2, 2])}, "parent must have a smaller id"),
        ({"frames__lineno": array("q", [2**40, 1, 1])}, "frame lineno: a value is out of range"),
    ],
)
def test_inconsistent_batches_are_refused_before_anything_is_added(
    batches: list[ProfileDelta], change: dict[str, object], message: str
) -> None:
    profile = Profile(ProfileMetadata(session_info()))
    with pytest.raises(CollectorError, match=message):
        profile.extend(changed(batches[0], **change))
    assert profile.lengths == Profile(profile.metadata).lengths
    assert profile.sample_count == 0
    profile.extend(batches[0])  # the good batch still fits
    assert profile.sample_count == 5


def test_collector_is_used_in_order(batches: list[ProfileDelta]) -> None:
    collector = StackCollector()
    with pytest.raises(CollectorError, match="before start"):
        collector.add(batches[0])
    collector.start(session_info())
    with pytest.raises(CollectorError, match="twice"):
        collector.start(session_info())
    profile = collector.finish(session_stats())
    assert collector.finish(session_stats()) is profile
    with pytest.raises(CollectorError, match="after finish"):
        collector.add(batches[0])
    assert isinstance(CollectorError("x"), PySamplerError)


def test_batch_arrays_of_other_typecodes_are_converted() -> None:
    batch = known_batches()[0]
    wide = changed(
        batch,
        samples__stack=array("q", batch.samples.stack),
        stacks__parent=array("L", batch.stacks.parent),
    )
    profile = Profile(ProfileMetadata(session_info()))
    profile.extend(wide)
    assert profile.samples.stack.typecode == "I"
    assert list(profile.samples.stack) == list(batch.samples.stack)
