"""The heatmap in headless Chromium, on heatmaps of real profiles.

tests/targets/heat.py runs under the sampler (with --opcodes); its hottest
line is in heat_helper.py, which heat.py calls.  Counts on the pages are
checked against counts taken from the profile here, independently of the
renderer.  Screenshots go to tests/artifacts/ (the browser and that
directory come from conftest.py).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from browser_helpers import finish

from pysampler import Profile, Sampler, renderers

TARGETS = Path(__file__).resolve().parents[1] / "targets"
HEAT = TARGETS / "heat.py"
HELPER = TARGETS / "heat_helper.py"
HOSTILE = TARGETS / "heat_hostile.py"
HOTTEST_COLOUR = "rgb(240, 104, 88)"

LineCounts = dict[tuple[str, int], int]


class HeatRun(NamedTuple):
    profile: Profile
    out: Path
    """The heatmap directory."""
    work: Path
    """Where the target's files are."""


# ---- fixtures ------------------------------------------------------------------


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh 1280x800 page (conftest's browser); script errors, console errors and
    dialogs (an injected ``alert``) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def run_target(script: Path, seconds: str, **options: Any) -> Profile:
    return finish(Sampler.run([str(script), seconds], **options))


def render(profile: Profile, out: Path) -> Path:
    renderers.get("heatmap")().render(profile, out)
    return out


@pytest.fixture(scope="module")
def heat_run(tmp_path_factory: pytest.TempPathFactory) -> HeatRun:
    """heat.py sampled at 2 kHz with opcodes, and its heatmap."""
    profile = run_target(HEAT, "1.5", rate=2000, opcodes=True)
    out = render(profile, tmp_path_factory.mktemp("heatmap") / "heatmap")
    return HeatRun(profile, out, TARGETS)


@pytest.fixture(scope="module")
def changed_run(tmp_path_factory: pytest.TempPathFactory) -> HeatRun:
    """heat.py run from a copy; then heat.py is edited, heat_helper.py deleted, and rendered."""
    work = tmp_path_factory.mktemp("changed")
    for source in (HEAT, HELPER):
        shutil.copy(source, work / source.name)
    profile = run_target(work / HEAT.name, "1.0", rate=1000)
    edited = work / HEAT.name
    edited.write_text(edited.read_text() + "\n# edited after sampling\n")
    (work / HELPER.name).unlink()
    return HeatRun(profile, render(profile, work / "heatmap"), work)


# ---- helpers -------------------------------------------------------------------


def tagged(path: Path, tag: str) -> int:
    """The number of the line marked ``# @tag``."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"# @{tag}"):
            return number
    raise AssertionError(f"no line tagged {tag} in {path}")


def python_frames(profile: Profile, node: int) -> list[int]:
    return [f for f in profile.stack_frames(node) if not profile.is_marker(f)]


def line_counts(profile: Profile) -> tuple[LineCounts, LineCounts]:
    """Self and total samples per (file, line), counted from the profile here."""
    self_counts: Counter[tuple[str, int]] = Counter()
    total_counts: Counter[tuple[str, int]] = Counter()
    for node, weight in profile.weight_by_stack().items():
        frames = python_frames(profile, node) if node else []
        keys = [(profile.frame_filename(f), profile.frame_lineno(f) or 0) for f in frames]
        if keys:
            self_counts[keys[0]] += weight
            for key in set(keys):
                total_counts[key] += weight
    return dict(self_counts), dict(total_counts)


def op_counts(profile: Profile, filename: str, lineno: int) -> dict[tuple[str, str], list[int]]:
    """(instruction, base instruction) -> [self, total] samples on one line."""
    counts: dict[tuple[str, str], list[int]] = {}
    for node, weight in profile.weight_by_stack().items():
        seen = set()
        for depth, frame_id in enumerate(python_frames(profile, node) if node else []):
            frame = profile.frame(frame_id)
            if (frame.filename, frame.lineno) != (filename, lineno) or frame.opname is None:
                continue
            key = (frame.opname, frame.base_opname or frame.opname)
            entry = counts.setdefault(key, [0, 0])
            if depth == 0:
                entry[0] += weight
            if key not in seen:
                seen.add(key)
                entry[1] += weight
    return counts


def number(text: str) -> int:
    return int(text.replace(",", ""))


def open_file(page: Any, out: Path, base_name: str) -> None:
    """Open the index, then a file's page through its link there."""
    page.goto((out / "index.html").as_uri())
    link = page.locator("td.file a").filter(
        has=page.locator("span.base", has_text=re.compile(f"^{re.escape(base_name)}$"))
    )
    link.click()
    page.wait_for_url(re.compile(re.escape(base_name) + r"\.[0-9a-f]+\.html"))


def animations(row: Any) -> list[list[str]]:
    return row.evaluate("el => el.getAnimations().map(a => [a.animationName, a.playState])")


def assert_highlighted(page: Any, row: Any) -> None:
    """The row is selected, pulsing, and inside the viewport."""
    assert animations(row) == [["heat-flash", "running"]]
    assert "sel" in row.get_attribute("class").split()
    box = row.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def find(profile: Profile, path: Path) -> str:
    """The file name the profile gives ``path``."""
    names = {profile.frame_filename(f) for f in range(len(profile.frames))}
    (name,) = [n for n in names if Path(n).resolve() == path.resolve()]
    return name


# ---- the index -----------------------------------------------------------------


def test_index_ranks_files_by_samples_with_totals_and_a_filter(
    heat_run: HeatRun, page: Any
) -> None:
    profile = heat_run.profile
    self_counts, total_counts = line_counts(profile)
    page.goto((heat_run.out / "index.html").as_uri())
    rows = page.locator("table.files tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.path, +r.dataset.self, +r.dataset.total])"
    )
    assert rows[0][0] == find(profile, HELPER)
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    for path, self_samples, _total in rows:
        assert self_samples == sum(n for (f, _), n in self_counts.items() if f == path)
    file_totals: Counter[str] = Counter()
    for node, weight in profile.weight_by_stack().items():
        files = {profile.frame_filename(f) for f in python_frames(profile, node)} if node else ()
        for name in files:
            file_totals[name] += weight
    assert {r[0]: r[2] for r in rows} == dict(file_totals)
    assert sum(total_counts.values()) > 0

    page.fill("#filter", "heat_help")
    visible = page.locator("table.files tbody tr:visible td.file")
    assert visible.count() == 1
    assert visible.inner_text().endswith("heat_helper.py")
    assert page.locator("#shown").inner_text() == f"1 of {len(rows)} files"
    page.fill("#filter", "")
    assert page.locator("table.files tbody tr:visible").count() == len(rows)


# ---- a file page -----------------------------------------------------------------


def test_the_hottest_line_of_the_target_is_the_hottest_in_the_page(
    heat_run: HeatRun, page: Any
) -> None:
    profile = heat_run.profile
    helper = find(profile, HELPER)
    self_counts, total_counts = line_counts(profile)
    hot = tagged(HELPER, "hot")
    assert max(self_counts, key=self_counts.__getitem__) == (helper, hot)
    open_file(page, heat_run.out, HELPER.name)
    rows = page.locator(".ln.hit").evaluate_all(
        "rows => rows.map(r => [r.id, +r.dataset.self, +r.dataset.total,"
        " getComputedStyle(r).backgroundColor])"
    )
    hottest = max(rows, key=lambda row: row[1])
    assert hottest[0] == f"L{hot}"
    assert hottest[3] == HOTTEST_COLOUR
    for row_id, self_samples, total, colour in rows:
        key = (helper, int(row_id[1:]))
        assert (self_samples, total) == (self_counts.get(key, 0), total_counts[key])
        assert colour != HOTTEST_COLOUR or row_id == hottest[0]
    # Every line of the file is listed, with its source as text.
    assert page.locator(".ln").count() == len(HELPER.read_text().splitlines())
    source = HELPER.read_text().splitlines()[hot - 1]
    assert page.locator(f"#L{hot} .src").text_content() == source


def test_heat_can_follow_total_samples(heat_run: HeatRun, page: Any) -> None:
    open_file(page, heat_run.out, HEAT.name)
    # The root call: nearly no self samples, the most total samples of the profile.
    root = page.locator(f"#L{tagged(HEAT, 'main_call')}")
    background = "r => getComputedStyle(r).backgroundColor"
    assert root.evaluate(background) != HOTTEST_COLOUR
    page.check('input[name="heat"][value="total"]')
    assert root.evaluate(background) == HOTTEST_COLOUR
    assert page.locator(".legend .for-total").is_visible()
    assert not page.locator(".legend .for-self").is_visible()


def test_a_caller_link_scrolls_to_and_highlights_its_line_and_replays_on_reclick(
    heat_run: HeatRun, page: Any
) -> None:
    page.set_viewport_size({"width": 1280, "height": 420})
    open_file(page, heat_run.out, HEAT.name)
    local_hot, call_local = tagged(HEAT, "local_hot"), tagged(HEAT, "call_local")
    page.click(f"#L{local_hot} button.fold")
    link = page.locator(f"#L{local_hot} + .panel a.nav", has_text=f"{HEAT.name}:{call_local} ")
    target = page.locator(f"#L{call_local}")
    page.evaluate("window.scrollTo(0, 0)")
    assert not target.evaluate("r => r.getBoundingClientRect().top < innerHeight")

    link.click()
    assert page.evaluate("location.hash") == f"#L{call_local}"
    assert_highlighted(page, target)

    # The same link again: the hash does not change, the highlight must replay.
    target.evaluate("r => r.getAnimations().forEach(a => a.finish())")
    assert animations(target) == []
    page.evaluate("window.scrollTo(0, 0)")
    link.click()
    assert page.evaluate("location.hash") == f"#L{call_local}"
    assert_highlighted(page, target)
    assert page.locator(".ln.sel").count() == 1


def test_a_caller_link_across_files_highlights_the_calling_line(
    heat_run: HeatRun, page: Any
) -> None:
    hot, call_churn = tagged(HELPER, "hot"), tagged(HEAT, "call_churn")
    open_file(page, heat_run.out, HELPER.name)
    page.click(f"#L{hot} button.fold")
    page.locator(f"#L{hot} + .panel a.nav", has_text=f"{HEAT.name}:{call_churn} ").click()
    page.wait_for_url(re.compile(rf"/heat\.py\.[0-9a-f]+\.html#L{call_churn}$"))
    assert_highlighted(page, page.locator(f"#L{call_churn}"))
    # And back down: the callee link goes to churn's page.
    page.click(f"#L{call_churn} button.fold")
    page.locator(f"#L{call_churn} + .panel a.nav", has_text="churn · heat_helper.py").click()
    page.wait_for_url(re.compile(r"/heat_helper\.py\.[0-9a-f]+\.html#L\d+$"))


def test_the_bytecode_panel_lists_the_instructions_in_the_line_columns(
    heat_run: HeatRun, page: Any
) -> None:
    profile = heat_run.profile
    hot = tagged(HELPER, "hot")
    expected = op_counts(profile, find(profile, HELPER), hot)
    assert expected
    open_file(page, heat_run.out, HELPER.name)
    row = page.locator(f"#L{hot}")
    row.locator("button.fold").click()
    panel = page.locator(f"#L{hot} + .panel")
    shown = panel.locator(".prow.opr").evaluate_all(
        "rows => rows.map(r => ['.op', '.opbase', '.self', '.tot']"
        ".map(c => r.querySelector(c).textContent))"
    )
    assert {(op, base): [number(s), number(t)] for op, base, s, t in shown} == expected
    specialized = sum(t for (op, base), (_, t) in expected.items() if op != base)
    share = round(100 * specialized / sum(t for _, t in expected.values()))
    assert (
        f"{share}% of their samples in specialized instructions"
        in panel.locator(".spec-share").inner_text()
    )
    if tuple(map(int, profile.metadata.python_version.split(".")[:2])) >= (3, 11):
        assert specialized > 0
        assert panel.locator(".prow.opr .tag", has_text="specialized").count() > 0

    # The panel's columns are the line's columns, and it leaves no gap beside them.
    line_boxes = {c: row.locator(f":scope > .{c}").bounding_box() for c in ("no", "self", "tot")}
    fold = row.locator(":scope > .fold").bounding_box()
    row_box, panel_box = row.bounding_box(), panel.bounding_box()
    assert abs(panel_box["x"] - row_box["x"]) < 0.5
    assert abs(panel_box["width"] - row_box["width"]) < 0.5
    panel_rows = panel.locator(".prow")
    assert panel_rows.count() >= len(expected) + 1
    for index in range(panel_rows.count()):
        panel_row = panel_rows.nth(index)
        for cell, line_box in line_boxes.items():
            box = panel_row.locator(f":scope > .{cell}").bounding_box()
            assert abs(box["x"] - line_box["x"]) < 0.5, (index, cell)
            assert abs(box["width"] - line_box["width"]) < 0.5, (index, cell)
        text = panel_row.locator(":scope > .txt").bounding_box()
        assert abs(text["x"] - fold["x"]) < 0.5
        assert abs(text["x"] + text["width"] - (row_box["x"] + row_box["width"])) < 0.5

    # Hovering an instruction marks its columns in the line's source.
    panel.locator(".prow.opr").first.hover()
    marked = row.locator(".src mark").text_content()
    assert marked and marked in HELPER.read_text().splitlines()[hot - 1]
    page.mouse.move(0, 0)
    assert row.locator(".src mark").count() == 0

    # b unfolds every line with bytecode, and folds them again.
    page.keyboard.press("b")
    assert page.locator(".ln[data-ops] + .panel").count() == page.locator(".ln[data-ops]").count()
    page.keyboard.press("b")
    assert page.locator(".panel").count() == 0


def test_screenshots(heat_run: HeatRun, page: Any, artifacts: Path) -> None:
    page.goto((heat_run.out / "index.html").as_uri())
    page.screenshot(path=str(artifacts / "heatmap-index.png"), full_page=True)
    open_file(page, heat_run.out, HEAT.name)
    page.screenshot(path=str(artifacts / "heatmap-file.png"), full_page=True)
    hot = tagged(HELPER, "hot")
    open_file(page, heat_run.out, HELPER.name)
    page.click(f"#L{hot} button.fold")
    page.locator(f"#L{hot} + .panel .prow.opr").nth(1).hover()
    page.screenshot(path=str(artifacts / "heatmap-bytecode.png"), full_page=True)
    for name in ("index", "file", "bytecode"):
        assert (artifacts / f"heatmap-{name}.png").stat().st_size > 10_000


# ---- source that changed or is gone ----------------------------------------------


def test_a_file_edited_after_sampling_shows_a_warning(changed_run: HeatRun, page: Any) -> None:
    page.goto((changed_run.out / "index.html").as_uri())
    row = page.locator("table.files tbody tr", has_text=HEAT.name).filter(has_not_text=HELPER.name)
    assert row.locator(".note-tag").inner_text() == "changed after sampling started"
    open_file(page, changed_run.out, HEAT.name)
    banner = page.locator("#source-status")
    assert banner.is_visible()
    assert "This file changed after sampling started" in banner.inner_text()
    last = len((changed_run.work / HEAT.name).read_text().splitlines())
    assert page.locator(f"#L{last} .src").text_content() == "# edited after sampling"


def test_a_deleted_file_gets_a_page_that_says_so(changed_run: HeatRun, page: Any) -> None:
    profile = changed_run.profile
    helper = str(changed_run.work / HELPER.name)
    assert helper in {profile.frame_filename(f) for f in range(len(profile.frames))}
    self_counts, total_counts = line_counts(profile)
    sampled = sorted(n for f, n in total_counts if f == helper)
    page.goto((changed_run.out / "index.html").as_uri())
    row = page.locator("table.files tbody tr", has_text=HELPER.name)
    assert row.locator(".note-tag").inner_text() == "file is gone"
    open_file(page, changed_run.out, HELPER.name)
    banner = page.locator("#source-status")
    assert banner.is_visible()
    assert "This file is gone" in banner.inner_text()
    rows = page.locator(".ln").evaluate_all(
        "rows => rows.map(r => [r.id, r.querySelector('.self').textContent,"
        " r.querySelector('.tot').textContent, r.querySelector('.src').textContent])"
    )
    assert [row_id for row_id, *_ in rows] == [f"L{n}" for n in sampled]
    for row_id, self_text, total_text, source in rows:
        key = (helper, int(row_id[1:]))
        assert (number(self_text), number(total_text)) == (
            self_counts.get(key, 0),
            total_counts[key],
        )
        assert source == "in churn"
    assert f"L{tagged(HELPER, 'hot')}" in {row_id for row_id, *_ in rows}


# ---- names and source are text -----------------------------------------------------


def test_markup_in_paths_names_and_source_is_shown_as_text(tmp_path: Path, page: Any) -> None:
    directory = tmp_path / '"><img src=x onerror=alert(1)>'
    directory.mkdir()
    script = directory / "<b>bold<i>.py"
    shutil.copy(HOSTILE, script)
    profile = run_target(script, "0.5", rate=1000)
    out = render(profile, tmp_path / "heatmap")
    qualname = "<img src=x onerror=alert(1)>&amp;"
    hot = tagged(HOSTILE, "hostile_hot")

    page.goto((out / "index.html").as_uri())
    assert page.locator("img, svg, i").count() == 0
    assert page.locator("b", has_text="bold").count() == 0
    link = page.locator("td.file a", has_text="bold")
    assert link.inner_text() == str(script)
    link.click()
    assert page.locator("img, svg, i").count() == 0
    assert page.locator("h1.path").inner_text() == str(script)
    source = HOSTILE.read_text().splitlines()[hot - 1]
    assert page.locator(f"#L{hot} .src").text_content() == source
    if tuple(map(int, profile.metadata.python_version.split(".")[:2])) >= (3, 11):
        call = len(HOSTILE.read_text().splitlines())
        page.click(f"#L{call} button.fold")
        callee = page.locator(f"#L{call} + .panel a.nav").first
        assert callee.inner_text().startswith(qualname + " · ")
    assert page.locator("img, svg, i").count() == 0
