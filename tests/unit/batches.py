"""Builds ProfileDelta values the way the C sampler does: interned, ids growing.

A stack is given root first, as a sequence of frames: ``(filename, qualname,
firstlineno, lineno)`` tuples or a :class:`~pysampler.model.FrameKind`
marker.  Each :meth:`BatchBuilder.batch` returns the table entries created
since the previous delta, plus the samples recorded since then.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import attrs

from pysampler.model import FrameKind, SamplerConfig, SessionInfo, SessionStats
from pysampler.profile import (
    CodeTable,
    FrameTable,
    ProfileDelta,
    SampleTable,
    StackTable,
    ThreadTable,
)

PyFrame = tuple[str, str, int, int]
FrameSpec = PyFrame | FrameKind


CONFIG_FIELDS = {field.name for field in attrs.fields(SamplerConfig)}


def session_info(*, interval_ns: int = 1_000_000, **changes: object) -> SessionInfo:
    """A session's information; ``changes`` may name SessionInfo or SamplerConfig fields."""
    config: dict[str, object] = {
        "rate": 1e9 / interval_ns if interval_ns > 0 else 0.0,
        "mode": "wall",
        "all_threads": True,
        "opcodes": False,
    }
    values: dict[str, object] = {
        "pid": 4242,
        "command_line": ("python", "app.py", "--fast"),
        "python_version": "3.12.1",
        "start_time": 1_700_000_000.5,
        "opcode_names": ("CACHE", "POP_TOP", ""),
    }
    for name, value in changes.items():
        (config if name in CONFIG_FIELDS else values)[name] = value
    return SessionInfo(config=SamplerConfig(**config), **values)  # type: ignore[arg-type]


def session_stats(**changes: object) -> SessionStats:
    values: dict[str, object] = {
        "duration_ns": 100_000_000,
        "taken": 100,
        "failed": 2,
        "late": 1,
        "ended_by": "stopped",
    }
    values.update(changes)
    return SessionStats(**values)  # type: ignore[arg-type]


class BatchBuilder:
    """Interns strings, codes, frames, stack nodes and threads; hands out batches."""

    def __init__(self) -> None:
        self.strings: dict[str, int] = {}
        self.codes: dict[tuple[int, int, int], int] = {}
        self.frames: dict[tuple[int, int, int], int] = {}
        self.nodes: dict[tuple[int, int], int] = {}
        self.threads: dict[int, int] = {}
        self._sent = {"strings": 0, "codes": 0, "frames": 0, "nodes": 0, "threads": 0}
        self._samples: list[tuple[int, int, int, int]] = []
        self.time_ns = 0
        self.sample_count = 0

    def _intern_frame(self, spec: FrameSpec) -> int:
        if isinstance(spec, FrameKind):
            key = (0, int(spec), -1)
        else:
            filename, qualname, firstlineno, lineno = spec
            names = [
                self.strings.setdefault(text, len(self.strings)) for text in (filename, qualname)
            ]
            code = self.codes.setdefault((names[0], names[1], firstlineno), len(self.codes))
            key = (code, int(FrameKind.PYTHON), lineno)
        return self.frames.setdefault(key, len(self.frames))

    def stack(self, frames: Sequence[FrameSpec]) -> int:
        """The stack node of ``frames`` (root first), interning as needed."""
        node = 0
        for spec in frames:
            frame = self._intern_frame(spec)
            node = self.nodes.setdefault((node, frame), len(self.nodes) + 1)
        return node

    def sample(
        self,
        frames: Sequence[FrameSpec],
        *,
        thread: int = 0x7F00_0000_1000,
        status: int = 1,
        count: int = 1,
        step_ns: int = 1_000_000,
    ) -> None:
        """Record ``count`` samples of one stack on one thread."""
        index = self.threads.setdefault(thread, len(self.threads))
        node = self.stack(frames)
        for _ in range(count):
            self.time_ns += step_ns
            self._samples.append((self.time_ns, index, node, status))
            self.sample_count += 1

    def _new(self, name: str, table: dict[object, int]) -> list[object]:
        first = self._sent[name]
        keys = sorted(table, key=table.__getitem__)[first:]
        self._sent[name] = len(table)
        return keys

    def batch(self, weights: Sequence[int] | None = None) -> ProfileDelta:
        """The entries and samples added since the previous delta."""
        string_first = self._sent["strings"]
        new_strings = self._new("strings", self.strings)
        code_first = self._sent["codes"]
        codes: list[tuple[int, int, int]] = self._new("codes", self.codes)  # type: ignore[assignment]
        frame_first = self._sent["frames"]
        frames: list[tuple[int, int, int]] = self._new("frames", self.frames)  # type: ignore[assignment]
        node_first = self._sent["nodes"] + 1
        nodes: list[tuple[int, int]] = self._new("nodes", self.nodes)  # type: ignore[assignment]
        thread_first = self._sent["threads"]
        threads: list[int] = self._new("threads", self.threads)  # type: ignore[assignment]
        samples, self._samples = self._samples, []
        python = [kind == 0 for _, kind, _ in frames]

        return ProfileDelta(
            string_first=string_first,
            strings=tuple(new_strings),  # type: ignore[arg-type]
            code_first=code_first,
            codes=CodeTable(
                filename=array("I", [c[0] for c in codes]),
                qualname=array("I", [c[1] for c in codes]),
                firstlineno=array("i", [c[2] for c in codes]),
            ),
            frame_first=frame_first,
            frames=FrameTable(
                code=array("I", [f[0] if py else 0 for f, py in zip(frames, python, strict=True)]),
                kind=array("I", [f[1] for f in frames]),
                lineno=array("i", [f[2] for f in frames]),
                end_lineno=array("i", [f[2] for f in frames]),
                col=array("i", [4 if py else -1 for py in python]),
                end_col=array("i", [20 if py else -1 for py in python]),
                opcode=array("i", [-1] * len(frames)),
                base_opcode=array("i", [-1] * len(frames)),
            ),
            node_first=node_first,
            stacks=StackTable(
                parent=array("I", [n[0] for n in nodes]), frame=array("I", [n[1] for n in nodes])
            ),
            thread_first=thread_first,
            threads=ThreadTable(
                thread_id=array("Q", threads),
                native_id=array(
                    "Q", [1000 + i for i in range(thread_first, thread_first + len(threads))]
                ),
                interpreter=array("q", [0] * len(threads)),
                name=array("i", [-1] * len(threads)),
            ),
            samples=SampleTable(
                time_ns=array("q", [s[0] for s in samples]),
                thread=array("I", [s[1] for s in samples]),
                stack=array("I", [s[2] for s in samples]),
                status=array("I", [s[3] for s in samples]),
                weight=array("I", weights if weights is not None else [1] * len(samples)),
            ),
        )


