"""Every module imports first in a fresh interpreter (no import cycles)."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "pysampler._binary",
    "pysampler.collectors",
    "pysampler.collectors._base",
    "pysampler.collectors.binary",
    "pysampler.collectors.stack",
    "pysampler.profile",
    "pysampler.renderers",
    "pysampler.renderers._functions",
    "pysampler.renderers.binary",
    "pysampler.renderers.collapsed",
    "pysampler.renderers.diffflame",
    "pysampler.renderers.pstats",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_on_its_own(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
