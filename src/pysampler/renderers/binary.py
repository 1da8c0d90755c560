"""Binary output: the whole profile in pysampler's own compact format.

The file loads back with :meth:`pysampler.profile.Profile.load` (``pysampler
replay FILE`` renders it in any other format).  The layout is described in
``pysampler.profile._format``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, TextIO

import attrs

from pysampler.errors import OutputError
from pysampler.profile import Profile
from pysampler.profile._format import FILE_LEVEL, write_profile

__all__ = ["BinaryRenderer"]


@attrs.define(kw_only=True)
class BinaryRenderer:
    """The profile in pysampler's binary format, for replaying later."""

    name: ClassVar[str] = "binary"
    description: ClassVar[str] = "pysampler's compact binary profile, to replay into any format"
    default_output: ClassVar[str | None] = "profile.{pid}.bin"
    writes_text: ClassVar[bool] = False

    level: int = FILE_LEVEL
    """zlib level of each chunk, 0 for none."""

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write the whole profile to ``path``."""
        write_profile(profile, path, level=self.level)

    def render_text(self, profile: Profile, stream: TextIO, /) -> None:
        """Not text: always raises.

        Raises:
            OutputError: Always; name a file instead.
        """
        msg = "binary output is not text: name a file to write it to"
        raise OutputError(msg)
