"""The profile: one columnar data model that every output reads.

A :class:`Profile` holds what a sampling session collected, as tables of
``array`` columns that only grow, each row numbered by its position:

- ``strings``: interned text (file names, qualified names);
- ``codes``: code objects (file name, qualified name, first line);
- ``frames``: a code object at a position (line, columns, opcode);
- ``stacks``: a prefix tree of stack nodes, each (parent node, frame);
  node 0 is the empty stack, the parent of every root frame;
- ``threads``: the threads samples were taken from;
- ``samples``: one row per thread per sampling instant: time, thread,
  stack (its leaf node), status bits and weight.

Frames of kind :attr:`~pysampler.model.FrameKind.NATIVE` or
:attr:`~pysampler.model.FrameKind.GC` are markers: their code id means
nothing, they are labelled ``<native>`` / ``<GC>`` in file ``~``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, NamedTuple

import attrs

from pysampler.model import Frame, FrameKind, SamplerConfig, SessionInfo, SessionStats
from pysampler.profile._counts import SampleCounts
from pysampler.profile._tables import (
    CodeTable,
    FrameTable,
    ProfileDelta,
    SampleTable,
    StackTable,
    TableLengths,
    ThreadTable,
)

__all__ = [
    "MARKER_FILENAME",
    "CodeTable",
    "FrameTable",
    "FunctionKey",
    "Profile",
    "ProfileDelta",
    "ProfileMetadata",
    "SampleTable",
    "StackTable",
    "TableLengths",
    "ThreadTable",
]

MARKER_FILENAME = "~"
"""The file name of marker frames (``<native>``, ``<GC>``), as pstats spells built-ins."""


class FunctionKey(NamedTuple):
    """A function as pstats names it: where it is defined and its name."""

    filename: str
    firstlineno: int
    qualname: str


@attrs.frozen
class ProfileMetadata:
    """What a profile was taken from, how, and how sampling went.

    The session's information, its final figures once it ended, and whether
    the profile was read from a file cut short.  The flat properties read
    through to them.
    """

    info: SessionInfo
    stats: SessionStats | None = None
    """None while sampling runs, or when a file ends before its end record."""
    truncated: bool = False
    """Read from a file that ends early: samples up to its last complete chunk only."""

    @property
    def pid(self) -> int:
        """The target process."""
        return self.info.pid

    @property
    def command_line(self) -> tuple[str, ...]:
        """The target's command line."""
        return self.info.command_line

    @property
    def python_version(self) -> str:
        """The target's CPython version, as ``3.12.1``."""
        return self.info.python_version

    @property
    def config(self) -> SamplerConfig:
        """How the session sampled."""
        return self.info.config

    @property
    def interval_ns(self) -> int:
        """Requested time between samples; 0 means as fast as possible."""
        return self.info.config.interval_ns

    @property
    def mode(self) -> str:
        """``wall``, ``cpu``, ``gil`` or ``exception``."""
        return self.info.config.mode

    @property
    def all_threads(self) -> bool:
        """Every thread was sampled, not only the main one."""
        return self.info.config.all_threads

    @property
    def opcodes(self) -> bool:
        """Frames record their bytecode instruction."""
        return self.info.config.opcodes

    @property
    def start_time(self) -> float:
        """Seconds since the epoch when sampling started."""
        return self.info.start_time

    @property
    def opcode_names(self) -> tuple[str, ...]:
        """The target version's opcode names by number ("" where unused)."""
        return self.info.opcode_names

    @property
    def duration_ns(self) -> int:
        """How long sampling ran (0 while running or unknown)."""
        return self.stats.duration_ns if self.stats else 0

    @property
    def taken(self) -> int:
        """Sampling instants attempted (0 while running or unknown)."""
        return self.stats.taken if self.stats else 0

    @property
    def failed(self) -> int:
        """Failed samples (see :attr:`SessionStats.failed`)."""
        return self.stats.failed if self.stats else 0

    @property
    def late(self) -> int:
        """Deadlines missed because sampling fell behind."""
        return self.stats.late if self.stats else 0

    @property
    def ended_by(self) -> str | None:
        """``stopped``, ``duration``, ``exited``, ``failed``; None while running or unknown."""
        return self.stats.ended_by if self.stats else None

    @property
    def rate_hz(self) -> float | None:
        """Requested samples per second; None when sampling as fast as possible."""
        return 1e9 / self.interval_ns if self.interval_ns > 0 else None

    @property
    def duration_s(self) -> float:
        """How long sampling ran, in seconds (0 when unknown)."""
        return self.duration_ns / 1e9

    @property
    def complete(self) -> bool:
        """The session ended and everything it collected is here."""
        return self.stats is not None and not self.truncated


