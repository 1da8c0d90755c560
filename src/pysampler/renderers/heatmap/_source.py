"""Source files as they are when the heatmap is written.

Source is read at render time, so a file may have changed since it was
sampled (its modification time is after sampling started), may be gone,
or may never have existed on disk (``<frozen importlib._bootstrap>``,
``<string>``): :class:`SourceFile` says which.
"""

from __future__ import annotations

import enum
import io
import os
import stat
import tokenize
from pathlib import Path

import attrs

__all__ = ["SourceFile", "SourceStatus", "char_column", "read_source"]


class SourceStatus(enum.Enum):
    """What became of a sampled file by the time the heatmap is written."""

    OK = "ok"
    """Read, and not modified since sampling started."""
    CHANGED = "changed"
    """Read, but modified after sampling started: lines may not match."""
    MISSING = "missing"
    """No longer exists."""
    UNREADABLE = "unreadable"
    """Exists but cannot be read (permissions, not a regular file, ...)."""
    NO_SOURCE = "no-source"
    """Code that never had a file (frozen modules, ``exec`` strings)."""

    @property
    def has_text(self) -> bool:
        """Whether the file's lines are known."""
        return self in (SourceStatus.OK, SourceStatus.CHANGED)


@attrs.frozen
class SourceFile:
    """A sampled file's text (when it could be read) and its status."""

    filename: str
    status: SourceStatus
    lines: tuple[str, ...] = ()
    """The lines, without line endings; line N is ``lines[N - 1]``."""
    mtime: float | None = None
    """Modification time, seconds since the epoch, when the file exists."""
    error: str | None = None
    """Why the file could not be read, for :attr:`SourceStatus.UNREADABLE`."""

    def line(self, lineno: int) -> str | None:
        """The text of a line; None beyond the file's end or when unknown."""
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1]
        return None


def _is_pseudo(filename: str) -> bool:
    return not filename or (filename.startswith("<") and filename.endswith(">"))


def _decode(data: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def _split_lines(text: str) -> tuple[str, ...]:
    # Only the line endings Python's tokenizer counts (not \f, \v, \u2028, ...).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


def read_source(filename: str, sampled_since: float) -> SourceFile:
    """Read a sampled file now, and say whether it changed after ``sampled_since``.

    Args:
        filename: The file name the code objects carry.
        sampled_since: When sampling started, in seconds since the epoch.
    """
    if _is_pseudo(filename):
        return SourceFile(filename, SourceStatus.NO_SOURCE)
    path = Path(filename)
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read
            return SourceFile(filename, SourceStatus.UNREADABLE, error="not a regular file")
        with path.open("rb") as stream:
            mtime = os.fstat(stream.fileno()).st_mtime
            data = stream.read()
    except FileNotFoundError:
        return SourceFile(filename, SourceStatus.MISSING)
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        reason = getattr(error, "strerror", None) or str(error)
        return SourceFile(filename, SourceStatus.UNREADABLE, error=reason)
    status = SourceStatus.CHANGED if mtime > sampled_since else SourceStatus.OK
    return SourceFile(filename, status, _split_lines(_decode(data)), mtime=mtime)


def char_column(line: str, byte_offset: int) -> int:
    """The character index in ``line`` of a UTF-8 byte offset (CPython's columns)."""
    if byte_offset <= 0:
        return 0
    return len(line.encode("utf-8", "surrogatepass")[:byte_offset].decode("utf-8", "ignore"))
