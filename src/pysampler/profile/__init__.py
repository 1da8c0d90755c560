"""The profile: one columnar data model that every output reads.

A :class:`Profile` holds what a sampling session collected, as tables of
``array`` columns that only grow, each row numbered by its position:

- ``strings``: interned text (file names, qualified names);
- ``codes``: code objects (file name, qualified name, first line);
- ``frames``: a code object at a position (line, columns, opcode);
- ``stacks``: a prefix tree of stack nodes, each (parent node, frame);
  node 0 is the empty stack, the parent of every root frame;
- ``threads``: the threads samples were taken from;
- ``samples``: one row per thread per sampling instant: time, thread,
  stack (its leaf node), status bits and weight.

Frames of kind :attr:`~pysampler.model.FrameKind.NATIVE` or
:attr:`~pysampler.model.FrameKind.GC` are markers: their code id means
nothing, they are labelled ``<native>`` / ``<GC>`` in file ``~``.
"""

from pysampler.profile._profile import MARKER_FILENAME, FunctionKey, Profile, ProfileMetadata
from pysampler.profile._tables import (
    CodeTable,
    FrameTable,
    ProfileDelta,
    SampleTable,
    StackTable,
    TableLengths,
    ThreadTable,
)

__all__ = [
    "MARKER_FILENAME",
    "CodeTable",
    "FrameTable",
    "FunctionKey",
    "Profile",
    "ProfileDelta",
    "ProfileMetadata",
    "SampleTable",
    "StackTable",
    "TableLengths",
    "ThreadTable",
]
