"""Hostile names: a flamegraph of a target whose names are markup shows them as text.

tests/targets/hostile_names.py runs from a file named
``<img src=x onerror=alert(1)>.py``, in functions named like markup, with a
thread named ``<script>alert(2)</script>``.  Its flamegraph is opened, every
view is exercised, and no dialog may open and no element may be injected.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import finish, hover, node_at, open_page

from pysampler import Profile, Sampler, renderers
from pysampler.views.diff import DiffProfile

TEMPLATE = Path(__file__).resolve().parents[1] / "targets" / "hostile_names.py"
DIFF_APP = TEMPLATE.parent / "diff_app.py"
HOSTILE = "<img src=x onerror=alert(1)>"
CLOSER = "</script><svg onload=alert(3)>&amp;"
THREAD = "<script>alert(2)</script>"
ELEMENTS = """() => ({
    scripts: document.scripts.length,
    injected: document.querySelectorAll('img, svg, iframe, object, embed, video, audio').length,
    body: document.body.innerHTML.length,
})"""


@pytest.fixture(scope="module")
def hostile_profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    """hostile_names.py sampled, run from a file named like markup."""
    work = tmp_path_factory.mktemp("hostile")
    script = work / f"{HOSTILE}.py"
    shutil.copyfile(TEMPLATE, script)
    sampler = Sampler.run([str(script), "0.8"], python=sys.executable, rate=1000, all_threads=True)
    profile = finish(sampler)
    names = {profile.frame_qualname(frame) for frame in range(len(profile.frames))}
    assert {HOSTILE, CLOSER} <= names
    return profile


@pytest.fixture(scope="module")
def hostile_html(hostile_profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flamegraph of hostile_names.py."""
    html = tmp_path_factory.mktemp("hostile-page") / "hostile.html"
    renderers.get("flamegraph")().render(hostile_profile, html)
    return html


def test_the_file_holds_no_name_as_markup(hostile_html: Path) -> None:
    text = hostile_html.read_text(encoding="utf-8")
    for name in (HOSTILE, CLOSER, THREAD):
        assert name not in text
    assert text.count("</script>") == 2  # the data element's and the script's own


def test_hostile_names_show_as_text_and_nothing_runs(
    page: Any, hostile_html: Path, artifacts: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(hostile_html.as_uri())
    page.wait_for_function("window.__flamegraphTimings && window.__flamegraphTimings.ready")
    before = page.evaluate(ELEMENTS)
    assert before["scripts"] == 2
    assert before["injected"] == 0

    # The tooltip names the function and its file, character for character.
    node = page.evaluate("name => __flamegraph.nodes(name)[0]", HOSTILE)
    box = page.evaluate("n => __flamegraph.rect(n)", node)
    page.mouse.move(box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2)
    page.wait_for_selector("#tooltip:not([hidden])")
    assert page.text_content('#tooltip [data-field="name"]') == HOSTILE
    assert f"/{HOSTILE}.py:" in page.text_content('#tooltip [data-field="location"]')
    page.screenshot(path=artifacts / "flamegraph-hostile.png")

    # Zoom into it (breadcrumbs), search for it, list the threads, invert.
    page.mouse.click(box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2)
    crumbs = page.eval_on_selector_all("#crumbs button", "els => els.map(e => e.textContent)")
    assert crumbs[-1] == HOSTILE
    page.fill("#search", "<img")
    page.keyboard.press("Enter")
    assert "of samples" in page.text_content("#search-result")
    options = page.eval_on_selector_all("#thread option", "els => els.map(e => e.textContent)")
    assert any(option.startswith(THREAD) for option in options)
    thread = next(i for i, text in enumerate(options) if text.startswith(THREAD))
    page.select_option("#thread", index=thread)
    page.click("#view-inverted")
    closer = page.evaluate("name => __flamegraph.nodes(name)[0]", CLOSER)
    box = page.evaluate("n => __flamegraph.rect(n)", closer)
    page.mouse.move(box["x"] + min(box["width"] / 2, 40), box["y"] + box["height"] / 2)
    assert page.text_content('#tooltip [data-field="name"]') == CLOSER
    legend = page.eval_on_selector_all("#legend .name", "els => els.map(e => e.textContent)")
    assert f"{HOSTILE}.py" in legend
    assert page.title().endswith("· pysampler")

    after = page.evaluate(ELEMENTS)
    assert after["scripts"] == 2
    assert after["injected"] == 0
    assert dialogs == []


def test_a_differential_page_shows_hostile_names_as_text_in_both_views(
    page: Any, hostile_profile: Profile, tmp_path: Path
) -> None:
    """The hostile run as the baseline of another program: every hostile call path
    is gone (the Elided view), every frame of the current run is new."""
    other = finish(Sampler.run([str(DIFF_APP), "current", "0.5"], python=sys.executable))
    html = tmp_path / "diff.html"
    renderers.get("diff-flamegraph")().render(DiffProfile.compare(hostile_profile, other), html)
    text = html.read_text(encoding="utf-8")
    for name in (HOSTILE, CLOSER, THREAD):
        assert name not in text
    assert text.count("</script>") == 2
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, html)
    assert hover(page, node_at(page, ("<module>", "main")))["badge"] == "new"
    page.click("#view-elided")
    node = page.evaluate("name => __flamegraph.nodes(name)[0]", HOSTILE)
    tip = hover(page, node)
    assert tip["name"] == HOSTILE
    assert tip["badge"] == "gone"
    assert f"/{HOSTILE}.py:" in tip["location"]
    page.fill("#search", CLOSER)
    page.keyboard.press("Enter")
    assert "of samples" in page.text_content("#search-result")
    assert page.evaluate(ELEMENTS)["injected"] == 0
    assert dialogs == []