@attrs.define(eq=False)
class Profile:
    """Everything a sampling session collected: metadata and columnar tables.

    Build one with :class:`~pysampler.collectors.StackCollector`, or load
    one with :meth:`load`.  Tables only grow, by :meth:`extend`.
    """

    metadata: ProfileMetadata
    strings: list[str] = attrs.Factory(list)
    codes: CodeTable = attrs.Factory(CodeTable)
    frames: FrameTable = attrs.Factory(FrameTable)
    stacks: StackTable = attrs.Factory(StackTable)
    threads: ThreadTable = attrs.Factory(ThreadTable)
    samples: SampleTable = attrs.Factory(SampleTable)
    _counts: SampleCounts = attrs.field(factory=SampleCounts, init=False, repr=False)

    EMPTY_STACK: ClassVar[int] = 0
    """The stack node of a thread with no frame, and the parent of root frames."""

    # ---- building ------------------------------------------------------------

    @property
    def lengths(self) -> TableLengths:
        """How many rows each table holds."""
        return TableLengths(
            strings=len(self.strings),
            codes=len(self.codes),
            frames=len(self.frames),
            nodes=len(self.stacks),
            threads=len(self.threads),
        )

    def extend(self, delta: ProfileDelta) -> None:
        """Add new rows to every table.

        The delta is checked whole before anything is added, so a rejected
        delta leaves the profile as it was.

        Raises:
            CollectorError: As :meth:`ProfileDelta.typed` and
                :meth:`ProfileDelta.validate` say.
        """
        delta = delta.typed()
        delta.validate(self.lengths)
        self.strings.extend(delta.strings)
        mine = (self.codes, self.frames, self.stacks, self.threads, self.samples)
        for table, new in zip(mine, delta.tables(), strict=True):
            for column, values in zip(
                table.columns().values(), new.columns().values(), strict=True
            ):
                column.extend(values)
        for thread, name in zip(delta.renamed_thread, delta.renamed_name, strict=True):
            self.threads.name[thread] = name
        # Counted now, while sampling runs, rather than when rendering; the
        # rows were checked, so their ids are below the tables' lengths.
        checked = self._counts.rows == len(self.samples) - len(delta.samples)
        limits = (len(self.threads), len(self.stacks)) if checked else None
        self._counts.update(self.samples, limits=limits)

    def finish(self, stats: SessionStats) -> None:
        """Record how the session ended."""
        self.metadata = attrs.evolve(self.metadata, stats=stats)

    # ---- files ---------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile saved by :meth:`save` or streamed by a binary collector.

        A file cut short (a profiler killed mid-session) loads up to its last
        complete chunk, with ``metadata.truncated`` set.

        Raises:
            ProfileFormatError: The file is not a pysampler profile, or is
                corrupt before its first samples.
            OSError: The file cannot be read.
        """
        from pysampler.profile._format import read_profile  # it builds Profiles

        return read_profile(path)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole profile in pysampler's binary format; return the path."""
        from pysampler.profile._format import write_profile

        write_profile(self, path)
        return Path(path)

    # ---- reading -------------------------------------------------------------

    @property
    def sample_count(self) -> int:
        """Rows in the sample table."""
        return len(self.samples)

    @property
    def total_weight(self) -> int:
        """Samples the rows stand for (their weights summed)."""
        return sum(self.samples.weight)

    @property
    def seconds_per_sample(self) -> float:
        """The time one sample stands for.

        The requested interval; when sampling as fast as possible, the
        duration over the instants taken; failing that (a truncated file),
        the span of sample times over the distinct instants seen.
        """
        meta = self.metadata
        if meta.interval_ns > 0:
            return meta.interval_ns / 1e9
        if meta.taken > 0 and meta.duration_ns > 0:
            return meta.duration_ns / meta.taken / 1e9
        instants = len(set(self.samples.time_ns))
        if instants >= 2:
            span = max(self.samples.time_ns) - min(self.samples.time_ns)
            return span / (instants - 1) / 1e9
        return 0.0

    def string(self, string_id: int) -> str:
        """An interned string."""
        return self.strings[string_id]

    def frame_kind(self, frame_id: int) -> FrameKind:
        """Whether a frame is Python code or a marker."""
        return FrameKind(self.frames.kind[frame_id])

    def is_marker(self, frame_id: int) -> bool:
        """The frame marks time outside Python code (``<native>``, ``<GC>``)."""
        return self.frames.kind[frame_id] != FrameKind.PYTHON

    def frame_filename(self, frame_id: int) -> str:
        """The file of a frame's code; ``~`` for markers."""
        if self.is_marker(frame_id):
            return MARKER_FILENAME
        return self.strings[self.codes.filename[self.frames.code[frame_id]]]

    def frame_qualname(self, frame_id: int) -> str:
        """The qualified name of a frame's function; ``<native>``/``<GC>`` for markers."""
        if self.is_marker(frame_id):
            return self.frame_kind(frame_id).marker_name
        return self.strings[self.codes.qualname[self.frames.code[frame_id]]]

    def frame_lineno(self, frame_id: int) -> int | None:
        """The line a frame was executing; None when unknown or a marker."""
        lineno = self.frames.lineno[frame_id]
        return None if lineno < 0 or self.is_marker(frame_id) else lineno

    def frame_firstlineno(self, frame_id: int) -> int:
        """The first line of a frame's function; 0 for markers."""
        if self.is_marker(frame_id):
            return 0
        return self.codes.firstlineno[self.frames.code[frame_id]]

    def frame_function(self, frame_id: int) -> FunctionKey:
        """The function a frame runs, as pstats keys it."""
        return FunctionKey(
            self.frame_filename(frame_id),
            self.frame_firstlineno(frame_id),
            self.frame_qualname(frame_id),
        )

    def opcode_name(self, opcode: int) -> str | None:
        """The target's name for an opcode number; None when unknown."""
        names = self.metadata.opcode_names
        return (names[opcode] or None) if 0 <= opcode < len(names) else None

    def frame(self, frame_id: int) -> Frame:
        """A frame as the unwinder's :class:`~pysampler.model.Frame` value."""
        frames = self.frames
        kind = self.frame_kind(frame_id)

        def known(value: int) -> int | None:
            return None if value < 0 else value

        opcode = known(frames.opcode[frame_id])
        base_opcode = known(frames.base_opcode[frame_id])
        return Frame(
            filename=self.frame_filename(frame_id),
            qualname=self.frame_qualname(frame_id),
            lineno=self.frame_lineno(frame_id),
            end_lineno=known(frames.end_lineno[frame_id]),
            col=known(frames.col[frame_id]),
            end_col=known(frames.end_col[frame_id]),
            opcode=opcode,
            opname=None if opcode is None else self.opcode_name(opcode),
            base_opname=None if base_opcode is None else self.opcode_name(base_opcode),
            kind=kind,
        )

    def stack_nodes(self, node: int) -> Iterator[int]:
        """The nodes from ``node`` up to (not including) the empty stack."""
        parent = self.stacks.parent
        while node != self.EMPTY_STACK:
            yield node
            node = parent[node]

    def stack_frames(self, node: int) -> Iterator[int]:
        """The frame ids of the stack ending at ``node``, leaf first."""
        frame = self.stacks.frame
        for at in self.stack_nodes(node):
            yield frame[at]

    def thread_name(self, thread: int) -> str | None:
        """A thread's Python name, when it was recorded."""
        name = self.threads.name[thread]
        return None if name < 0 else self.strings[name]

    def _counted(self) -> SampleCounts:
        """The sample weights summed, counting any rows not counted yet."""
        self._counts.update(self.samples)
        return self._counts

    def weight_by_stack(self) -> Counter[int]:
        """Summed sample weights per leaf stack node (node 0: no frame)."""
        return self._counted().by_stack().copy()

    def weight_by_thread_and_stack(self) -> Counter[tuple[int, int]]:
        """Summed sample weights per (thread index, leaf stack node)."""
        threads, stacks, weights = self.thread_stack_weights()
        return Counter(dict(zip(zip(threads, stacks, strict=True), weights, strict=True)))

    def thread_stack_weights(self) -> tuple[list[int], list[int], list[int]]:
        """:meth:`weight_by_thread_and_stack` as columns: threads, stack nodes and weights.

        One entry per distinct (thread index, leaf stack node) pair, in the
        order of the pair's first sample, without a tuple per pair.
        """
        return self._counted().pairs()

    def code_function(self, code_id: int) -> FunctionKey:
        """The function of a code object, as pstats keys it."""
        codes = self.codes
        return FunctionKey(
            self.strings[codes.filename[code_id]],
            codes.firstlineno[code_id],
            self.strings[codes.qualname[code_id]],
        )
