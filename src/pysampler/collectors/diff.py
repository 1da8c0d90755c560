"""DiffCollector: a sampling session compared against a baseline as it ends."""

from __future__ import annotations

from pysampler.collectors.stack import StackCollector
from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import Profile, ProfileDelta
from pysampler.views.diff import DiffProfile

__all__ = ["DiffCollector"]


class DiffCollector:
    """Collects a profile like :class:`StackCollector` and compares it with ``baseline``.

    Implements ``Collector[DiffProfile]``.
    """

    def __init__(self, baseline: Profile) -> None:
        """Compare against ``baseline`` (for instance ``Profile.load(path)``)."""
        self.baseline = baseline
        self._stack = StackCollector()

    def start(self, info: SessionInfo, /) -> None:
        """Sampling is about to start."""
        self._stack.start(info)

    def add(self, delta: ProfileDelta, /) -> None:
        """Take one delta."""
        self._stack.add(delta)

    def finish(self, stats: SessionStats, /) -> DiffProfile:
        """The session's profile against the baseline."""
        return DiffProfile.compare(self.baseline, self._stack.finish(stats))
