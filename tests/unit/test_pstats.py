"""pstats output: the table on a stream, and files pstats.Stats loads."""

from __future__ import annotations

import io
import pstats
from pathlib import Path

import pytest
from batches import MAIN, PARSE, RUN, WALK_OUTER, BatchBuilder, session_info, session_stats

from pysampler.collectors import StackCollector
from pysampler.errors import OutputError
from pysampler.profile import Profile
from pysampler.renderers.pstats import SORT_ORDERS, PstatsRenderer, pstats_dict

MODULE = (MAIN[0], MAIN[2], MAIN[1])
RUN_KEY = (RUN[0], RUN[2], RUN[1])
WALK = (WALK_OUTER[0], WALK_OUTER[2], WALK_OUTER[1])
PARSE_KEY = (PARSE[0], PARSE[2], PARSE[1])
GC = ("~", 0, "<GC>")


def load(profile: Profile, tmp_path: Path) -> pstats.Stats:
    path = tmp_path / "out.prof"
    PstatsRenderer().render(profile, path)
    return pstats.Stats(str(path))


def test_file_loads_in_pstats_with_names_and_sample_counts(
    profile: Profile, tmp_path: Path
) -> None:
    stats = load(profile, tmp_path).stats  # type: ignore[attr-defined]
    assert set(stats) == {MODULE, RUN_KEY, WALK, PARSE_KEY, GC}
    counts = {key: (value[0], value[1]) for key, value in stats.items()}
    assert counts == {
        MODULE: (0, 11),
        RUN_KEY: (2, 11),
        WALK: (0, 5),  # recursion: once per sample, not 9
        PARSE_KEY: (8, 8),
        GC: (1, 1),
    }


def test_times_are_samples_times_interval_in_seconds(profile: Profile, tmp_path: Path) -> None:
    stats = load(profile, tmp_path)
    entries = stats.stats  # type: ignore[attr-defined]
    assert entries[PARSE_KEY][2] == pytest.approx(0.008)
    assert entries[RUN_KEY][3] == pytest.approx(0.011)
    assert entries[WALK][3] == pytest.approx(0.005)
    assert stats.total_tt == pytest.approx(0.011)  # type: ignore[attr-defined]


def test_callers_come_from_the_stack_tree(profile: Profile, tmp_path: Path) -> None:
    entries = load(profile, tmp_path).stats  # type: ignore[attr-defined]
    assert entries[PARSE_KEY][4] == {
        RUN_KEY: (4, 4, pytest.approx(0.004), pytest.approx(0.004)),
        WALK: (4, 4, pytest.approx(0.004), pytest.approx(0.004)),
    }
    assert set(entries[WALK][4]) == {RUN_KEY, WALK}
    assert entries[WALK][4][WALK][0] == 4
    assert entries[RUN_KEY][4] == {MODULE: (11, 11, pytest.approx(0.002), pytest.approx(0.011))}
    assert entries[MODULE][4] == {}


def test_pstats_prints_and_sorts_the_file(profile: Profile, tmp_path: Path) -> None:
    out = io.StringIO()
    stats = load(profile, tmp_path)
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats()
    stats.print_callers()
    text = out.getvalue()
    assert "main.py:10(run)" in text
    assert "parse.py:5(Parser.parse)" in text
    assert "{GC}" in text


def test_time_per_sample_falls_back_to_duration_over_instants(tmp_path: Path) -> None:
    builder = BatchBuilder()
    builder.sample([MAIN, RUN], count=4)
    collector = StackCollector()
    collector.start(session_info(interval_ns=0))
    collector.add(builder.batch())
    profile = collector.finish(session_stats(duration_ns=40_000_000, taken=8))
    entries = pstats_dict(profile)
    assert entries[RUN_KEY][2] == pytest.approx(4 * 0.005)


def rows_of(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "filename:lineno(function)" in line)
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith("("):
            break
        rows.append(line)
    return rows


def render_text(profile: Profile, **options: object) -> str:
    out = io.StringIO()
    PstatsRenderer(**options).render_text(profile, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_table_shows_counts_percentages_and_times(profile: Profile) -> None:
    text = render_text(profile)
    assert text.startswith("Profile of pid 4242, Python 3.12.1, wall mode, 1000 Hz")
    assert "11 samples with Python frames" in text
    header = next(line for line in text.splitlines() if "filename:lineno" in line)
    assert header.split() == [
        "nsamples",
        "sample%",
        "tottime",
        "(ms)",
        "cumul%",
        "cumtime",
        "(ms)",
        "filename:lineno(function)",
    ]
    rows = rows_of(text)
    assert rows[0].split() == ["8/8", "72.7", "8.000", "72.7", "8.000", "parse.py:5(Parser.parse)"]
    assert [row.split()[0] for row in rows[-2:]] == ["0/11", "0/5"]


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("nsamples", "Parser.parse"),
        ("tottime", "Parser.parse"),
        ("sample-pct", "Parser.parse"),
        ("nsamples-cumul", "run"),
        ("cumtime", "run"),
        ("cumul-pct", "run"),
        ("name", "<GC>"),
        ("filename", "<module>"),
    ],
)
def test_every_sort_order_puts_the_right_function_first(
    profile: Profile, sort: str, first: str
) -> None:
    rows = rows_of(render_text(profile, sort=sort, limit=None))
    assert len(rows) == 5
    assert rows[0].endswith(f"({first})") or rows[0].endswith(first)


def test_sort_orders_mirror_the_stdlib_tool() -> None:
    stdlib = {"nsamples", "tottime", "cumtime", "sample-pct", "cumul-pct", "nsamples-cumul", "name"}
    assert stdlib <= set(SORT_ORDERS)


def test_limit_cuts_the_table_and_says_so(profile: Profile) -> None:
    text = render_text(profile, limit=2)
    assert len(rows_of(text)) == 2
    assert "(2 of 5 functions shown)" in text


def test_unknown_sort_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pstats sort order 'bogus'"):
        PstatsRenderer(sort="bogus")


def test_a_profile_without_samples_says_so(tmp_path: Path) -> None:
    collector = StackCollector()
    collector.start(session_info())
    profile = collector.finish(session_stats(taken=0))
    assert "No samples with Python frames" in render_text(profile)
    # pstats.Stats cannot load an empty dict: refuse rather than write a trap
    with pytest.raises(OutputError, match="no samples with Python frames"):
        load(profile, tmp_path)
    assert not (tmp_path / "out.prof").exists()
