"""The C core's build: warning-free, in step with its header and the layouts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pysampler._native import lib

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "src" / "pysampler" / "_c"


def test_c_sources_compile_without_warnings(tmp_path: Path) -> None:
    sources = sorted(CORE.glob("*.c")) + sorted(CORE.glob("layouts/*.c"))
    assert sources
    for source in sources:
        result = subprocess.run(
            [
                "gcc",
                "-std=gnu11",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                f"-I{CORE}",
                "-c",
                str(source),
                "-o",
                str(tmp_path / (source.stem + ".o")),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_every_declared_function_is_bound() -> None:
    header = (CORE / "pysampler.h").read_text()
    declared = set(re.findall(r"^\S[^(;]*?\b(ps_\w+)\(", header, re.MULTILINE))
    assert "ps_unwinder_snapshot" in declared
    missing = sorted(name for name in declared if not hasattr(lib, name))
    assert missing == []


def test_generated_layouts_match_installed_headers() -> None:
    """tools/gen_layouts.py regenerates the committed tables identically."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_layouts.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_version_table_matches_the_code() -> None:
    """The README's table of versions is generated from the C core's support."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "version_table.py"), "--check", "README.md"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_stub_matches_the_header_and_the_compiled_module() -> None:
    """_c/_core.pyi types every function, constant and struct the header declares,
    and names exactly what the compiled module holds."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "core_stub.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
