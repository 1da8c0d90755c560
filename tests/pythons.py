"""The CPython interpreters installed here that tests run targets on."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

HEADER = Path(__file__).resolve().parents[1] / "src" / "pysampler" / "_c" / "pysampler.h"


def _header_constant(name: str) -> int:
    """An enum constant of the C core's header, such as PS_MAX_MINOR."""
    match = re.search(rf"\b{name}\s*=\s*(\d+)", HEADER.read_text(encoding="utf-8"))
    if match is None:
        msg = f"no {name} in {HEADER}"
        raise RuntimeError(msg)
    return int(match.group(1))


SUPPORTED = {
    (3, minor)
    for minor in range(_header_constant("PS_MIN_MINOR"), _header_constant("PS_MAX_MINOR") + 1)
}


@dataclass(frozen=True)
class Python:
    """One interpreter: an id for test names, its path and version."""

    id: str
    path: str
    version: tuple[int, int, int]

    @property
    def minor(self) -> tuple[int, int]:
        return self.version[:2]


def _version(path: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor, micro = (int(part) for part in out.split())
    return major, minor, micro


def _pyenv_root() -> Path:
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    try:
        return Path(
            subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        return Path.home() / ".pyenv"


def debian_unstable_root() -> Path:
    """Where tools/debian_pythons.sh unpacks Debian unstable's interpreters."""
    folder = os.environ.get("PYSAMPLER_DEBIAN_PYTHONS")
    base = Path(folder) if folder else Path.home() / ".cache" / "pysampler" / "debian-unstable"
    return base / "root"


def debian_unstable(build: str = "") -> list[Path]:
    """Debian unstable's python3.X-local copies (``build="d"``: the debug ones)."""
    bin_dir = debian_unstable_root() / "usr" / "bin"
    found = [bin_dir / f"python3.{minor}{build}-local" for minor in (13, 14, 15)]
    return [path for path in found if path.exists()]


def installed() -> list[Python]:
    """Every pyenv CPython of a supported version, Debian's python3, then
    Debian unstable's 3.13-3.15 as tools/debian_pythons.sh unpacks them."""
    found = []
    versions = _pyenv_root() / "versions"
    names = sorted(versions.iterdir(), key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)])
    for directory in names if versions.is_dir() else []:
        if not re.fullmatch(r"3\.\d+\.\d+", directory.name):
            continue  # free-threaded, debug and other builds have their own tests
        path = directory / "bin" / "python"
        version = _version(str(path)) if path.exists() else None
        if version and version[:2] in SUPPORTED:
            found.append(Python(f"pyenv-{directory.name}", str(path), version))
    debian = "/usr/bin/python3"
    version = _version(debian) if Path(debian).exists() else None
    if version and version[:2] in SUPPORTED:
        found.append(Python(f"debian-{'.'.join(map(str, version))}", debian, version))
    for path in debian_unstable():
        version = _version(str(path))
        if version and version[:2] in SUPPORTED:
            found.append(Python(f"debian-{'.'.join(map(str, version))}", str(path), version))
    return found


def unsupported() -> list[Python]:
    """pyenv CPythons older than 3.8, to check they are refused."""
    found = []
    versions = _pyenv_root() / "versions"
    for directory in sorted(versions.iterdir()) if versions.is_dir() else []:
        path = directory / "bin" / "python"
        if re.fullmatch(r"3\.[0-7]\.\d+", directory.name) and path.exists():
            version = _version(str(path))
            if version:
                found.append(Python(f"pyenv-{directory.name}", str(path), version))
    return found


INSTALLED = installed()
