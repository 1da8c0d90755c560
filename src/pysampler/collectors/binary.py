"""BinaryCollector: streams a session to a pysampler profile file as it goes."""

from __future__ import annotations

import os
from pathlib import Path

from pysampler.errors import CollectorError
from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import ProfileDelta, ProfileMetadata
from pysampler.profile._format import STREAM_LEVEL, ProfileWriter

__all__ = ["BinaryCollector"]


class BinaryCollector:
    """Writes each delta to a profile file the moment it arrives.

    Implements ``Collector[Path]``: ``finish`` returns the file's path.
    Every delta is one checksummed chunk, flushed at once, so if the
    profiler dies mid-session (even by SIGKILL) the file still loads, up to
    its last delta, with :meth:`pysampler.profile.Profile.load`.
    """

    def __init__(self, path: str | os.PathLike[str], *, level: int | None = None) -> None:
        """Collect into ``path`` (created on ``start``).

        ``level`` is the zlib level of each chunk: 0 for none, None for a
        fast default.
        """
        self.path = Path(path)
        self._level = STREAM_LEVEL if level is None else level
        self._writer: ProfileWriter | None = None

    def start(self, info: SessionInfo, /) -> None:
        """Create the file and write the session information."""
        if self._writer is not None:
            msg = "BinaryCollector.start() called twice; use one collector per session"
            raise CollectorError(msg)
        self._writer = ProfileWriter.create(self.path, level=self._level)
        self._writer.begin(ProfileMetadata(info))

    def add(self, delta: ProfileDelta, /) -> None:
        """Write the delta as one chunk and flush it."""
        self._require_writer().write_delta(delta)

    def finish(self, stats: SessionStats, /) -> Path:
        """Write how the session ended, close the file and return its path."""
        writer = self._require_writer()
        writer.end(stats)
        writer.close()
        return self.path

    def close(self) -> None:
        """Close the file without finishing it (it then loads as truncated)."""
        if self._writer is not None:
            self._writer.close()

    def _require_writer(self) -> ProfileWriter:
        if self._writer is None:
            msg = "BinaryCollector needs start() before deltas"
            raise CollectorError(msg)
        return self._writer
