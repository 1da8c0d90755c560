"""StackCollector: builds a :class:`~pysampler.profile.Profile` from batches."""

from __future__ import annotations

from pysampler.collectors._base import SampleBatch, SessionInfo, SessionStats
from pysampler.errors import CollectorError
from pysampler.profile import Profile, ProfileMetadata

__all__ = ["StackCollector"]


class StackCollector:
    """Collects a session into a :class:`~pysampler.profile.Profile`.

    Implements ``Collector[Profile]``.  The profile grows as batches arrive
    and can be read between batches through :attr:`profile` (a live view).
    """

    def __init__(self) -> None:
        """A collector waiting for ``start``."""
        self._profile: Profile | None = None
        self._finished = False

    @property
    def profile(self) -> Profile:
        """The profile collected so far.

        Raises:
            CollectorError: ``start`` has not been called.
        """
        if self._profile is None:
            msg = "StackCollector has no profile before start()"
            raise CollectorError(msg)
        return self._profile

    def start(self, info: SessionInfo, /) -> None:
        """Begin an empty profile for the session."""
        if self._profile is not None:
            msg = "StackCollector.start() called twice; use one collector per session"
            raise CollectorError(msg)
        self._profile = Profile(ProfileMetadata.from_session(info))

    def add(self, batch: SampleBatch, /) -> None:
        """Append a batch's new table entries and samples.

        Raises:
            CollectorError: Called before ``start`` or after ``finish``, or
                the batch's ids do not continue the profile's tables.
        """
        if self._finished:
            msg = "StackCollector.add() after finish()"
            raise CollectorError(msg)
        self.profile.append(batch)

    def finish(self, stats: SessionStats, /) -> Profile:
        """Record how the session ended and return the profile."""
        profile = self.profile
        if not self._finished:
            profile.finish(stats)
            self._finished = True
        return profile
