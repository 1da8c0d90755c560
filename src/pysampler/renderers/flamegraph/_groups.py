"""Where a source file belongs: its module name and its flamegraph colour group.

Frames are coloured by the package or file they come from: an installed
package (``site-packages/requests/...`` is ``requests``), a standard
library module (``json`` for ``.../lib/python3.12/json/decoder.py``), or
otherwise the file itself.  The module name is what a search for a module
matches (``json.decoder``).  Nothing here touches the file system: a
profile may be rendered on another machine.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import attrs

from pysampler.profile import MARKER_FILENAME

__all__ = ["GroupKind", "SourceGroup", "classify", "unique_labels"]

_SITE_DIRS = frozenset({"site-packages", "dist-packages"})
_STDLIB_DIR = re.compile(r"python\d+(\.\d+)?t?")
_FROZEN = re.compile(r"<frozen ([\w.]+)>")


class GroupKind(enum.IntEnum):
    """What a colour group stands for (the page styles each kind)."""

    FILE = 0
    PACKAGE = 1
    STDLIB = 2
    MARKER = 3


@attrs.frozen
class SourceGroup:
    """A source file's module and colour group."""

    module: str
    """The dotted module name, or the file's stem when it is not in a package."""
    key: str
    """Identifies the group: files of one package share it."""
    label: str
    """The group's name in the legend."""
    kind: GroupKind


def _module(parts: Iterable[str]) -> str:
    names = list(parts)
    if names:
        names[-1] = names[-1].split(".", 1)[0]
        if names[-1] == "__init__" and len(names) > 1:
            names.pop()
    return ".".join(names)


def classify(filename: str) -> SourceGroup:
    """The module and colour group of a source file name as a profile records it."""
    if filename == MARKER_FILENAME:
        return SourceGroup("", MARKER_FILENAME, "<native>, <GC>", GroupKind.MARKER)
    frozen = _FROZEN.fullmatch(filename)
    if frozen:
        module = frozen.group(1)
        top = module.split(".", 1)[0]
        return SourceGroup(module, f"stdlib:{top}", f"{top} (stdlib)", GroupKind.STDLIB)
    parts = PurePosixPath(filename).parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in _SITE_DIRS:
            inner = parts[index + 1 :]
            top = _module(inner[:1])
            return SourceGroup(_module(inner), f"package:{top}", top, GroupKind.PACKAGE)
    for index in range(len(parts) - 2, 0, -1):
        if parts[index - 1] == "lib" and _STDLIB_DIR.fullmatch(parts[index]):
            inner = parts[index + 1 :]
            top = _module(inner[:1])
            return SourceGroup(_module(inner), f"stdlib:{top}", f"{top} (stdlib)", GroupKind.STDLIB)
    name = PurePosixPath(filename).name or filename
    return SourceGroup(_module([name]), f"file:{filename}", name, GroupKind.FILE)


def unique_labels(paths: list[str]) -> list[str]:
    """Short names for file paths: the base name, or as many trailing parts as tell them apart."""
    labels = [PurePosixPath(path).name or path for path in paths]
    depth = 1
    while len(set(labels)) < len(labels) and depth < 64:
        depth += 1
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        labels = [
            "/".join(PurePosixPath(path).parts[-depth:]) if counts[label] > 1 else label
            for path, label in zip(paths, labels, strict=True)
        ]
    return labels