def changed(delta: ProfileDelta, **columns: object) -> ProfileDelta:
    """``delta`` with some columns replaced, named ``table__column`` (``samples__stack``)."""
    tables: dict[str, dict[str, object]] = {}
    for key, values in columns.items():
        table, column = key.split("__")
        tables.setdefault(table, {})[column] = values
    return attrs.evolve(
        delta,
        **{
            table: attrs.evolve(getattr(delta, table), **values) for table, values in tables.items()
        },
    )


MAIN = ("/srv/app/main.py", "<module>", 1, 30)
RUN = ("/srv/app/main.py", "run", 10, 12)
WALK_OUTER = ("/srv/app/main.py", "walk", 20, 22)
WALK_INNER = ("/srv/app/main.py", "walk", 20, 23)
PARSE = ("/srv/lib/parse.py", "Parser.parse", 5, 7)
THREAD_1 = 0x7F00_0000_1000
THREAD_2 = 0x7F00_0000_2000


def known_batches() -> list[ProfileDelta]:
    """A session of 13 samples on two threads, in three batches.

    ========================================  ========  =====
    stack (root first)                        thread    count
    ========================================  ========  =====
    MAIN RUN PARSE                            1         3
    MAIN RUN                                  1         2
    MAIN RUN WALK_OUTER WALK_INNER PARSE      2         4
    MAIN RUN WALK_OUTER <GC>                  2         1
    (no frame)                                1         2
    MAIN RUN PARSE                            2         1
    ========================================  ========  =====
    """
    builder = BatchBuilder()
    builder.sample([MAIN, RUN, PARSE], thread=THREAD_1, count=3)
    builder.sample([MAIN, RUN], thread=THREAD_1, count=2)
    first = builder.batch()
    builder.sample([MAIN, RUN, WALK_OUTER, WALK_INNER, PARSE], thread=THREAD_2, count=4)
    builder.sample([MAIN, RUN, WALK_OUTER, FrameKind.GC], thread=THREAD_2, count=1)
    second = builder.batch()
    builder.sample([], thread=THREAD_1, count=2, status=0)
    builder.sample([MAIN, RUN, PARSE], thread=THREAD_2, count=1)
    return [first, second, builder.batch()]
