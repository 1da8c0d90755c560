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

import operator
import os
from array import array
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import ClassVar, NamedTuple

import attrs
from typing_extensions import Self

from pysampler.errors import CollectorError
from pysampler.model import Frame, FrameKind, SamplerConfig, SessionInfo, SessionStats

__all__ = [
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

_FRAME_KINDS = frozenset(kind.value for kind in FrameKind)


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


# Empty columns; the typecode fixes each value's range.
_U32 = partial(array, "I")
_I32 = partial(array, "i")
_U64 = partial(array, "Q")
_I64 = partial(array, "q")


@attrs.define
class _Table:
    """Columns of equal length; row ``i`` is entry ``i`` of every column."""

    def columns(self) -> dict[str, array[int]]:
        """Every column by name, in declaration order."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}

    def __len__(self) -> int:
        """The number of rows."""
        return len(next(iter(self.columns().values())))

    def rows(self, start: int, stop: int) -> Self:
        """A new table holding copies of rows ``start`` to ``stop`` (excluded)."""
        return attrs.evolve(
            self, **{name: column[start:stop] for name, column in self.columns().items()}
        )

    def typed(self, what: str) -> Self:
        """This table with every column in its declared type (itself when they are).

        Raises:
            CollectorError: A value does not fit its column's type.
        """
        changed = {}
        for field in attrs.fields(type(self)):
            values: array[int] = getattr(self, field.name)
            typecode = field.default.factory().typecode
            if values.typecode != typecode:
                changed[field.name] = _typed_column(values, typecode, f"{what} {field.name}")
        return attrs.evolve(self, **changed) if changed else self


@attrs.define
class CodeTable(_Table):
    """Code objects: string ids of file and qualified name, and first line."""

    filename: array[int] = attrs.field(factory=_U32)
    qualname: array[int] = attrs.field(factory=_U32)
    firstlineno: array[int] = attrs.field(factory=_I32)


@attrs.define
class FrameTable(_Table):
    """Frames: a code object at a position; -1 where a value is unknown."""

    code: array[int] = attrs.field(factory=_U32)
    """Code id; meaningless for marker frames."""
    kind: array[int] = attrs.field(factory=_U32)
    """A :class:`~pysampler.model.FrameKind` value."""
    lineno: array[int] = attrs.field(factory=_I32)
    end_lineno: array[int] = attrs.field(factory=_I32)
    col: array[int] = attrs.field(factory=_I32)
    end_col: array[int] = attrs.field(factory=_I32)
    opcode: array[int] = attrs.field(factory=_I32)
    """The instruction as executed (possibly specialized), -1 unless recorded."""
    base_opcode: array[int] = attrs.field(factory=_I32)
    """The instruction it specializes, -1 unless recorded."""


@attrs.define
class StackTable(_Table):
    """Stack nodes: (parent node, frame), a prefix tree rooted at node 0.

    Node 0 is the empty stack (its own parent, frame 0 unused); every other
    node's parent has a smaller id, so walking up always ends at node 0.
    """

    parent: array[int] = attrs.field(factory=lambda: array("I", [0]))
    frame: array[int] = attrs.field(factory=lambda: array("I", [0]))


@attrs.define
class ThreadTable(_Table):
    """Threads: ident, kernel id (0 unknown), interpreter, name string id or -1."""

    thread_id: array[int] = attrs.field(factory=_U64)
    """``threading.get_ident()`` in the target."""
    native_id: array[int] = attrs.field(factory=_U64)
    interpreter: array[int] = attrs.field(factory=_I64)
    name: array[int] = attrs.field(factory=_I32)


@attrs.define
class SampleTable(_Table):
    """Samples: one thread's stack at one instant."""

    time_ns: array[int] = attrs.field(factory=_I64)
    """Nanoseconds since sampling started (monotonic clock)."""
    thread: array[int] = attrs.field(factory=_U32)
    stack: array[int] = attrs.field(factory=_U32)
    """The leaf stack node; 0 when the thread had no frame."""
    status: array[int] = attrs.field(factory=_U32)
    """:class:`~pysampler.model.ThreadStatus` bits."""
    weight: array[int] = attrs.field(factory=_U32)
    """How many samples the row stands for (1 unless merged)."""


def _typed_column(values: array[int], typecode: str, what: str) -> array[int]:
    if values.typecode == typecode:
        return values
    try:
        return array(typecode, values)
    except OverflowError:
        msg = f"{what}: a value is out of range"
        raise CollectorError(msg) from None


def _check_below(values: array[int], limit: int, what: str) -> None:
    """Every value refers to an existing entry (ids below ``limit``)."""
    if values and max(values) >= limit:
        msg = f"{what} refers to entry {max(values)}, but only {limit} exist"
        raise CollectorError(msg)


def _check_continues(table: str, first: int, length: int) -> None:
    if first != length:
        msg = (
            f"batch {table} ids start at {first}, but the profile holds {length}: "
            "batches must arrive in order, each continuing the previous one"
        )
        if table == "stack node" and first == 0:
            msg += " (node 0, the empty stack, is implicit and never sent)"
        raise CollectorError(msg)


def _check_lengths(table: str, columns: dict[str, array[int]]) -> int:
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        msg = f"{table} columns differ in length: {lengths}"
        raise CollectorError(msg)
    return next(iter(lengths.values()))


@attrs.frozen
class TableLengths:
    """How many rows each table of a profile holds (stack nodes count node 0)."""

    strings: int = 0
    codes: int = 0
    frames: int = 0
    nodes: int = 1
    threads: int = 0


@attrs.frozen(kw_only=True)
class ProfileDelta:
    """New rows for each table of a profile, numbered on from ``*_first``.

    What one batch (or one chunk of a profile file) adds.  Tables hold only
    the new rows; ``stacks`` never holds node 0.
    """

    string_first: int = 0
    strings: tuple[str, ...] = ()
    code_first: int = 0
    codes: CodeTable = attrs.Factory(CodeTable)
    frame_first: int = 0
    frames: FrameTable = attrs.Factory(FrameTable)
    node_first: int = 1
    stacks: StackTable = attrs.Factory(lambda: StackTable(parent=array("I"), frame=array("I")))
    thread_first: int = 0
    threads: ThreadTable = attrs.Factory(ThreadTable)
    samples: SampleTable = attrs.Factory(SampleTable)
    renamed_thread: array[int] = attrs.Factory(lambda: array("I"))
    """Earlier threads whose name became known: their ids..."""
    renamed_name: array[int] = attrs.Factory(lambda: array("i"))
    """...and their names, as string ids."""

    def typed(self) -> ProfileDelta:
        """This delta with every column in the profile's types.

        Arrays of other integer types are converted.

        Raises:
            CollectorError: A value does not fit its column.
        """
        renamed_thread = _typed_column(self.renamed_thread, "I", "renamed thread")
        renamed_name = _typed_column(self.renamed_name, "i", "thread name")
        return attrs.evolve(
            self,
            codes=self.codes.typed("code"),
            frames=self.frames.typed("frame"),
            stacks=self.stacks.typed("stack node"),
            threads=self.threads.typed("thread"),
            samples=self.samples.typed("sample"),
            renamed_thread=renamed_thread,
            renamed_name=renamed_name,
        )

    def tables(self) -> tuple[CodeTable, FrameTable, StackTable, ThreadTable, SampleTable]:
        """The array tables, in the order a profile's tables are declared."""
        return (self.codes, self.frames, self.stacks, self.threads, self.samples)

    def lengths_after(self, before: TableLengths) -> TableLengths:
        """The table lengths once this delta is added to tables of ``before``."""
        return TableLengths(
            strings=before.strings + len(self.strings),
            codes=before.codes + len(self.codes),
            frames=before.frames + len(self.frames),
            nodes=before.nodes + len(self.stacks),
            threads=before.threads + len(self.threads),
        )

    def validate(self, before: TableLengths) -> None:
        """Check the delta continues tables of ``before`` and refers only to existing rows.

        Raises:
            CollectorError: Ids do not continue the tables, columns differ in
                length, or a row refers to a row that does not exist.
        """
        _check_continues("string", self.string_first, before.strings)
        _check_continues("code", self.code_first, before.codes)
        _check_continues("frame", self.frame_first, before.frames)
        _check_continues("stack node", self.node_first, before.nodes)
        _check_continues("thread", self.thread_first, before.threads)
        if not all(isinstance(text, str) for text in self.strings):
            msg = "strings must be str"
            raise CollectorError(msg)
        after = self.lengths_after(before)

        codes = self.codes
        _check_lengths("code", codes.columns())
        _check_below(codes.filename, after.strings, "a code filename")
        _check_below(codes.qualname, after.strings, "a code qualname")

        frames = self.frames
        _check_lengths("frame", frames.columns())
        if not _FRAME_KINDS.issuperset(frames.kind):
            msg = f"a frame kind is not one of {sorted(_FRAME_KINDS)}"
            raise CollectorError(msg)
        python_codes = array(
            "I", (c for c, k in zip(frames.code, frames.kind, strict=True) if k == FrameKind.PYTHON)
        )
        _check_below(python_codes, after.codes, "a frame code")

        stacks = self.stacks
        _check_lengths("stack node", stacks.columns())
        _check_below(stacks.frame, after.frames, "a stack node frame")
        if any(map(operator.ge, stacks.parent, range(before.nodes, after.nodes))):
            msg = "a stack node's parent must have a smaller id than the node"
            raise CollectorError(msg)

        _check_lengths("thread", self.threads.columns())
        _check_below(self.threads.name, after.strings, "a thread name")

        samples = self.samples
        _check_lengths("sample", samples.columns())
        _check_below(samples.thread, after.threads, "a sample thread")
        _check_below(samples.stack, after.nodes, "a sample stack")
        _check_lengths("renamed thread", {"thread": self.renamed_thread, "name": self.renamed_name})
        _check_below(self.renamed_thread, after.threads, "a renamed thread")
        _check_below(self.renamed_name, after.strings, "a thread name")


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
        from pysampler._binary import read_profile

        return read_profile(path)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole profile in pysampler's binary format; return the path."""
        from pysampler._binary import write_profile

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

    def _unit_weights(self) -> bool:
        weight = self.samples.weight
        return not weight or (min(weight) == 1 and max(weight) == 1)

    def weight_by_stack(self) -> Counter[int]:
        """Summed sample weights per leaf stack node (node 0: no frame)."""
        if self._unit_weights():
            return Counter(self.samples.stack)
        counts: Counter[int] = Counter()
        for stack, weight in zip(self.samples.stack, self.samples.weight, strict=True):
            counts[stack] += weight
        return counts

    def weight_by_thread_and_stack(self) -> Counter[tuple[int, int]]:
        """Summed sample weights per (thread index, leaf stack node)."""
        pairs = zip(self.samples.thread, self.samples.stack, strict=True)
        if self._unit_weights():
            return Counter(pairs)
        counts: Counter[tuple[int, int]] = Counter()
        for pair, weight in zip(pairs, self.samples.weight, strict=True):
            counts[pair] += weight
        return counts
