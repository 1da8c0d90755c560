"""The heatmap renderer without a browser: counting, source files, page names, escaping."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from batches import (
    MAIN,
    PARSE,
    BatchBuilder,
    session_info,
    session_stats,
)

from pysampler import renderers
from pysampler.collectors import StackCollector
from pysampler.errors import OutputError
from pysampler.profile import FunctionKey, Profile
from pysampler.renderers.heatmap import HeatmapRenderer
from pysampler.renderers.heatmap._html import heat_colour, page_names
from pysampler.renderers.heatmap._source import SourceStatus, char_column, read_source
from pysampler.views.lines import LineKey, collect_lines

MAIN_PY, PARSE_PY = MAIN[0], PARSE[0]


def collect(builder: BatchBuilder, **info: object) -> Profile:
    collector = StackCollector()
    collector.start(session_info(**info))
    collector.add(builder.batch())
    return collector.finish(session_stats())


# ---- counting ------------------------------------------------------------------


def test_self_and_total_per_line(profile: Profile) -> None:
    data = collect_lines(profile)
    assert data.total == 11  # the samples holding a frame
    parse = data.lines[LineKey(PARSE_PY, 7)]
    assert (parse.self_weight, parse.total) == (8, 8)
    run = data.lines[LineKey(MAIN_PY, 12)]
    assert (run.self_weight, run.total) == (2, 11)
    module = data.lines[LineKey(MAIN_PY, 30)]
    assert (module.self_weight, module.total) == (0, 11)
    # <GC> above walk's line 22: the line's own time.
    outer = data.lines[LineKey(MAIN_PY, 22)]
    assert (outer.self_weight, outer.total) == (1, 5)
    assert data.lines[LineKey(MAIN_PY, 23)].total == 4
    assert sum(line.self_weight for line in data.lines.values()) == data.total
    assert data.max_self == 8


def test_files_count_self_and_total(profile: Profile) -> None:
    data = collect_lines(profile)
    assert (data.files[PARSE_PY].self_weight, data.files[PARSE_PY].total) == (8, 8)
    assert (data.files[MAIN_PY].self_weight, data.files[MAIN_PY].total) == (3, 11)


def test_callers_and_callees(profile: Profile) -> None:
    data = collect_lines(profile)
    parse = data.lines[LineKey(PARSE_PY, 7)]
    assert parse.callers == {LineKey(MAIN_PY, 12): 4, LineKey(MAIN_PY, 23): 4}
    assert parse.callers_self == parse.callers
    run = data.lines[LineKey(MAIN_PY, 12)]
    parse_fn = FunctionKey(PARSE_PY, 5, "Parser.parse")
    walk_fn = FunctionKey(MAIN_PY, 20, "walk")
    assert run.callees == {parse_fn: 4, walk_fn: 5}
    assert run.callees_self == {parse_fn: 4, walk_fn: 1}  # walk under <GC>
    assert run.callee_lines[walk_fn] == {22: 5}
    assert data.lines[LineKey(MAIN_PY, 30)].callers == {}


def test_recursion_counts_once_per_sample() -> None:
    builder = BatchBuilder()
    rec = ("/r.py", "rec", 1, 2)
    builder.sample([MAIN, rec, rec, rec], count=5)
    data = collect_lines(collect(builder))
    line = data.lines[LineKey("/r.py", 2)]
    assert (line.self_weight, line.total) == (5, 5)
    assert line.callers == {LineKey("/r.py", 2): 5, LineKey(MAIN_PY, 30): 5}
    assert data.files["/r.py"].total == 5


def test_marker_only_stacks_and_empty_stacks_are_not_samples(profile: Profile) -> None:
    data = collect_lines(profile)
    assert "~" not in data.files
    assert data.total == profile.sample_count - 2


# ---- source files ----------------------------------------------------------------


def test_source_states(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text("a = 1\r\nb = '\f'\rc = 3\n")
    since = time.time() + 100
    source = read_source(str(path), since)
    assert source.status is SourceStatus.OK
    assert source.lines == ("a = 1", "b = '\f'", "c = 3")
    assert source.line(3) == "c = 3"
    assert source.line(4) is None
    os.utime(path, (since + 1, since + 1))
    assert read_source(str(path), since).status is SourceStatus.CHANGED
    assert read_source(str(tmp_path / "gone.py"), since).status is SourceStatus.MISSING
    assert read_source("<frozen importlib._bootstrap>", since).status is SourceStatus.NO_SOURCE
    assert read_source("<string>", since).status is SourceStatus.NO_SOURCE
    unreadable = read_source(str(tmp_path), since)
    assert unreadable.status is SourceStatus.UNREADABLE
    assert unreadable.error
    assert read_source("bad\0name.py", since).status is SourceStatus.UNREADABLE


def test_source_honours_the_encoding_cookie(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes("# -*- coding: latin-1 -*-\ns = 'café'\n".encode("latin-1"))
    assert read_source(str(path), time.time() + 100).lines[1] == "s = 'café'"


def test_columns_are_utf8_byte_offsets() -> None:
    line = "x = 'héllo' + y"
    assert char_column(line, line.encode().index(b"+")) == line.index("+")
    assert char_column(line, 0) == 0


# ---- pages ----------------------------------------------------------------------


def test_page_names_are_safe_and_distinct() -> None:
    files = [
        "/a/../../etc/passwd",
        "/x/y.py",
        "/z/y.py",
        "<frozen importlib._bootstrap>",
        "",
        "index.html",
        "/srv/..",
        "/t/<img src=x>.py",
        "/t/" + "long" * 50 + ".py",
    ]
    names = page_names(files)
    assert set(names) == set(files)
    assert len(set(names.values())) == len(files)
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.html", name), name
        assert name != "index.html"
        assert len(name) < 100


def test_heat_colours_run_from_light_to_the_hottest() -> None:
    assert heat_colour(0, 10) is None
    assert heat_colour(5, 0) is None
    assert heat_colour(10, 10) == "#f06858"
    assert heat_colour(20, 10) == "#f06858"
    reds = [heat_colour(n, 100) for n in (1, 10, 50, 100)]
    assert len(set(reds)) == 4


def test_render_writes_an_index_and_a_page_per_file(profile: Profile, tmp_path: Path) -> None:
    out = tmp_path / "heat"
    HeatmapRenderer().render(profile, out)
    pages = sorted(p.name for p in out.iterdir())
    assert "index.html" in pages
    assert len(pages) == 3  # index, main.py, parse.py
    index = (out / "index.html").read_text()
    for name in pages:
        if name != "index.html":
            assert f'href="{name}"' in index
    main_page = next(out.glob("main.py.*.html")).read_text()
    assert "This file is gone" in main_page  # /srv/app/main.py does not exist here
    assert 'id="L12"' in main_page
    assert 'id="L1"' not in main_page  # without source, only the sampled lines


def test_renderer_is_registered_and_writes_no_text(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = renderers.get("heatmap")()
    assert isinstance(renderer, HeatmapRenderer)
    with pytest.raises(OutputError, match="not text"):
        renderers.emit(renderer, profile, "-")
    with pytest.raises(OutputError, match="folder of HTML pages"):
        renderer.render_text(profile, io.StringIO())
    monkeypatch.chdir(tmp_path)
    assert renderers.emit(renderer, profile) == Path("heatmap_4242")
    assert (tmp_path / "heatmap_4242" / "index.html").is_file()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="not a directory"):
        renderer.render(profile, tmp_path / "file")


def test_an_empty_profile_gets_an_index_that_says_so(tmp_path: Path) -> None:
    builder = BatchBuilder()
    builder.sample([], count=3)
    HeatmapRenderer().render(collect(builder), tmp_path)
    assert "No samples with Python frames" in (tmp_path / "index.html").read_text()


def test_names_paths_and_source_are_text_never_markup(tmp_path: Path) -> None:
    directory = tmp_path / '"><img src=x onerror=alert(1)>'
    directory.mkdir()
    source = directory / "<b>evil<i>.py"
    source.write_text("def f():\n    return '</script><script>alert(2)</script>'\n")
    builder = BatchBuilder()
    caller = (str(source), "<svg onload=alert(3)>", 1, 1)
    callee = (str(source), "</script><i>x</i>&amp;", 1, 2)
    builder.sample([caller, callee], count=4)
    HeatmapRenderer().render(collect(builder), tmp_path / "out")
    for page in (tmp_path / "out").iterdir():
        text = page.read_text()
        for hostile in ("<img", "<b>evil", "<svg", "<i>", "<script>alert", "&amp;amp"):
            assert hostile not in text, (page.name, hostile)
        assert text.count("</script>") == (2 if 'id="heat-data"' in text else 1)
    file_page = next(p for p in (tmp_path / "out").iterdir() if p.name != "index.html")
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in file_page.read_text()


def test_a_file_changed_after_sampling_gets_a_warning(tmp_path: Path) -> None:
    source = tmp_path / "app.py"
    source.write_text("x = 1\ny = 2\n")
    builder = BatchBuilder()
    builder.sample([(str(source), "<module>", 1, 2)], count=2)
    profile = collect(builder, start_time=time.time() - 60)
    HeatmapRenderer().render(profile, tmp_path / "out")
    page = next((tmp_path / "out").glob("app.py.*.html")).read_text()
    assert "This file changed after sampling started" in page
    assert "changed after sampling started" in (tmp_path / "out" / "index.html").read_text()
