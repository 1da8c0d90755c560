"""Fixtures: real target processes on every installed CPython."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from known_target import KnownTarget, start
from pythons import INSTALLED, Python


@pytest.fixture(scope="module", params=INSTALLED, ids=[p.id for p in INSTALLED])
def python(request: pytest.FixtureRequest) -> Python:
    """Each installed, supported CPython in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def known_target(python: Python, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownTarget]:
    """tests/targets/known_stacks.py running, parked, under ``python``."""
    target = start(python.path, tmp_path_factory.mktemp("known"))
    try:
        yield target
    finally:
        target.stop()
