"""The flamegraph page in headless Chromium, on profiles of real targets.

tests/targets/flame_app.py runs under the sampler (three threads, known
functions); its flamegraph is opened from file://, clicked, hovered,
searched and filtered, and what the page shows is compared with the
profile's own counts.  Screenshots of each view go to tests/artifacts/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from browser_helpers import centre, finish, hover, node_at, open_page

from pysampler import Profile, Sampler, renderers
from pysampler.model import SamplerConfig, SessionInfo
from pysampler.profile import ProfileMetadata

TARGETS = Path(__file__).resolve().parents[1] / "targets"
FLAME_APP = TARGETS / "flame_app.py"
MAIN_PATH = ("<module>", "main", "run_jobs")
RENDER = (*MAIN_PATH, "render")
LAYOUT = (*RENDER, "layout")
PARSE = (*MAIN_PATH, "parse")
DIM = (231, 233, 237)  # DIM_COLOUR in flamegraph.js: frames a search does not match


def sample(script: Path, *args: str, rate: float = 1000) -> Profile:
    """Run ``script`` under the sampler (every thread) until it exits."""
    return finish(
        Sampler.run([str(script), *args], python=sys.executable, rate=rate, all_threads=True)
    )


@dataclass
class Counts:
    """The profile's own counts, by call path of function names (root first)."""

    total: Counter[tuple[str, ...]] = field(default_factory=Counter)
    self: Counter[tuple[str, ...]] = field(default_factory=Counter)
    leaf: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Self weight per function, (qualname, file) (the inverted view's roots)."""
    all: int = 0

    def share(self, profile: Profile, matches: Callable[[int], bool], thread: int | None) -> int:
        """Weight of samples with at least one frame that ``matches``."""
        weight = 0
        for (t, node), w in profile.weight_by_thread_and_stack().items():
            mine = node and (thread is None or t == thread)
            if mine and any(matches(frame) for frame in profile.stack_frames(node)):
                weight += w
        return weight


def counts(profile: Profile, thread: int | None = None) -> Counts:
    """Totals and self weights per path, from the profile's samples."""
    result = Counts()
    for (t, node), weight in profile.weight_by_thread_and_stack().items():
        if node == profile.EMPTY_STACK or (thread is not None and t != thread):
            continue
        chain = tuple(profile.frame_qualname(f) for f in reversed(list(profile.stack_frames(node))))
        for depth in range(1, len(chain) + 1):
            result.total[chain[:depth]] += weight
        result.self[chain] += weight
        result.leaf[chain[-1], profile.frame_filename(next(profile.stack_frames(node)))] += weight
        result.all += weight
    return result


@dataclass
class Rendered:
    """A real profile and its flamegraph file."""

    profile: Profile
    html: Path
    counts: Counts


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """flame_app.py sampled for 1.5 s at 1 kHz, rendered by the ``flamegraph`` renderer."""
    profile = sample(FLAME_APP, "1.5")
    html = tmp_path_factory.mktemp("flamegraph") / "app.html"
    renderers.get("flamegraph")().render(profile, html)
    result = Rendered(profile, html, counts(profile))
    assert result.counts.total[RENDER] > 100, "the target did not run as expected"
    return result


# ---- page helpers ------------------------------------------------------------------


def number(text: str) -> int:
    """The leading integer of a text like ``1,234 samples · 1.2 s``."""
    match = re.match(r"\s*([\d,]+)", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def percentage(text: str) -> float:
    match = re.match(r"\s*([\d.]+)%", text)
    assert match, text
    return float(match.group(1))


def assert_percentage(shown: str, part: int, whole: int) -> None:
    assert abs(percentage(shown) - 100 * part / whole) <= 0.006, (shown, part, whole)


def header(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            "() => [...document.querySelectorAll('#summary dd')]"
            ".map(e => [e.dataset.field, e.firstChild.textContent])"
        )
    )


# ---- tests -------------------------------------------------------------------------------


def test_root_spans_the_full_width_and_header_shows_the_session(
    page: Any, app: Rendered, artifacts: Path
) -> None:
    open_page(page, app.html)
    root = page.evaluate("() => __flamegraph.rect(0)")
    canvas = page.evaluate(
        "() => document.getElementById('flame').getBoundingClientRect().toJSON()"
    )
    chart_width = page.evaluate("() => document.getElementById('chart').clientWidth")
    assert root["x"] == canvas["x"]
    assert root["width"] == canvas["width"] == chart_width
    meta = app.profile.metadata
    shown = header(page)
    assert shown["samples"] == f"{app.profile.total_weight:,}"
    assert shown["failed"] == f"{meta.failed:,}"
    assert shown["mode"] == meta.mode
    assert shown["python"] == meta.python_version
    assert shown["pid"] == str(meta.pid)
    assert shown["rate"] == "1,000 Hz"
    assert shown["threads"] == "3"
    assert page.text_content("#command").endswith("flame_app.py 1.5")
    legend = page.eval_on_selector_all("#legend .name", "els => els.map(e => e.textContent)")
    assert "flame_app.py" in legend
    assert "threading (stdlib)" in legend
    page.screenshot(path=artifacts / "flamegraph-overview.png")


def test_click_zooms_and_tooltip_shows_percentage_and_relative_percentage(
    page: Any, app: Rendered, artifacts: Path
) -> None:
    open_page(page, app.html)
    render = node_at(page, RENDER)
    page.mouse.click(*centre(page, render))
    assert page.evaluate("() => __flamegraph.state().zoom") == render
    crumbs = page.eval_on_selector_all("#crumbs button", "els => els.map(e => e.textContent)")
    assert crumbs == ["all", *RENDER]
    assert page.evaluate("n => __flamegraph.rect(n).width", render) == page.evaluate(
        "() => __flamegraph.canvasWidth()"
    )

    tip = hover(page, node_at(page, LAYOUT))
    total = app.counts.total[LAYOUT]
    assert tip["name"] == "layout"
    assert tip["location"].startswith(f"{FLAME_APP}:")
    assert number(tip["total"]) == total
    assert_percentage(tip["percentage"], total, app.counts.all)
    assert_percentage(tip["relative"], total, app.counts.total[RENDER])
    assert tip["relative"].endswith("of render")
    page.screenshot(path=artifacts / "flamegraph-zoomed.png")

    # The way back: a breadcrumb, then the reset button.
    page.locator("#crumbs button").nth(2).click()
    assert page.evaluate("() => __flamegraph.path(__flamegraph.state().zoom)") == [
        "<module>",
        "main",
    ]
    page.click("#reset")
    assert page.evaluate("() => __flamegraph.state().zoom") == 0
    tip = hover(page, node_at(page, LAYOUT))
    assert "relative" not in tip


def test_self_time_shown_equals_the_self_samples(page: Any, app: Rendered) -> None:
    open_page(page, app.html)
    seconds = app.profile.seconds_per_sample
    for path in (PARSE, (*LAYOUT, "spin"), RENDER):
        tip = hover(page, node_at(page, path))
        own = app.counts.self[path]
        assert number(tip["self"]) == own, path
        assert number(tip["total"]) == app.counts.total[path], path
        if own:
            shown = tip["self"].split("·")[1].strip()
            value, unit = shown.split()
            scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit]
            assert float(value) * scale == pytest.approx(own * seconds, rel=0.01), (path, shown)
    assert app.counts.self[PARSE] > 0  # parse runs its own lines, not only callees


