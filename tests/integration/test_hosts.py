"""pysampler installed into a CPython 3.14 and a 3.15 environment, as a user
of those versions has it: a venv of Debian unstable's interpreter, pip from
Debian's wheel, the C core built against that version's headers.  From
there it reads an old target (3.8) and one of its own version exactly."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from known_target import KnownTarget, start
from pythons import INSTALLED, debian_unstable, debian_unstable_root

PROJECT = Path(__file__).resolve().parents[2]
HOSTS = {path.name.split("-")[0]: path for path in debian_unstable() if "3.13" not in path.name}

# Run by the host interpreter: the main thread's frames as pysampler reads them.
READ_MAIN = """
import json, sys
from pysampler import Unwinder
with Unwinder(int(sys.argv[1])) as unwinder:
    snapshot = unwinder.snapshot()
    version = unwinder.target.python_version
main = next(t for t in snapshot.threads if t.name == "MainThread")
print(json.dumps({
    "host": list(sys.version_info[:2]),
    "version": [version.major, version.minor],
    "frames": [[f.filename, f.qualname, f.lineno] for f in main.frames],
}))
"""


def test_the_host_interpreters_are_unpacked() -> None:
    assert set(HOSTS) == {"python3.14", "python3.15"}, "run tools/test_machine.sh"


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, env=env
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@dataclass(frozen=True)
class Host:
    """A venv's interpreter with pysampler in it, and its version."""

    python: Path
    minor: tuple[int, int]


@dataclass(frozen=True)
class Target:
    known: KnownTarget
    minor: tuple[int, int]


@pytest.fixture(scope="module", params=sorted(HOSTS), ids=sorted(HOSTS))
def host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    """A venv of that interpreter with pysampler installed from this checkout."""
    venv = tmp_path_factory.mktemp(request.param) / "venv"
    run([str(HOSTS[request.param]), "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    wheels = debian_unstable_root() / "usr" / "share" / "python-wheels"
    (pip_wheel,) = wheels.glob("pip-*.whl")
    env = dict(os.environ)
    # Debian's multiarch pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>.
    env["CFLAGS"] = f"-I{debian_unstable_root() / 'usr' / 'include'}"
    env.pop("PYTHONPATH", None)
    run([str(python), f"{pip_wheel}/pip", "install", "--quiet", str(pip_wheel)], env)
    run([str(python), "-m", "pip", "install", "--quiet", str(PROJECT)], env)
    major, minor = request.param.removeprefix("python").split(".")
    yield Host(python, (int(major), int(minor)))


def target_of(minor: tuple[int, int]) -> str:
    found = [p.path for p in INSTALLED if p.minor == minor]
    assert found, f"no CPython {minor[0]}.{minor[1]} installed here"
    return found[0]


@pytest.fixture(params=[(3, 8), (3, 15)], ids=["target-3.8", "target-3.15"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    known = start(target_of(request.param), tmp_path)
    try:
        yield Target(known, request.param)
    finally:
        known.stop()


def test_a_host_reads_exact_stacks(host: Host, target: Target) -> None:
    read: dict[str, Any] = json.loads(
        run([str(host.python), "-c", READ_MAIN, str(target.known.pid)])
    )
    assert (tuple(read["host"]), tuple(read["version"])) == (host.minor, target.minor)
    expected = target.known.expected("MainThread")["frames"]
    assert read["frames"] == [[e["filename"], e["qualname"], e["lineno"]] for e in expected]


def test_a_host_samples_from_the_command_line(host: Host, target: Target) -> None:
    pysampler = host.python.parent / "pysampler"
    pid = str(target.known.pid)
    out = run([str(pysampler), "attach", "-d", "1", "-a", "--collapsed", "-o", "-", pid])
    lines = out.splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) > 500
    assert any("spin" in line for line in lines), lines[:5]
