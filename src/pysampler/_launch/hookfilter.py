"""Dropping the samples taken while a launched program sat in the start-up hook."""

from __future__ import annotations

from pathlib import Path

import attrs

from pysampler.profile import ProfileDelta

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
        self.dropped = 0
        """Samples removed so far: instants before the program was let go."""
        self._strings: list[str] = []
        self._hook_codes: set[int] = set()
        self._hook_frames: set[int] = set()
        self._in_hook = bytearray(b"\0")  # per stack node; node 0 is the empty stack

    def apply(self, delta: ProfileDelta) -> ProfileDelta:
        """The delta without the hook's samples (tables are kept whole)."""
        if not self.active:
            return delta
        self._learn(delta)
        stacks = delta.samples.stack
        first = next((i for i, node in enumerate(stacks) if not self._in_hook[node]), len(stacks))
        if first < len(stacks):
            self.active = False
        self.dropped += first
        return attrs.evolve(delta, samples=delta.samples.rows(first, len(stacks)))

    def _learn(self, delta: ProfileDelta) -> None:
        self._strings.extend(delta.strings)
        for offset, filename in enumerate(delta.codes.filename):
            if self._strings[filename] == HOOK_FILE:
                self._hook_codes.add(delta.code_first + offset)
        for offset, code in enumerate(delta.frames.code):
            if code in self._hook_codes:
                self._hook_frames.add(delta.frame_first + offset)
        for parent, frame in zip(delta.stacks.parent, delta.stacks.frame, strict=True):
            self._in_hook.append(self._in_hook[parent] or frame in self._hook_frames)
