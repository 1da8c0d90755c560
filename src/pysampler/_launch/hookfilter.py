"""Dropping the samples taken while a launched program sat in the start-up hook."""

from __future__ import annotations

from array import array
from pathlib import Path

import attrs

from pysampler.collectors import SampleBatch

__all__ = ["HookFilter"]

HOOK_FILE = str(Path(__file__).with_name("sitecustomize.py").resolve())


class HookFilter:
    """Removes samples whose stack runs through the start-up hook.

    The sampler starts before the program is let go, so its first samples
    show the hook waiting; once a sample without the hook is seen the hook
    is gone for good and the filter stops looking.
    """

    def __init__(self) -> None:
        """Start looking."""
        self.active = True
        self._strings: list[str] = []
        self._hook_codes: set[int] = set()
        self._hook_frames: set[int] = set()
        self._in_hook = bytearray(b"\0")  # per stack node; node 0 is the empty stack

    def apply(self, batch: SampleBatch) -> SampleBatch:
        """The batch without the hook's samples (tables are kept whole)."""
        if not self.active:
            return batch
        self._learn(batch)
        keep = [i for i, node in enumerate(batch.sample_stack) if not self._in_hook[node]]
        if keep:
            self.active = False
            keep = list(range(keep[0], len(batch.sample_stack)))
        return attrs.evolve(
            batch,
            sample_time_ns=array("q", (batch.sample_time_ns[i] for i in keep)),
            sample_thread=array("I", (batch.sample_thread[i] for i in keep)),
            sample_stack=array("I", (batch.sample_stack[i] for i in keep)),
            sample_status=array("I", (batch.sample_status[i] for i in keep)),
        )

    def _learn(self, batch: SampleBatch) -> None:
        self._strings.extend(batch.new_strings)
        for offset, filename in enumerate(batch.code_filename):
            if self._strings[filename] == HOOK_FILE:
                self._hook_codes.add(batch.code_first + offset)
        for offset, code in enumerate(batch.frame_code):
            if code in self._hook_codes:
                self._hook_frames.add(batch.frame_first + offset)
        for parent, frame in zip(batch.node_parent, batch.node_frame, strict=True):
            self._in_hook.append(self._in_hook[parent] or frame in self._hook_frames)
