"""Print the README's table of supported CPython versions, or check it.

The table comes from the C core (which versions it has layouts for) and from
the interpreters the tests run targets on here.  `--check README.md` exits
1 when the README's table differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pythons import Python, debian_unstable_root, installed

from pysampler._versions import table

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
