"""What collectors receive: session information and batches of samples."""

from __future__ import annotations

from array import array
from typing import Protocol, TypeVar

import attrs

from pysampler.model import PythonVersion

__all__ = ["Collector", "SampleBatch", "SessionInfo", "SessionStats"]

P_co = TypeVar("P_co", covariant=True)


@attrs.frozen
class SessionInfo:
    """What is known when sampling starts."""

    pid: int
    command_line: tuple[str, ...]
    python_version: PythonVersion
    interval_ns: int
    """Requested time between samples; 0 means as fast as possible."""
    mode: str
    """``wall``, ``cpu``, ``gil`` or ``exception``."""
    all_threads: bool
    opcodes: bool
    start_time: float
    """Seconds since the epoch."""
    opcode_names: tuple[str, ...] = ()
    """The target version's opcode names by number ("" where unused)."""


@attrs.frozen
class SessionStats:
    """How sampling went, known when it ends."""

    duration_ns: int
    taken: int
    """Samples attempted (one per sampling instant, whatever threads it kept)."""
    failed: int
    """Failed samples: instants whose snapshot failed, plus each wanted thread
    whose stack could not be read at an instant."""
    late: int
    """Deadlines missed because sampling fell behind the requested rate."""
    ended_by: str
    """``stopped``, ``duration``, ``exited`` (the target) or ``failed``."""


@attrs.frozen
class SampleBatch:
    """Everything the sampler collected since the previous batch.

    Ids are global to the session and only grow: each ``new_*`` table holds
    the entries numbered from its ``*_first`` id on.  Samples refer to
    threads and stack nodes by id; a stack node is (parent node, frame), node
    0 being the empty stack; a frame refers to a code entry, which refers to
    strings.
    """

    string_first: int
    new_strings: tuple[str, ...]
    code_first: int
    code_filename: array[int]
    code_qualname: array[int]
    code_firstlineno: array[int]
    frame_first: int
    frame_code: array[int]
    frame_kind: array[int]
    frame_lineno: array[int]
    frame_end_lineno: array[int]
    frame_col: array[int]
    frame_end_col: array[int]
    frame_opcode: array[int]
    frame_base_opcode: array[int]
    node_first: int
    node_parent: array[int]
    node_frame: array[int]
    thread_first: int
    thread_id: array[int]
    thread_native_id: array[int]
    thread_interpreter: array[int]
    thread_name: array[int]
    """A string id per thread: its ``threading`` name; -1 where unknown."""
    sample_time_ns: array[int]
    sample_thread: array[int]
    sample_stack: array[int]
    sample_status: array[int]
    renamed_thread: array[int] = attrs.Factory(lambda: array("I"))
    """Threads sent in an earlier batch whose name became known since."""
    renamed_name: array[int] = attrs.Factory(lambda: array("q"))
    """Their names, as string ids (of this batch or an earlier one)."""


class Collector(Protocol[P_co]):
    """Receives a sampling session batch by batch and builds a result."""

    def start(self, info: SessionInfo, /) -> None:
        """Sampling is about to start."""

    def add(self, batch: SampleBatch, /) -> None:
        """Take the samples and table entries of one batch."""

    def finish(self, stats: SessionStats, /) -> P_co:
        """Sampling ended: return the result."""
