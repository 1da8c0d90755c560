"""The differential flamegraph in headless Chromium, on real runs of two program versions.

tests/targets/diff_app.py runs as ``baseline`` and as ``current``: in the
current version ``made_slower`` takes twice as long, ``removed`` is no
longer called and ``unchanged`` is unchanged.  Each pair of runs is
compared with :class:`~pysampler.views.diff.DiffProfile`; the page must show
the same: ``made_slower`` red near +100 %, ``unchanged`` neutral,
``removed`` only in the Elided view with its baseline time, widths the
current run's.  Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import finish, hover, node_at, open_page

from pysampler import Profile, Sampler, renderers
from pysampler.renderers.flamegraph._diffpayload import COLOUR_STEPS
from pysampler.views.diff import DiffNode, DiffProfile, Function

TESTS = Path(__file__).resolve().parents[1]
DIFF_APP = TESTS / "targets" / "diff_app.py"
ROUND = ("<module>", "main", "round_of_work")
MADE_SLOWER = (*ROUND, "made_slower")
UNCHANGED = (*ROUND, "unchanged")
REMOVED = (*ROUND, "removed")
# Colours in flamegraph.js
NEUTRAL = (223, 226, 231)
NEW = (201, 131, 216)
GONE = (122, 165, 228)


def record(variant: str, seconds: float, rate: float) -> Sampler:
    """Start diff_app.py ``variant`` under the sampler."""
    return Sampler.run([str(DIFF_APP), variant, str(seconds)], python=sys.executable, rate=rate)


@dataclass
class Pair:
    """Two real runs, their comparison and its page."""

    baseline: Profile
    current: Profile
    diff: DiffProfile
    html: Path

    def node(self, names: tuple[str, ...], *, elided: bool = False) -> DiffNode:
        """The comparison's node for a call path of function names."""
        table = self.diff.elided if elided else self.diff.nodes
        path = tuple(Function(str(DIFF_APP), name) for name in names)
        return table[path]


def compare(baseline: Profile, current: Profile, html: Path) -> Pair:
    diff = DiffProfile.compare(baseline, current)
    renderers.get("diff-flamegraph")().render(diff, html)
    return Pair(baseline, current, diff, html)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Profile]:
    """Four real runs: a baseline and a current at 1 kHz for 2 s each, and a
    baseline at 500 Hz for 2 s with a current at 2 kHz for 3 s."""
    started = {
        "baseline": record("baseline", 2, 1000),
        "current": record("current", 2, 1000),
    }
    profiles = {name: finish(sampler) for name, sampler in started.items()}
    started = {
        "slow-baseline": record("baseline", 2, 500),
        "fast-current": record("current", 3, 2000),
    }
    profiles.update({name: finish(sampler) for name, sampler in started.items()})
    return profiles


