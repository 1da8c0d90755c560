"""What /proc says about a target process: its start and its files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_source", "start_time"]


def start_time(pid: int) -> float | None:
    """When the target started, in seconds since the epoch."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        boot_line = next(
            line
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # Field 22 of stat is the start time; fields here start at field 3.
    return int(boot_line.split()[1]) + int(fields[19]) / ticks


def resolve_source(pid: int, filename: str) -> Path | None:
    """The path to read the target's ``filename`` from, if it is a file.

    Relative names are taken from the target's working directory, and paths
    are looked up through ``/proc/PID/root`` so a container's files are found.
    """
    if not filename or filename.startswith("<"):
        return None
    candidates = []
    root = Path(f"/proc/{pid}/root")
    if Path(filename).is_absolute():
        candidates += [root / filename.lstrip("/"), Path(filename)]
    else:
        candidates.append(Path(f"/proc/{pid}/cwd") / filename)
    for candidate in candidates:
        try:
            if candidate.is_file():
                return candidate
        except OSError:
            continue
    return None
