"""Builds SampleBatch values the way the C sampler does: interned, ids growing.

A stack is given root first, as a sequence of frames: ``(filename, qualname,
firstlineno, lineno)`` tuples or a :class:`~pysampler.model.FrameKind`
marker.  Each :meth:`BatchBuilder.batch` returns the table entries created
since the previous batch, plus the samples recorded since then.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from pysampler.collectors import SampleBatch, SessionInfo, SessionStats
from pysampler.model import FrameKind, PythonVersion

PyFrame = tuple[str, str, int, int]
FrameSpec = PyFrame | FrameKind


def session_info(*, interval_ns: int = 1_000_000, **changes: object) -> SessionInfo:
    values: dict[str, object] = {
        "pid": 4242,
        "command_line": ("python", "app.py", "--fast"),
        "python_version": PythonVersion(3, 12, 1),
        "interval_ns": interval_ns,
        "mode": "wall",
        "all_threads": True,
        "opcodes": False,
        "start_time": 1_700_000_000.5,
        "opcode_names": ("CACHE", "POP_TOP", ""),
    }
    values.update(changes)
    return SessionInfo(**values)  # type: ignore[arg-type]


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

    def batch(self) -> SampleBatch:
        """The entries and samples added since the previous batch."""
        string_first = self._sent["strings"]
        new_strings = self._new("strings", self.strings)  # type: ignore[arg-type]
        code_first = self._sent["codes"]
        codes = self._new("codes", self.codes)  # type: ignore[arg-type]
        frame_first = self._sent["frames"]
        frames = self._new("frames", self.frames)  # type: ignore[arg-type]
        node_first = self._sent["nodes"] + 1
        nodes = self._new("nodes", self.nodes)  # type: ignore[arg-type]
        thread_first = self._sent["threads"]
        threads = self._new("threads", self.threads)  # type: ignore[arg-type]
        samples, self._samples = self._samples, []

        def column(typecode: str, values: object) -> array[int]:
            return array(typecode, values)  # type: ignore[call-overload]

        return SampleBatch(
            string_first=string_first,
            new_strings=tuple(new_strings),  # type: ignore[arg-type]
            code_first=code_first,
            code_filename=column("I", [c[0] for c in codes]),  # type: ignore[index]
            code_qualname=column("I", [c[1] for c in codes]),  # type: ignore[index]
            code_firstlineno=column("i", [c[2] for c in codes]),  # type: ignore[index]
            frame_first=frame_first,
            frame_code=column("I", [f[0] if f[1] == 0 else 0 for f in frames]),  # type: ignore[index]
            frame_kind=column("I", [f[1] for f in frames]),  # type: ignore[index]
            frame_lineno=column("i", [f[2] for f in frames]),  # type: ignore[index]
            frame_end_lineno=column("i", [f[2] for f in frames]),  # type: ignore[index]
            frame_col=column("i", [4 if f[1] == 0 else -1 for f in frames]),  # type: ignore[index]
            frame_end_col=column("i", [20 if f[1] == 0 else -1 for f in frames]),  # type: ignore[index]
            frame_opcode=column("i", [-1] * len(frames)),
            frame_base_opcode=column("i", [-1] * len(frames)),
            node_first=node_first,
            node_parent=column("I", [n[0] for n in nodes]),  # type: ignore[index]
            node_frame=column("I", [n[1] for n in nodes]),  # type: ignore[index]
            thread_first=thread_first,
            thread_id=column("Q", threads),
            thread_native_id=column(
                "Q", [1000 + i for i in range(thread_first, thread_first + len(threads))]
            ),
            thread_interpreter=column("q", [0] * len(threads)),
            thread_name=column("q", [-1] * len(threads)),
            sample_time_ns=column("q", [s[0] for s in samples]),
            sample_thread=column("I", [s[1] for s in samples]),
            sample_stack=column("I", [s[2] for s in samples]),
            sample_status=column("I", [s[3] for s in samples]),
        )


MAIN = ("/srv/app/main.py", "<module>", 1, 30)
RUN = ("/srv/app/main.py", "run", 10, 12)
WALK_OUTER = ("/srv/app/main.py", "walk", 20, 22)
WALK_INNER = ("/srv/app/main.py", "walk", 20, 23)
PARSE = ("/srv/lib/parse.py", "Parser.parse", 5, 7)
THREAD_1 = 0x7F00_0000_1000
THREAD_2 = 0x7F00_0000_2000


def known_batches() -> list[SampleBatch]:
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
