"""Print the README's table of supported CPython versions, or check it.

The table comes from the C core (which versions it has layouts for) and from
the interpreters the tests run targets on here.  `--check README.md` exits
1 when the README's table differs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import attrs
from pythons import Python, debian_unstable_root, installed

from pysampler._native import lib

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
    for minor in range(lib.PS_MIN_MINOR, lib.PS_MAX_MINOR + 1):
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


BEGIN = "<!-- version-table: begin (tools/version_table.py) -->"
END = "<!-- version-table: end -->"


def label(python: Python) -> str:
    """``3.11.2 (Debian, static)``: the version, and the build when not pyenv's."""
    version = ".".join(map(str, python.version))
    if Path(python.path).is_relative_to(debian_unstable_root()):
        return f"{version} (Debian unstable)"
    if python.id.startswith("debian"):
        return f"{version} (Debian, static)"
    return version


def current() -> str:
    return table(label(python) for python in installed())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", metavar="README", help="compare with the table in README")
    parser.add_argument("--write", metavar="README", help="rewrite the table in README")
    args = parser.parse_args()
    text = current()
    target = args.check or args.write
    if not target:
        sys.stdout.write(text)
        return 0
    readme = Path(target).read_text(encoding="utf-8")
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    if args.write:
        Path(target).write_text(readme[:start] + "\n" + text + readme[end:], encoding="utf-8")
        return 0
    if readme[start:end].strip() != text.strip():
        print(f"{target}: the version table is out of date; run tools/version_table.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
