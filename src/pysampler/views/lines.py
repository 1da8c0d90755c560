"""Per-line totals: self and total samples, callers, callees and instructions.

A line is a (file, line number) pair.  Its *self* samples are those whose
innermost Python frame was executing it (time in a ``<GC>`` or
``<native>`` marker above that frame counts as the line's own); its
*total* samples those with it anywhere on the stack, counted once per
sample however deep it recurses.  Callers and callees are the Python
frames directly below and above a frame executing the line; each edge,
and each instruction a line was executing, also counts once per sample.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import attrs

from pysampler.profile import FunctionKey, Profile

__all__ = ["FileTotals", "HeatData", "LineKey", "LineStats", "OpKey", "collect_lines"]


class LineKey(NamedTuple):
    """One source line: the file's name as the code object gives it, and the line."""

    filename: str
    lineno: int


class OpKey(NamedTuple):
    """An instruction as executed (possibly specialized) and the one it specializes."""

    opcode: int
    base_opcode: int


@attrs.define
class LineStats:
    """What was sampled on one line."""

    self_weight: int = 0
    """Samples whose innermost Python frame was executing this line."""
    total: int = 0
    """Samples with this line anywhere on the stack."""
    functions: Counter[str] = attrs.Factory(Counter)
    """Qualified names of the functions executing this line, by total samples."""
    callers: Counter[LineKey] = attrs.Factory(Counter)
    """Total samples through each line that called this one."""
    callers_self: Counter[LineKey] = attrs.Factory(Counter)
    """Self samples of this line, by the line that called it."""
    callees: Counter[FunctionKey] = attrs.Factory(Counter)
    """Total samples in each function this line called."""
    callees_self: Counter[FunctionKey] = attrs.Factory(Counter)
    """Samples where the function this line called was the innermost frame."""
    callee_lines: dict[FunctionKey, Counter[int]] = attrs.Factory(dict)
    """The lines each callee was executing, by total samples."""
    ops: Counter[OpKey] = attrs.Factory(Counter)
    """Total samples of each instruction executing on this line."""
    ops_self: Counter[OpKey] = attrs.Factory(Counter)
    """Self samples of each instruction."""
    op_spans: dict[OpKey, Counter[tuple[int, int]]] = attrs.Factory(dict)
    """Column ranges (UTF-8 byte offsets) of each instruction on this line."""


@attrs.define
class FileTotals:
    """What was sampled in one file."""

    self_weight: int = 0
    """Samples whose innermost Python frame was in this file."""
    total: int = 0
    """Samples with this file anywhere on the stack."""


@attrs.define
class HeatData:
    """A profile's samples by line and by file."""

    lines: dict[LineKey, LineStats] = attrs.Factory(dict)
    files: dict[str, FileTotals] = attrs.Factory(dict)
    total: int = 0
    """Samples with at least one Python frame."""
    max_self: int = 0
    """The self samples of the hottest line (0 when nothing was sampled)."""
    max_total: int = 0
    """The largest total samples of any line."""
    by_file: dict[str, dict[int, LineStats]] = attrs.Factory(dict)
    """The sampled lines of each file, by line number."""

    def file_lines(self, filename: str) -> dict[int, LineStats]:
        """The sampled lines of one file, by line number."""
        return self.by_file.get(filename, {})

    def finish(self) -> None:
        """Fill in the maxima and the per-file index once every stack is counted."""
        self.max_self = max((stats.self_weight for stats in self.lines.values()), default=0)
        self.max_total = max((stats.total for stats in self.lines.values()), default=0)
        self.by_file = {}
        for key, stats in self.lines.items():
            self.by_file.setdefault(key.filename, {})[key.lineno] = stats


class _Frame(NamedTuple):
    filename: str
    lineno: int | None
    function: FunctionKey
    op: OpKey | None
    span: tuple[int, int] | None


def _read_frame(profile: Profile, frame_id: int) -> _Frame:
    frames = profile.frames
    lineno = profile.frame_lineno(frame_id)
    opcode = frames.opcode[frame_id]
    base = frames.base_opcode[frame_id]
    op = OpKey(opcode, base if base >= 0 else opcode) if opcode >= 0 else None
    col, end_col = frames.col[frame_id], frames.end_col[frame_id]
    end_lineno = frames.end_lineno[frame_id]
    if col < 0:
        span = None
    elif end_col >= col and end_lineno in (lineno, -1):
        span = (col, end_col)
    else:
        span = (col, -1)  # to the end of the line
    return _Frame(
        filename=profile.frame_filename(frame_id),
        lineno=lineno,
        function=profile.frame_function(frame_id),
        op=op,
        span=span,
    )


def _add_stack(data: HeatData, chain: list[_Frame], weight: int) -> None:
    """Count one stack's samples: ``chain`` is its Python frames, leaf first."""
    data.total += weight
    for filename in {f.filename for f in chain}:
        data.files.setdefault(filename, FileTotals()).total += weight
    data.files[chain[0].filename].self_weight += weight
    seen: set[tuple[object, ...]] = set()  # what already counted for this stack

    def once(*key: object) -> bool:
        if key in seen:
            return False
        seen.add(key)
        return True

    for depth, current in enumerate(chain):
        if current.lineno is None:
            continue
        key = LineKey(current.filename, current.lineno)
        stats = data.lines.get(key)
        if stats is None:
            stats = data.lines[key] = LineStats()
        leaf = depth == 0
        if once("line", key):
            stats.total += weight
        if leaf:
            stats.self_weight += weight
        if once("function", key, current.function.qualname):
            stats.functions[current.function.qualname] += weight
        caller = chain[depth + 1] if depth + 1 < len(chain) else None
        if caller is not None and caller.lineno is not None:
            caller_key = LineKey(caller.filename, caller.lineno)
            if once("caller", key, caller_key):
                stats.callers[caller_key] += weight
            if leaf:
                stats.callers_self[caller_key] += weight
        if depth > 0:
            callee = chain[depth - 1]
            if once("callee", key, callee.function):
                stats.callees[callee.function] += weight
                if callee.lineno is not None:
                    lines = stats.callee_lines.setdefault(callee.function, Counter())
                    lines[callee.lineno] += weight
            if depth == 1:
                stats.callees_self[callee.function] += weight
        if current.op is not None:
            if once("op", key, current.op):
                stats.ops[current.op] += weight
                if current.span is not None:
                    spans = stats.op_spans.setdefault(current.op, Counter())
                    spans[current.span] += weight
            if leaf:
                stats.ops_self[current.op] += weight


def collect_lines(profile: Profile) -> HeatData:
    """Aggregate a profile's samples by source line and by file."""
    data = HeatData()
    cache: dict[int, _Frame] = {}

    def frame(frame_id: int) -> _Frame:
        found = cache.get(frame_id)
        if found is None:
            found = cache[frame_id] = _read_frame(profile, frame_id)
        return found

    for node, weight in profile.weight_by_stack().items():
        if node == profile.EMPTY_STACK or weight == 0:
            continue
        chain = [frame(f) for f in profile.stack_frames(node) if not profile.is_marker(f)]
        if chain:
            _add_stack(data, chain, weight)
    data.finish()
    return data
