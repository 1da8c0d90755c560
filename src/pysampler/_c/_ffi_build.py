"""cffi build script for the C core (``pysampler._c._core``).

setup.py names this module in ``cffi_modules``.  The cdef is pysampler.h
with its preprocessor lines removed, so the C compiler checks the binding
against the real header.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

# Relative on purpose: setuptools wants relative source paths.
HERE = Path(__file__).parent
PROJECT = HERE.parent.parent.parent
SOURCES = (
    "errors.c",
    "mem.c",
    "prefetch.c",
    "proc.c",
    "elf.c",
    "maps.c",
    "locate.c",
    "debugoffsets.c",
    "image.c",
    "objects.c",
    "linetable.c",
    "intern.c",
    "unwind.c",
    "frames.c",
    "sampler.c",
    "threadnames.c",
    "opcodes.c",
    "layouts/layouts.c",
)


def package_version() -> str:
    """The version in pyproject.toml, baked into the compiled module."""
    text = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if match is None:
        msg = "no version in pyproject.toml"
        raise RuntimeError(msg)
    return match.group(1)


def cdef_source() -> str:
    """pysampler.h without preprocessor lines: what cffi can parse."""
    header = (HERE / "pysampler.h").read_text(encoding="utf-8")
    return "\n".join(line for line in header.splitlines() if not line.startswith("#"))


ffibuilder = FFI()
ffibuilder.cdef(cdef_source())
ffibuilder.set_source(
    "pysampler._c._core",
    '#include "pysampler.h"',
    sources=[str(HERE / name) for name in SOURCES],
    include_dirs=[str(HERE)],
    depends=[str(path) for path in sorted(HERE.glob("*.h")) + sorted(HERE.glob("layouts/*.h"))],
    define_macros=[("PS_PACKAGE_VERSION", f'"{package_version()}"')],
    extra_compile_args=[
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror=implicit-function-declaration",
    ],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
