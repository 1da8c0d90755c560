"""Binary output: the whole profile in pysampler's own compact format.

The file loads back with :meth:`pysampler.profile.Profile.load` (``pysampler
replay FILE`` renders it in any other format).  The layout is described in
``pysampler.profile._format``.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from pysampler.collectors import BinaryCollector, Collector
from pysampler.profile import Profile
from pysampler.profile._format import FILE_LEVEL, write_profile
from pysampler.renderers import Option, RendererBase

__all__ = ["BinaryRenderer"]


@attrs.define(kw_only=True)
class BinaryRenderer(RendererBase):
    """The profile in pysampler's binary format, for replaying later.

    Named with ``-o``, the file is written as sampling goes (a checksummed
    chunk per batch), so a profiler that dies still leaves it readable.
    """

    name = "binary"
    description = "pysampler's own compact profile file, for replay (written as sampling goes)"
    default_output = "profile.{pid}.bin"
    options = (
        Option(
            name="level",
            help="zlib level of each chunk, 0 for none",
            parse=int,
            default=FILE_LEVEL,
            metavar="0-9",
        ),
    )

    level: int = FILE_LEVEL
    """zlib level of each chunk, 0 for none."""

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write the whole profile to ``path``."""
        write_profile(profile, path, level=self.level)

    def stream_collector(self, path: Path, /) -> Collector[object]:
        """A collector writing ``path`` chunk by chunk while sampling runs."""
        return BinaryCollector(path)
