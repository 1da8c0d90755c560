"""The profile's tables and the rows a session adds to them.

Each table is ``array`` columns of equal length; a :class:`ProfileDelta`
holds the rows one sampler batch (or one chunk of a profile file) adds,
numbered on from where the tables stood, and checks that they fit.
"""

from __future__ import annotations

import operator
from array import array
from functools import partial

import attrs
from typing_extensions import Self

from pysampler.errors import CollectorError
from pysampler.model import FrameKind

__all__ = [
    "CodeTable",
    "FrameTable",
    "ProfileDelta",
    "SampleTable",
    "StackTable",
    "TableLengths",
    "ThreadTable",
]

_FRAME_KINDS = frozenset(kind.value for kind in FrameKind)


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
        return {name: getattr(self, name) for name, _ in _layout(type(self))}

    def __len__(self) -> int:
        """The number of rows."""
        return len(getattr(self, _layout(type(self))[0][0]))

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
        for name, typecode in _layout(type(self)):
            values: array[int] = getattr(self, name)
            if values.typecode != typecode:
                changed[name] = _typed_column(values, typecode, f"{what} {name}")
        return attrs.evolve(self, **changed) if changed else self


_LAYOUTS: dict[type[_Table], tuple[tuple[str, str], ...]] = {}


def _layout(table: type[_Table]) -> tuple[tuple[str, str], ...]:
    """A table class's columns: (name, typecode) each, in declaration order."""
    layout = _LAYOUTS.get(table)
    if layout is None:
        fields = attrs.fields(table)
        layout = _LAYOUTS[table] = tuple((f.name, f.default.factory().typecode) for f in fields)
    return layout


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
