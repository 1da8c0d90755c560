"""Differential flamegraph output: what got slower, what got faster, what disappeared.

One self-contained HTML file, the flamegraph page in its differential
mode.  Widths are the current profile's time; a frame's colour is the
change of its total time against the baseline: red shades for regressions,
blue shades for improvements, neutral (grey) under
:data:`~pysampler.renderers.flamegraph._diffpayload.NEUTRAL_PERCENT` percent, with
stronger shades from 30, 50 and 100 percent; frames that are new have
their own colour.  Both profiles are in seconds (samples times the time
per sample) and the baseline is scaled to the current total, so runs of
different length or rate compare; frames are matched by their call path of
(file, function), not by line (see :class:`~pysampler.views.diff.DiffProfile`).

Tooltips give both runs' self and total time, the difference and the
difference in percent.  When call paths of the baseline are gone, an
"Elided" toggle shows only those paths, with their baseline time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import attrs

from pysampler.profile import Profile
from pysampler.renderers import RendererBase
from pysampler.renderers.flamegraph import page_html
from pysampler.renderers.flamegraph._diffpayload import diff_payload
from pysampler.views.diff import DiffProfile

__all__ = ["DiffFlamegraphRenderer", "diff_flamegraph_html"]


def diff_flamegraph_html(baseline: Profile, current: Profile) -> str:
    """The differential flamegraph page of ``current`` against ``baseline``."""
    return page_html(diff_payload(DiffProfile.compare(baseline, current)))


@attrs.define(kw_only=True)
class DiffFlamegraphRenderer(RendererBase):
    """A differential flamegraph of a :class:`~pysampler.views.diff.DiffProfile`, in one HTML file.

    ``renderers.get("diff-flamegraph")().render(DiffProfile.compare(baseline, current), path)``;
    on the command line ``--diff-flamegraph BASELINE`` (or ``pysampler diff
    BASELINE CURRENT -o FILE``).
    """

    name = "diff-flamegraph"
    description = (
        "a differential flamegraph against BASELINE (a profile saved with --binary): widths "
        "are this run's time, red frames got slower, blue faster, and an Elided view shows "
        "what disappeared; one HTML file (default diff_flamegraph.PID.html)"
    )
    default_output = "diff_flamegraph.{pid}.html"
    writes_text = True
    accepts = DiffProfile

    def page(self, diff: DiffProfile) -> str:
        """The page of ``diff``, as one HTML document."""
        return page_html(diff_payload(diff))

    def render(self, diff: DiffProfile, path: Path, /) -> None:
        """Write the page to ``path`` (UTF-8)."""
        path.write_text(self.page(diff), encoding="utf-8", newline="\n")

    def render_text(self, diff: DiffProfile, stream: TextIO, /) -> None:
        """Write the page to a text stream."""
        stream.write(self.page(diff))
