"""The package's stages import one way, and every module imports on its own.

Data flows model -> profile -> views -> collectors -> sampler -> renderers
-> cli: a stage may import the stages before it, never one after it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pysampler"

# Lower numbers come first in the data flow.
STAGES = {
    "errors": 0,
    "model": 0,
    "_c": 0,
    "_native": 0,
    "_procfs": 0,
    "unwinder": 1,
    "profile": 2,
    "views": 3,
    "_launch": 3,
    "collectors": 4,
    "sampler": 5,
    "renderers": 6,
    "cli": 7,
    "__main__": 8,
    "__init__": 8,
}


def modules() -> list[Path]:
    """Every module but those that act when imported: the launch hook, ``-m``,
    and the cffi build script (it reads headers that are not installed)."""
    skip = ("sitecustomize.py", "__main__.py", "_ffi_build.py")
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in skip)


def stage_of(parts: tuple[str, ...]) -> int:
    return STAGES[parts[0].removesuffix(".py")]


def imported(path: Path) -> set[tuple[str, ...]]:
    """The pysampler modules ``path`` imports, as name parts below the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = tuple(name.split("."))
            if parts[0] == "pysampler" and len(parts) > 1 and parts[1] in STAGES:
                found.add(parts[1:])
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_stage_imports_only_the_stages_before_it(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts
    later = sorted(".".join(parts) for parts in imported(path) if stage_of(parts) > stage_of(own))
    assert not later, f"{'/'.join(own)} imports later stages: {later}"


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_on_its_own(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {dotted(path)}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
