"""Differential flamegraph output: what got slower, what got faster, what disappeared.

One self-contained HTML file, the flamegraph page in its differential
mode.  Widths are the current profile's time; a frame's colour is the
change of its total time against the baseline: red shades for regressions,
blue shades for improvements, neutral (grey) under
:data:`~pysampler.renderers._diffpayload.NEUTRAL_PERCENT` percent, with
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

from typing import ClassVar

import attrs

from pysampler.errors import PluginError
from pysampler.profile import Profile
from pysampler.renderers._diffpayload import diff_payload
from pysampler.renderers.flamegraph import FlamegraphRenderer, page_html
from pysampler.views.diff import DiffProfile

__all__ = ["DiffFlamegraphRenderer", "diff_flamegraph_html"]


def diff_flamegraph_html(baseline: Profile, current: Profile) -> str:
    """The differential flamegraph page of ``current`` against ``baseline``."""
    return page_html(diff_payload(DiffProfile.compare(baseline, current)))


@attrs.define(kw_only=True, init=False)
class DiffFlamegraphRenderer(FlamegraphRenderer):
    """A differential flamegraph against a baseline profile, in one HTML file.

    Made with the baseline: ``renderers.get("diff-flamegraph")(baseline=Profile.load(path))``.
    """

    name: ClassVar[str] = "diff-flamegraph"
    description: ClassVar[str] = (
        "a differential flamegraph against a baseline profile: widths are the current "
        "run's time, red slower, blue faster, plus the call paths that disappeared"
    )
    default_output: ClassVar[str | None] = "diff_flamegraph.{pid}.html"

    baseline: Profile = attrs.field(repr=False)
    """What every profile rendered is compared with."""

    def __init__(self, *, baseline: Profile | None = None) -> None:
        """Compare every profile rendered against ``baseline``.

        Raises:
            PluginError: No baseline was given.
        """
        if baseline is None:
            msg = (
                "the diff-flamegraph output needs a baseline profile: on the command line "
                "--diff-flamegraph BASELINE (a profile saved with --binary), in Python "
                "renderers.get('diff-flamegraph')(baseline=Profile.load(path))"
            )
            raise PluginError(msg)
        self.__attrs_init__(baseline=baseline)

    def page(self, profile: Profile) -> str:
        """The page comparing ``profile`` with the baseline, as one HTML document."""
        return diff_flamegraph_html(self.baseline, profile)
