"""Launching a program so that it is sampled from its first line."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from pysampler.errors import PySamplerError

__all__ = ["Launched", "launch"]

HOOK_DIR = Path(__file__).parent
START_TIMEOUT = 60.0


class LaunchError(PySamplerError, OSError):
    """The program could not be started."""


@attrs.define
class Launched:
    """A started program, held just before its first line.

    Call :meth:`release` once sampling has begun.
    """

    process: subprocess.Popen[bytes]
    _go_fd: int | None
    """The pipe the program waits on before its first line; None once released."""

    @property
    def pid(self) -> int:
        """The program's process id."""
        return self.process.pid

    def release(self) -> None:
        """Let the program run its first line."""
        if self._go_fd is not None:
            os.write(self._go_fd, b"g")
            os.close(self._go_fd)
            self._go_fd = None


def launch(argv: Sequence[str], *, module: bool = False, python: str | None = None) -> Launched:
    """Start ``python TARGET ARGS`` (or ``python -m TARGET ARGS``) held at its start.

    Args:
        argv: the script (or module name) and its arguments.
        module: run ``argv[0]`` as a module, like ``python -m``.
        python: the interpreter to run it with; default: this one.

    Raises:
        LaunchError: the interpreter or the script could not be started.
    """
    if not argv:
        msg = "nothing to run: give a script or -m MODULE"
        raise LaunchError(msg)
    if not module and not Path(argv[0]).is_file():
        msg = f"no such script: {argv[0]}"
        raise LaunchError(msg)
    interpreter = python or sys.executable
    command = [interpreter, *(["-m"] if module else []), *argv]
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    env = dict(os.environ)
    if "PYTHONPATH" in env:
        env["PYSAMPLER_ORIGINAL_PYTHONPATH"] = env["PYTHONPATH"]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HOOK_DIR), env.get("PYTHONPATH")]))
    env["PYSAMPLER_READY_FD"] = str(ready_w)
    env["PYSAMPLER_GO_FD"] = str(go_r)
    try:
        process = subprocess.Popen(command, env=env, pass_fds=(ready_w, go_r))
    except OSError as exc:
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)
        msg = f"cannot start {interpreter}: {exc.strerror}"
        raise LaunchError(msg) from exc
    os.close(ready_w)
    os.close(go_r)
    try:
        if not _wait_ready(ready_r, process):
            os.close(go_w)
            process.wait()
            msg = f"{' '.join(command)} exited before it started (status {process.returncode})"
            raise LaunchError(msg)
    finally:
        os.close(ready_r)
    return Launched(process, go_w)


def _wait_ready(fd: int, process: subprocess.Popen[bytes]) -> bool:
    ready, _, _ = select.select([fd], [], [], START_TIMEOUT)
    if not ready:
        process.kill()
        return False
    return os.read(fd, 1) == b"r"