@pytest.fixture(scope="module")
def pair(runs: dict[str, Profile], tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """The 1 kHz runs compared."""
    html = tmp_path_factory.mktemp("diff") / "diff.html"
    return compare(runs["baseline"], runs["current"], html)


@pytest.fixture(scope="module")
def saved(runs: dict[str, Profile], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 1 kHz runs saved as --binary files."""
    work = tmp_path_factory.mktemp("saved")
    return {name: runs[name].save(work / f"{name}.bin") for name in ("baseline", "current")}


# ---- page helpers ------------------------------------------------------------------


def pixel(page: Any, node: int) -> tuple[int, int, int]:
    """The colour the canvas drew a frame in (a pixel inside it)."""
    rgb = page.evaluate(
        """node => {
        const r = __flamegraph.drawn().find(r => r.node === node);
        const ratio = window.devicePixelRatio || 1;
        const ctx = document.getElementById('flame').getContext('2d');
        const x = Math.floor((r.x + 2) * ratio), y = Math.floor((r.y + 2) * ratio);
        const p = ctx.getImageData(x, y, 1, 1).data;
        return [p[0], p[1], p[2]];
    }""",
        node,
    )
    return (rgb[0], rgb[1], rgb[2])


def signed_percent(text: str) -> float:
    match = re.search(r"([+-]\d+(?:\.\d+)?)%", text)
    assert match, text
    return float(match.group(1))


def seconds(text: str) -> float:
    """The first duration in a text like ``477.0 ms · 459 samples``."""
    match = re.search(r"(\d+(?:\.\d+)?) (s|ms|µs)\b", text)
    assert match, text
    return float(match.group(1)) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[match.group(2)]


def is_red(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > rgb[1] + 60 and rgb[0] > rgb[2] + 60


def is_blue(rgb: tuple[int, int, int]) -> bool:
    return rgb[2] > rgb[0] + 40 and rgb[2] > rgb[1] + 20


def assert_slower_red_and_unchanged_neutral(page: Any, pair: Pair) -> dict[str, str]:
    slower = node_at(page, MADE_SLOWER)
    expected = pair.node(MADE_SLOWER).change_pct
    assert expected is not None and 60 < expected < 150, expected
    shown = page.evaluate("n => __flamegraph.diff(n)", slower)
    assert shown["percent"] == pytest.approx(expected, abs=0.01)
    assert is_red(pixel(page, slower)), pixel(page, slower)
    steady = node_at(page, UNCHANGED)
    steady_pct = pair.node(UNCHANGED).change_pct
    assert steady_pct is not None and abs(steady_pct) < COLOUR_STEPS[0], steady_pct
    assert pixel(page, steady) == NEUTRAL
    assert page.evaluate("() => __flamegraph.nodes('removed')") == []
    tip = hover(page, slower)
    assert tip["name"] == "made_slower"
    assert 60 < signed_percent(tip["change"]) < 150
    assert signed_percent(tip["change"]) == pytest.approx(expected, abs=0.06)
    assert tip["badge"] == tip["change"].split(" ")[0]
    return tip


# ---- tests -------------------------------------------------------------------------------


def test_slower_function_is_red_near_plus_100_percent_and_unchanged_is_neutral(
    page: Any, pair: Pair, artifacts: Path
) -> None:
    open_page(page, pair.html)
    tip = assert_slower_red_and_unchanged_neutral(page, pair)
    node = pair.node(MADE_SLOWER)
    assert seconds(tip["baseline-total"]) == pytest.approx(node.baseline_total, rel=0.01)
    assert seconds(tip["current-total"]) == pytest.approx(node.current_total, rel=0.01)
    assert seconds(tip["baseline-self"]) == pytest.approx(node.baseline_self, rel=0.01, abs=1e-4)
    assert seconds(tip["current-self"]) == pytest.approx(node.current_self, rel=0.01, abs=1e-4)
    assert signed_percent(tip["change-total"]) == pytest.approx(node.change_pct or 0, abs=0.06)
    assert seconds(tip["change-total"]) == pytest.approx(node.change, rel=0.01)
    assert "new" not in tip["note"].lower()
    # The header names both runs; the legend explains the colours.
    assert page.text_content("#kind") == "differential flamegraph"
    assert page.is_visible("#baseline-summary")
    legend = page.eval_on_selector_all("#legend .name", "els => els.map(e => e.textContent)")
    dash = "\N{EN DASH}"
    assert legend == [
        "-50% or more", f"-30{dash}50%", f"-15{dash}30%", "under ±15%",
        f"+15{dash}30%", f"+30{dash}50%", f"+50{dash}100%", "+100% or more", "new",
    ]  # fmt: skip
    assert not page.is_visible("#thread") and not page.is_visible("#view-inverted")
    page.screenshot(path=artifacts / "diff-flamegraph-overview.png")


def test_widths_are_the_current_runs_time(page: Any, pair: Pair) -> None:
    open_page(page, pair.html)
    width = page.evaluate("() => __flamegraph.canvasWidth()")
    seconds_per_sample = pair.current.seconds_per_sample
    whole = page.evaluate("() => __flamegraph.total(0)") * seconds_per_sample
    for names in (ROUND, MADE_SLOWER, UNCHANGED, (*MADE_SLOWER, "spin")):
        node = node_at(page, names)
        current = pair.node(names).current_total
        assert page.evaluate("n => __flamegraph.total(n)", node) * seconds_per_sample == (
            pytest.approx(current)
        )
        box = page.evaluate("n => __flamegraph.rect(n)", node)
        assert box["width"] == pytest.approx(width * current / whole, abs=1.0), names


def test_elided_view_shows_the_removed_function_with_its_baseline_time(
    page: Any, pair: Pair, artifacts: Path
) -> None:
    removed = pair.node(REMOVED, elided=True)
    assert removed.current_total == 0 and removed.baseline_total > 0
    open_page(page, pair.html)
    toggle = page.locator("#view-elided")
    assert toggle.text_content() == f"Elided ({len(pair.diff.elided)})"
    toggle.click()
    assert page.evaluate("() => __flamegraph.state().view") == "elided"
    assert toggle.get_attribute("aria-pressed") == "true"
    node = node_at(page, REMOVED)
    shown = page.evaluate("n => __flamegraph.diff(n)", node)
    assert shown["gone"] is True
    assert shown["baselineTotal"] == pytest.approx(removed.baseline_total, rel=1e-9)
    assert shown["baselineSelf"] == pytest.approx(removed.baseline_self, abs=1e-9)
    assert pixel(page, node) == GONE
    # Its callers still run: they are drawn, neutral, as wide as what is gone under them.
    caller = node_at(page, ROUND)
    assert page.evaluate("n => __flamegraph.diff(n)", caller)["gone"] is False
    assert page.evaluate("n => __flamegraph.total(n)", caller) == page.evaluate(
        "n => __flamegraph.total(n)", node
    )
    assert page.evaluate("() => __flamegraph.nodes('made_slower')") == []
    tip = hover(page, node)
    assert tip["badge"] == "gone"
    assert seconds(tip["baseline-total"]) == pytest.approx(removed.baseline_total, rel=0.01)
    assert "baseline only" in tip["note"]
    legend = page.eval_on_selector_all("#legend .name", "els => els.map(e => e.textContent)")
    assert legend == ["gone", "still runs (their caller)"]
    page.screenshot(path=artifacts / "diff-flamegraph-elided.png")
    # e toggles back, and the root's tooltip of the structural root works.
    page.mouse.move(0, 0)
    page.keyboard.press("e")
    assert page.evaluate("() => __flamegraph.state().view") == "flame"
    page.keyboard.press("e")
    root = hover(page, 0)
    assert seconds(root["baseline-total"]) == pytest.approx(
        sum(n.baseline_self for n in pair.diff.elided.values()), rel=0.01
    )


def test_swapped_runs_mark_new_frames_and_show_improvements_in_blue(
    page: Any, runs: dict[str, Profile], tmp_path: Path, artifacts: Path
) -> None:
    swapped = compare(runs["current"], runs["baseline"], tmp_path / "swapped.html")
    open_page(page, swapped.html)
    removed = node_at(page, REMOVED)
    assert page.evaluate("n => __flamegraph.diff(n)", removed)["isNew"] is True
    assert pixel(page, removed) == NEW
    tip = hover(page, removed)
    assert tip["badge"] == "new"
    assert tip["change"].startswith("new")
    assert "not in the baseline" in tip["note"] or "does not occur" in tip["note"]
    faster = node_at(page, MADE_SLOWER)
    pct = page.evaluate("n => __flamegraph.diff(n)", faster)["percent"]
    assert -70 < pct < -30
    assert is_blue(pixel(page, faster)), pixel(page, faster)
    # The Elided toggle is there only when some call path is gone.
    assert page.locator("#view-elided").count() == (1 if swapped.diff.elided else 0)
    page.screenshot(path=artifacts / "diff-flamegraph-new.png")


def test_a_gone_root_without_self_time_renders(page: Any, tmp_path: Path) -> None:
    """The elided set's root frames have no baseline self time: a whole thread's
    stack and a subtree under a frame that only calls are gone."""
    sys.path.insert(0, str(TESTS / "unit"))
    from batches import BatchBuilder, session_info, session_stats

    from pysampler.collectors import StackCollector

    main = ("/srv/app/main.py", "<module>", 1, 9)
    run = ("/srv/app/main.py", "run", 10, 12)
    work = ("/srv/app/main.py", "work", 20, 21)
    step = ("/srv/app/main.py", "old_step", 30, 31)  # only calls: no self time
    helper = ("/srv/lib/util.py", "helper", 3, 4)
    worker = ("/srv/app/worker.py", "Worker.loop", 5, 6)  # the whole thread is gone

    def profile(stacks: list[tuple[list[Any], int, int]]) -> Profile:
        builder = BatchBuilder()
        for frames, thread, count in stacks:
            builder.sample(frames, thread=thread, count=count)
        collector = StackCollector()
        collector.start(session_info())
        collector.add(builder.batch())
        return collector.finish(session_stats())

    baseline = profile(
        [([main, run, work], 1, 50), ([main, run, step, helper], 1, 30), ([worker, helper], 2, 20)]
    )
    current = profile([([main, run, work], 1, 60)])
    pair = compare(baseline, current, tmp_path / "structural.html")
    roots = [
        node
        for path, node in pair.diff.elided.items()
        if len(path) == 1 or path[-1].qualname == "old_step"
    ]
    assert len(roots) == 2 and all(node.baseline_self == 0 for node in roots)
    open_page(page, pair.html)
    page.click("#view-elided")
    assert page.evaluate("() => __flamegraph.total(0)") == 50
    for names in (("<module>", "run", "old_step"), ("Worker.loop",)):
        node = node_at(page, names)
        shown = page.evaluate("n => __flamegraph.diff(n)", node)
        assert shown["gone"] is True and shown["baselineSelf"] == 0
        tip = hover(page, node)
        assert tip["baseline-self"].startswith("0 s")
    for names in (("<module>",), ("<module>", "run")):
        tip = hover(page, node_at(page, names))
        assert tip["badge"] == ""
        assert seconds(tip["baseline-total"]) == pytest.approx(30 * pair.diff.scale * 1e-3)
    hover(page, 0)
    page.click("#crumbs button")  # the root crumb, zoom reset, nothing breaks
    page.click("#view-flame")
    assert page.evaluate("() => __flamegraph.nodes('work')") != []


def test_runs_of_different_rate_and_duration_still_compare(
    page: Any, runs: dict[str, Profile], tmp_path: Path, artifacts: Path
) -> None:
    baseline, current = runs["slow-baseline"], runs["fast-current"]
    assert baseline.metadata.interval_ns == 2_000_000 and current.metadata.interval_ns == 500_000
    pair = compare(baseline, current, tmp_path / "rates.html")
    open_page(page, pair.html)
    assert_slower_red_and_unchanged_neutral(page, pair)
    rates = page.eval_on_selector_all(
        "#summary dd[data-field=rate], #baseline-summary dd[data-field=rate]",
        "els => els.map(e => e.firstChild.textContent)",
    )
    assert rates == ["2,000 Hz", "500 Hz"]
    durations = page.eval_on_selector_all(
        "#summary dd[data-field=duration], #baseline-summary dd[data-field=duration]",
        "els => els.map(e => e.textContent)",
    )
    assert seconds(durations[0]) > seconds(durations[1])
    scale = page.text_content("#baseline-summary dd[data-field=scale]")
    assert scale == f"\N{MULTIPLICATION SIGN}{pair.diff.scale:.3f}"
    page.screenshot(path=artifacts / "diff-flamegraph-rates.png")


# ---- the command line --------------------------------------------------------------------


def pysampler(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pysampler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_diff_command_writes_the_page(
    page: Any, pair: Pair, saved: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.html"
    result = pysampler("diff", str(saved["baseline"]), str(saved["current"]), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    open_page(page, out)
    assert_slower_red_and_unchanged_neutral(page, pair)
    assert page.is_visible("#view-elided")


def test_replay_with_a_baseline_writes_the_page(
    page: Any, pair: Pair, saved: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "replayed.html"
    result = pysampler(
        "replay", str(saved["current"]), "--diff-flamegraph", str(saved["baseline"]), "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    open_page(page, out)
    assert_slower_red_and_unchanged_neutral(page, pair)
    # without -o, the file is named after the current run's pid
    result = pysampler(
        "replay", str(saved["current"]), "--diff-flamegraph", str(saved["baseline"]), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / f"diff_flamegraph.{pair.current.metadata.pid}.html").exists()


def test_run_with_a_baseline_writes_the_page(
    page: Any, saved: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run.html"
    result = pysampler(
        "run", "--diff-flamegraph", str(saved["baseline"]), "-o", str(out),
        str(DIFF_APP), "current", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    open_page(page, out)
    slower = node_at(page, MADE_SLOWER)
    shown = page.evaluate("n => __flamegraph.diff(n)", slower)
    assert 40 < shown["percent"] < 200, (shown, result.stderr)


def test_a_bad_baseline_fails_before_sampling(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a profile")
    marker = tmp_path / "ran"
    script = tmp_path / "touch.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    for baseline in (bad, tmp_path / "missing.bin"):
        result = pysampler("run", "--diff-flamegraph", str(baseline), str(script))
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pysampler: error:"), result.stderr
        assert baseline.name in lines[0] or "profile" in lines[0]
    assert not marker.exists()