def test_lines_of_one_function_merge_into_one_frame(page: Any, app: Rendered) -> None:
    open_page(page, app.html)
    assert len(page.evaluate("() => __flamegraph.nodes('parse')")) == 1
    tip = hover(page, node_at(page, PARSE))
    lines = re.findall(r"(\d+) \(", tip["lines"])
    source = FLAME_APP.read_text().splitlines()
    hot = {str(n) for n, text in enumerate(source, 1) if text.endswith("hot line")}
    assert hot <= set(lines), (tip["lines"], hot)


@pytest.mark.parametrize(
    ("query", "kind"),
    [("walk", "function"), ("flame_app.py", "file"), ("threading", "module")],
)
def test_search_highlights_matches_and_reports_their_share(
    page: Any, app: Rendered, artifacts: Path, query: str, kind: str
) -> None:
    open_page(page, app.html)
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search"
    page.keyboard.type(query)
    page.keyboard.press("Enter")
    profile = app.profile

    def matches(frame: int) -> bool:
        filename = profile.frame_filename(frame)
        module = PurePosixPath(filename).stem
        return any(query in text for text in (profile.frame_qualname(frame), filename, module))

    expected = app.counts.share(profile, matches, None)
    assert expected > 0
    result = page.text_content("#search-result")
    assert_percentage(result, expected, app.counts.all)
    assert f"({expected:,} samples)" in result

    pixels = page.evaluate(
        """() => {
        const ctx = document.getElementById('flame').getContext('2d');
        return __flamegraph.drawn().filter(r => r.width >= 3 && r.node !== 0).map(r => {
            const p = ctx.getImageData(Math.floor(r.x) + 1, r.y + 1, 1, 1).data;
            return [r.name, r.file, r.module, [p[0], p[1], p[2]]];
        });
    }"""
    )
    assert len(pixels) > 10
    for name, file, module, rgb in pixels:
        hit = any(query in text for text in (name, file, module))
        assert (tuple(rgb) != DIM) == hit, (name, file, rgb)
    if kind == "function":
        page.screenshot(path=artifacts / "flamegraph-search.png")
    page.keyboard.press("Escape")
    assert page.text_content("#search-result") == ""


