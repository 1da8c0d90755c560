"""Collapsed stacks: Brendan Gregg's folded format, one line per distinct stack.

Each line is the stack root first, frames joined by ``;``, a space and the
summed sample weight::

    tid:140234;app.py:main:12;app.py:work:40;lib.py:parse:7 31

Frames are labelled as the stdlib sampling profiler labels them,
``filename:qualname:lineno`` with the base name of the file and the line
the frame was executing (0 when unknown); markers are their bare name
(``<GC>``, ``<native>``).  ``;`` in a label becomes ``,`` and line breaks
become spaces, so every line parses.  With ``thread_prefix`` (the default,
as in the stdlib tool) each stack starts with ``tid:<thread ident>``.
Samples without any frame are left out: the counts sum to the samples that
held a Python stack.  Lines are sorted by count, largest first, then by text.

flamegraph.pl, inferno, speedscope and most flame graph tools read it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TextIO

import attrs

from pysampler.profile import Profile
from pysampler.renderers import Option, RendererBase

__all__ = ["CollapsedRenderer", "collapsed_lines"]


def _clean(label: str) -> str:
    return label.replace(";", ",").replace("\r", " ").replace("\n", " ")


def collapsed_lines(
    profile: Profile, *, thread_prefix: bool = True, full_paths: bool = False
) -> list[tuple[str, int]]:
    """Each distinct stack as (folded text, summed weight), sorted as written."""
    frame_labels: dict[int, str] = {}

    def frame_label(frame: int) -> str:
        label = frame_labels.get(frame)
        if label is None:
            qualname = profile.frame_qualname(frame)
            if profile.is_marker(frame):
                label = _clean(qualname)
            else:
                filename = profile.frame_filename(frame)
                if not full_paths:
                    filename = PurePosixPath(filename).name or filename
                lineno = profile.frame_lineno(frame) or 0
                label = _clean(f"{filename}:{qualname}:{lineno}")
            frame_labels[frame] = label
        return label

    stack_texts: dict[int, str] = {}

    def stack_text(node: int) -> str:
        text = stack_texts.get(node)
        if text is None:
            labels = [frame_label(frame) for frame in profile.stack_frames(node)]
            text = ";".join(reversed(labels))
            stack_texts[node] = text
        return text

    totals: dict[str, int] = {}
    if thread_prefix:
        thread_ids = profile.threads.thread_id
        for (thread, node), weight in profile.weight_by_thread_and_stack().items():
            if node == profile.EMPTY_STACK:
                continue
            text = f"tid:{thread_ids[thread]};{stack_text(node)}"
            totals[text] = totals.get(text, 0) + weight
    else:
        for node, weight in profile.weight_by_stack().items():
            if node == profile.EMPTY_STACK:
                continue
            text = stack_text(node)
            totals[text] = totals.get(text, 0) + weight
    return sorted(totals.items(), key=lambda line: (-line[1], line[0]))


def _yes_no(text: str) -> bool:
    """``yes``/``no`` (or ``true``/``false``, ``1``/``0``) as a bool."""
    value = text.strip().lower()
    if value in ("yes", "true", "1", "on"):
        return True
    if value in ("no", "false", "0", "off"):
        return False
    msg = f"not yes or no: {text!r}"
    raise ValueError(msg)


@attrs.define(kw_only=True)
class CollapsedRenderer(RendererBase):
    """Folded stacks for flame graph tools."""

    name = "collapsed"
    description = (
        "Brendan Gregg's folded stacks (frame;frame;... count), one line per stack, "
        "for flame graph tools"
    )
    default_output = "collapsed.{pid}.txt"
    writes_text = True
    options = (
        Option(
            name="thread_prefix",
            help="start each stack with tid:IDENT (yes/no)",
            parse=_yes_no,
            default="yes",
            metavar="YES|NO",
        ),
        Option(
            name="full_paths",
            help="label frames with the whole file path, not its base name (yes/no)",
            parse=_yes_no,
            default="no",
            metavar="YES|NO",
        ),
    )

    thread_prefix: bool = True
    """Start each stack with ``tid:<thread ident>``."""
    full_paths: bool = False
    """Label frames with the whole file path rather than its base name."""

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write the folded stacks to a UTF-8 file."""
        with path.open("w", encoding="utf-8", errors="surrogateescape", newline="\n") as stream:
            self.render_text(profile, stream)

    def render_text(self, profile: Profile, stream: TextIO, /) -> None:
        """Write the folded stacks, one per line."""
        lines = collapsed_lines(
            profile, thread_prefix=self.thread_prefix, full_paths=self.full_paths
        )
        stream.writelines(f"{text} {count}\n" for text, count in lines)
