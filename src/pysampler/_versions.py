"""Which CPython versions pysampler reads, and how: the README's table."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from pysampler._native import lib

__all__ = ["VersionSupport", "supported", "table"]

_LINE_TABLES = {8: "`co_lnotab`", 9: "`co_lnotab`", 10: "PEP 626 `co_linetable`"}
HEADER_TABLE = 1
DEBUG_OFFSETS = 2


@attrs.frozen
class VersionSupport:
    """How one minor version is read."""

    minor: int
    how: int

    @property
    def layout(self) -> str:
        """Where its struct offsets come from."""
        if self.how & DEBUG_OFFSETS and self.how & HEADER_TABLE:
            return "`_Py_DebugOffsets` in the target, over a table from the headers"
        if self.how & DEBUG_OFFSETS:
            return "`_Py_DebugOffsets` in the target only"
        return "a table generated from the installed headers"

    @property
    def line_table(self) -> str:
        """The line-number table format it uses."""
        return _LINE_TABLES.get(self.minor, "location table, with columns")

    @property
    def thread_ids(self) -> str:
        """Where a thread's kernel id comes from."""
        return "glibc's `struct pthread`" if self.minor < 11 else "`native_thread_id`"


def supported() -> list[VersionSupport]:
    """Every CPython 3 minor version the C core can read."""
    found = []
    for minor in range(0, 30):
        how = int(lib.ps_version_support(3, minor))
        if how:
            found.append(VersionSupport(minor, how))
    return found


def table(tested: Iterable[str] = ()) -> str:
    """The README's version table; ``tested`` are the versions the tests ran on."""
    tested_by_minor: dict[int, list[str]] = {}
    for label in tested:
        tested_by_minor.setdefault(int(label.split(".")[1]), []).append(label)
    rows = [
        "| CPython | Struct offsets from | Line table | Thread id (TID) | Tested here |",
        "|---|---|---|---|---|",
    ]
    for version in supported():
        seen = ", ".join(sorted(tested_by_minor.get(version.minor, []))) or "—"
        rows.append(
            f"| 3.{version.minor} | {version.layout} | {version.line_table} | "
            f"{version.thread_ids} | {seen} |"
        )
    return "\n".join(rows) + "\n"
