"""Browser-test fixtures: Debian's chromium driven by Playwright, and screenshots.

The browser is started once per session from ``PYSAMPLER_CHROMIUM``
(default ``/usr/bin/chromium``; Playwright's own browser download is never
used).  Each test gets a fresh page; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("PYSAMPLER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian chromium, for the whole session."""
    # Required, never skipped: .ci/run installs Debian's chromium, and the
    # test extra brings Playwright.
    assert Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM}: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own context) at 1400x900; page errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/, where tests save screenshots (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