def test_inverted_view_roots_are_self_time_and_sum_to_100_percent(
    page: Any, app: Rendered, artifacts: Path
) -> None:
    open_page(page, app.html)
    page.keyboard.press("i")
    assert page.evaluate("() => __flamegraph.state().view") == "inverted"
    roots = page.evaluate("() => __flamegraph.children(0)")
    shown: dict[tuple[str, str], int] = {}
    for root in roots:
        frame = page.evaluate("n => __flamegraph.frame(n)", root)
        key = (frame["name"], frame["file"])
        assert key not in shown
        shown[key] = page.evaluate("n => __flamegraph.total(n)", root)
    assert shown == dict(app.counts.leaf)
    assert sum(shown.values()) == app.counts.all == page.evaluate("() => __flamegraph.total(0)")
    root = page.evaluate("() => __flamegraph.rect(0)")
    assert root["width"] == page.evaluate("() => __flamegraph.canvasWidth()")
    percentages = 0.0
    big = 0.01 * app.counts.all
    for node, (key, weight) in zip(roots, shown.items(), strict=True):
        if weight >= big:
            tip = hover(page, node)
            assert tip["name"] == key[0]
            assert number(tip["total"]) == app.counts.leaf[key]
            assert_percentage(tip["percentage"], app.counts.leaf[key], app.counts.all)
            percentages += percentage(tip["percentage"])
    rest = sum(w for w in app.counts.leaf.values() if w < big)
    assert percentages + 100 * rest / app.counts.all == pytest.approx(100, abs=0.05)
    hover(page, roots[0])
    page.screenshot(path=artifacts / "flamegraph-inverted.png")


def test_thread_filter_shows_that_threads_totals(page: Any, app: Rendered, artifacts: Path) -> None:
    profile = app.profile
    names = [profile.thread_name(t) for t in range(len(profile.threads))]
    worker = names.index("worker-1") if "worker-1" in names else 1
    mine = counts(profile, worker)
    open_page(page, app.html)
    options = page.eval_on_selector_all("#thread option", "els => els.map(e => e.value)")
    assert sorted(options) == sorted(["-1", *map(str, range(len(profile.threads)))])
    page.select_option("#thread", str(worker))
    assert page.evaluate("() => __flamegraph.state().thread") == worker
    assert page.evaluate("() => __flamegraph.total(0)") == mine.all
    assert page.evaluate("() => __flamegraph.nodes('run_jobs')") == []
    root = hover(page, 0)
    assert number(root["total"]) == mine.all
    crunch = next(path for path in mine.total if path[-1] == "crunch")
    tip = hover(page, node_at(page, crunch))
    assert number(tip["total"]) == mine.total[crunch]
    assert_percentage(tip["percentage"], mine.total[crunch], mine.all)
    page.screenshot(path=artifacts / "flamegraph-thread.png")
    # Back to every thread, in the inverted view too.
    page.keyboard.press("i")
    assert page.evaluate("() => __flamegraph.total(0)") == mine.all
    page.select_option("#thread", "-1")
    assert page.evaluate("() => __flamegraph.total(0)") == app.counts.all


def test_keyboard_shortcuts(page: Any, app: Rendered, artifacts: Path) -> None:
    open_page(page, app.html)
    page.mouse.click(*centre(page, node_at(page, LAYOUT)))
    page.mouse.move(0, 0)
    page.keyboard.press("u")
    assert page.evaluate("() => __flamegraph.path(__flamegraph.state().zoom)") == list(RENDER)
    page.keyboard.press("r")
    assert page.evaluate("() => __flamegraph.state().zoom") == 0
    page.keyboard.press("i")
    assert page.evaluate("() => __flamegraph.state().view") == "inverted"
    page.keyboard.press("f")
    assert page.evaluate("() => __flamegraph.state().view") == "flame"
    page.keyboard.press("t")
    assert page.evaluate("() => document.activeElement.id") == "thread"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.screenshot(path=artifacts / "flamegraph-help.png")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")


def test_replay_writes_a_flamegraph_named_after_the_pid(
    page: Any, app: Rendered, tmp_path: Path
) -> None:
    saved = app.profile.save(tmp_path / "app.bin")
    done = subprocess.run(
        [sys.executable, "-m", "pysampler", "replay", str(saved), "--flamegraph"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = tmp_path / f"flamegraph.{app.profile.metadata.pid}.html"
    assert written.exists(), done.stderr
    open_page(page, written)
    assert page.evaluate("() => __flamegraph.total(0)") == app.counts.all


def test_a_profile_without_samples_says_so(page: Any, tmp_path: Path) -> None:
    metadata = ProfileMetadata(
        SessionInfo(
            pid=7,
            command_line=("python", "idle.py"),
            python_version="3.12.1",
            config=SamplerConfig(rate=1000, mode="cpu"),
            start_time=0.0,
        )
    )
    html = tmp_path / "empty.html"
    renderers.get("flamegraph")().render(Profile(metadata), html)
    open_page(page, html)
    assert page.is_visible("#empty")
    assert header(page)["samples"] == "0"
