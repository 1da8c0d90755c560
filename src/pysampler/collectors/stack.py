"""StackCollector: builds a :class:`~pysampler.profile.Profile` from deltas."""

from __future__ import annotations

import attrs

from pysampler.errors import CollectorError
from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import Profile, ProfileDelta, ProfileMetadata, SampleTable

__all__ = ["StackCollector"]


class StackCollector:
    """Collects a session into a :class:`~pysampler.profile.Profile`.

    Implements ``Collector[Profile]``.  The profile grows as deltas arrive
    and can be read between them through :attr:`profile` (a live view).
    With ``keep_samples=False`` the profile keeps its tables of threads,
    frames and stacks but no samples, so memory does not grow with the
    length of the session (for sessions streamed to a file); the samples
    are only counted, in :attr:`samples_seen`.
    """

    def __init__(self, *, keep_samples: bool = True) -> None:
        """A collector waiting for ``start``."""
        self._profile: Profile | None = None
        self._finished = False
        self.keep_samples = keep_samples
        self.samples_seen = 0

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
        self._profile = Profile(ProfileMetadata(info))

    def add(self, delta: ProfileDelta, /) -> None:
        """Append a delta's new table rows and samples.

        Raises:
            CollectorError: Called before ``start`` or after ``finish``, or
                the delta's ids do not continue the profile's tables.
        """
        if self._finished:
            msg = "StackCollector.add() after finish()"
            raise CollectorError(msg)
        self.samples_seen += len(delta.samples)
        if not self.keep_samples:
            delta = attrs.evolve(delta, samples=SampleTable())
        self.profile.extend(delta)

    def finish(self, stats: SessionStats, /) -> Profile:
        """Record how the session ended and return the profile."""
        profile = self.profile
        if not self._finished:
            profile.finish(stats)
            self._finished = True
        return profile
