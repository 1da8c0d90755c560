"""Collapsed (folded) stacks."""

from __future__ import annotations

import io
from pathlib import Path

from batches import THREAD_1, THREAD_2, BatchBuilder, session_info, session_stats

from pysampler.collectors import StackCollector
from pysampler.model import FrameKind
from pysampler.profile import Profile
from pysampler.renderers.collapsed import CollapsedRenderer


def folded(profile: Profile, **options: bool) -> list[tuple[str, int]]:
    out = io.StringIO()
    CollapsedRenderer(**options).render_text(profile, out)
    lines = []
    for line in out.getvalue().splitlines():
        stack, _, count = line.rpartition(" ")
        lines.append((stack, int(count)))
    return lines


def test_counts_sum_to_the_samples_with_frames(profile: Profile) -> None:
    lines = folded(profile)
    nonempty = profile.sample_count - 2
    assert sum(count for _, count in lines) == nonempty == 11


def test_lines_are_root_first_with_stdlib_labels_and_thread_prefix(profile: Profile) -> None:
    assert folded(profile) == [
        (f"tid:{THREAD_2};main.py:<module>:30;main.py:run:12;main.py:walk:22;"
         "main.py:walk:23;parse.py:Parser.parse:7", 4),
        (f"tid:{THREAD_1};main.py:<module>:30;main.py:run:12;parse.py:Parser.parse:7", 3),
        (f"tid:{THREAD_1};main.py:<module>:30;main.py:run:12", 2),
        (f"tid:{THREAD_2};main.py:<module>:30;main.py:run:12;main.py:walk:22;<GC>", 1),
        (f"tid:{THREAD_2};main.py:<module>:30;main.py:run:12;parse.py:Parser.parse:7", 1),
    ]  # fmt: skip


def test_without_thread_prefix_threads_merge(profile: Profile) -> None:
    lines = dict(folded(profile, thread_prefix=False))
    assert lines["main.py:<module>:30;main.py:run:12;parse.py:Parser.parse:7"] == 4
    assert sum(lines.values()) == 11


def test_full_paths(profile: Profile) -> None:
    stacks = [stack for stack, _ in folded(profile, full_paths=True, thread_prefix=False)]
    assert all(stack.startswith("/srv/app/main.py:<module>:30;") for stack in stacks)


def test_separators_inside_names_are_neutralised(tmp_path: Path) -> None:
    builder = BatchBuilder()
    builder.sample([("/odd dir/a;b.py", "f;g\nh", 1, 2), FrameKind.NATIVE], count=3)
    collector = StackCollector()
    collector.start(session_info())
    collector.add(builder.batch())
    profile = collector.finish(session_stats())
    path = tmp_path / "out.txt"
    CollapsedRenderer(thread_prefix=False).render(profile, path)
    assert path.read_text(encoding="utf-8") == "a,b.py:f,g h:2;<native> 3\n"
