"""Formatting a snapshot as traceback-style text, as ``pysampler dump`` prints it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from pysampler import _procfs
from pysampler.model import Frame, Snapshot, TargetInfo, Thread, ThreadStatus
from pysampler.profile._json import to_plain

__all__ = ["DumpStyle", "format_dump", "snapshot_to_json", "status_labels"]

_REPEAT_AFTER = 3
# /proc gives a process's start to the second only (btime is whole seconds).
_START_TIME_SLACK = 2.0


@attrs.frozen
class DumpStyle:
    """How to print: ANSI colour, opcodes, and how to reach the sources."""

    colour: bool = False
    opcodes: bool = False

    def paint(self, text: str, code: str) -> str:
        """``text`` in the ANSI style ``code`` when colour is on."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text


def status_labels(status: ThreadStatus) -> list[str]:
    """Words for a thread's status bits, most telling first."""
    labels = []
    if ThreadStatus.MAIN_THREAD in status:
        labels.append("main thread")
    if ThreadStatus.HAS_GIL in status:
        labels.append("holds the GIL")
    if ThreadStatus.ON_CPU in status:
        labels.append("on CPU")
    if ThreadStatus.GIL_REQUESTED in status:
        labels.append("waiting for the GIL")
    if ThreadStatus.HAS_EXCEPTION in status:
        labels.append("handling an exception")
    if ThreadStatus.UNKNOWN in status:
        labels.append("CPU state unknown")
    elif not status & (ThreadStatus.ON_CPU | ThreadStatus.HAS_GIL):
        labels.append("idle")
    return labels


class _Sources:
    """Source lines of the target's files, read once each."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started = _procfs.start_time(pid)
        self._lines: dict[str, list[str] | None] = {}
        self.changed: set[str] = set()

    def line(self, filename: str, lineno: int) -> str | None:
        if filename not in self._lines:
            self._lines[filename] = self._read(filename)
        lines = self._lines[filename]
        if lines is None or not 0 < lineno <= len(lines):
            return None
        return lines[lineno - 1]

    def _read(self, filename: str) -> list[str] | None:
        path = _procfs.resolve_source(self.pid, filename)
        if path is None:
            return None
        try:
            text = path.read_bytes().decode("utf-8", "replace")
            modified = path.stat().st_mtime
            if self.started is not None and modified > self.started + _START_TIME_SLACK:
                self.changed.add(filename)
        except OSError:
            return None
        return text.splitlines()


def _collapse(frames: Iterable[Frame]) -> Iterator[tuple[Frame, int]]:
    """Frames with runs of the same call site folded, as tracebacks do."""
    for _, run in itertools.groupby(frames, key=lambda f: (f.filename, f.lineno, f.qualname)):
        group = list(run)
        for frame in group[:_REPEAT_AFTER]:
            yield frame, 0
        if len(group) > _REPEAT_AFTER:
            yield group[_REPEAT_AFTER], len(group) - _REPEAT_AFTER


def _marked_line(source: str, frame: Frame, style: DumpStyle) -> list[str]:
    """The stripped source line, with the executing columns marked."""
    stripped = source.strip()
    indent = len(source) - len(source.lstrip())
    encoded = source.encode("utf-8")
    single_line = frame.end_lineno in (None, frame.lineno)
    if frame.col is None or frame.end_col is None or not single_line:
        return [f"    {stripped}"]
    start = len(encoded[: frame.col].decode("utf-8", "replace")) - indent
    end = len(encoded[: frame.end_col].decode("utf-8", "replace")) - indent
    if start < 0 or end <= start or (start == 0 and end >= len(stripped)):
        return [f"    {stripped}"]
    if style.colour:
        painted = stripped[:start] + style.paint(stripped[start:end], "1;31") + stripped[end:]
        return [f"    {painted}"]
    return [f"    {stripped}", "    " + " " * start + "^" * (end - start)]


def _format_frame(frame: Frame, sources: _Sources, style: DumpStyle) -> list[str]:
    location = f'  File "{style.paint(frame.filename, "35")}"'
    if frame.lineno is not None:
        location += f", line {style.paint(str(frame.lineno), '35')}"
    location += f", in {style.paint(frame.qualname, '1')}"
    if style.opcodes and frame.opname is not None:
        instruction = frame.opname
        if frame.base_opname and frame.base_opname != frame.opname:
            instruction += f" ({frame.base_opname})"
        location += f"  [{instruction} at offset {frame.instr_offset}]"
    lines = [location]
    source = sources.line(frame.filename, frame.lineno) if frame.lineno else None
    if source is not None and source.strip():
        lines += _marked_line(source, frame, style)
    return lines


def _format_thread(thread: Thread, sources: _Sources, style: DumpStyle) -> list[str]:
    name = f' "{thread.name}"' if thread.name else ""
    native = f", native id {thread.native_id}" if thread.native_id else ""
    labels = ", ".join(status_labels(thread.status))
    header = f"Thread {thread.thread_id:#x}{name}{native} ({labels})"
    lines = [style.paint(header, "1;36")]
    if not thread.frames:
        lines.append("  (no Python frames)")
    else:
        lines.append("Traceback (most recent call last):")
        for frame, repeated in _collapse(reversed(thread.frames)):
            if repeated:
                lines.append(f"  [Previous line repeated {repeated} more times]")
            else:
                lines += _format_frame(frame, sources, style)
    if thread.error:
        lines.append(f"  (stack incomplete: {thread.error})")
    return lines


def format_dump(snapshot: Snapshot, target: TargetInfo, style: DumpStyle) -> str:
    """The whole dump: a header, then every thread's stack root first."""
    sources = _Sources(snapshot.pid)
    command = " ".join(target.command_line) or "?"
    out = [
        f"Process {snapshot.pid}: {command}",
        f"Python {snapshot.python_version} ({target.binary})",
    ]
    for interpreter in snapshot.interpreters:
        if len(snapshot.interpreters) > 1:
            out += ["", f"Interpreter {interpreter.id}"]
        # CPython lists threads newest first; show them as they were started.
        for thread in sorted(reversed(interpreter.threads), key=lambda t: not t.is_main):
            out.append("")
            out += _format_thread(thread, sources, style)
    if sources.changed:
        out.append("")
        for filename in sorted(sources.changed):
            out.append(
                style.paint(
                    f"warning: {filename} changed after the process started; "
                    "its lines may not match",
                    "33",
                )
            )
    return "\n".join(out) + "\n"


def snapshot_to_json(snapshot: Snapshot, target: TargetInfo) -> dict[str, Any]:
    """A snapshot and its target as JSON-ready dicts and lists."""
    data: dict[str, Any] = to_plain(snapshot)
    data["python_version"] = str(snapshot.python_version)
    data["binary"] = target.binary
    return data
