"""Collectors: what receives a sampling session's batches.

A collector implements :class:`Collector` (``start``, ``add`` per
:class:`~pysampler.profile.ProfileDelta`, ``finish``).  :class:`StackCollector` builds a
:class:`~pysampler.profile.Profile`; :class:`BinaryCollector` streams the
session to a file as it goes.
"""

from pysampler.collectors._base import Collector
from pysampler.collectors.binary import BinaryCollector
from pysampler.collectors.stack import StackCollector

__all__ = [
    "BinaryCollector",
    "Collector",
    "StackCollector",
]
