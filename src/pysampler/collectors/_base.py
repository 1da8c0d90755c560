"""The collector protocol: what receives a sampling session as it goes."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import ProfileDelta

__all__ = ["Collector"]

P_co = TypeVar("P_co", covariant=True)


class Collector(Protocol[P_co]):
    """Receives a sampling session delta by delta and builds a result.

    Each :class:`~pysampler.profile.ProfileDelta` holds the table rows and
    samples added since the previous one; ids are global to the session
    and only grow.
    """

    def start(self, info: SessionInfo, /) -> None:
        """Sampling is about to start."""

    def add(self, delta: ProfileDelta, /) -> None:
        """Take the new rows and samples of one delta."""

    def finish(self, stats: SessionStats, /) -> P_co:
        """Sampling ended: return the result."""
