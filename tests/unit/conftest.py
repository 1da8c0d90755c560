"""Unit-test fixtures: sessions built from batches made here (no target process)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from batches import BatchBuilder, known_batches, session_info, session_stats

from pysampler.collectors import StackCollector
from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import Profile, ProfileDelta


@pytest.fixture
def builder() -> BatchBuilder:
    """A fresh interner handing out batches."""
    return BatchBuilder()


@pytest.fixture
def info() -> SessionInfo:
    """Session information for a 1 kHz wall-clock session."""
    return session_info()


@pytest.fixture
def stats() -> SessionStats:
    """How a session of a hundred instants ended."""
    return session_stats()


@pytest.fixture
def batches() -> list[ProfileDelta]:
    """The three batches of the known session (see batches.known_batches)."""
    return known_batches()


@pytest.fixture
def profile(batches: list[ProfileDelta]) -> Profile:
    """The known session collected by StackCollector."""
    collector = StackCollector()
    collector.start(session_info())
    for batch in batches:
        collector.add(batch)
    return collector.finish(session_stats())
