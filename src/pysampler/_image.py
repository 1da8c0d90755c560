"""Unwinders over memory images instead of processes (private; for tests).

A memory image is a set of ``(address, bytes)`` segments laid out as a
CPython process would hold them.  The C core reads it through the same
reader interface as a live process, so an image exercises version
detection, ``_Py_DebugOffsets`` and the whole walk for interpreter
versions that are not installed.
"""

from __future__ import annotations

from collections.abc import Iterable

from pysampler._native import ffi, lib, raise_for, text
from pysampler.unwinder import Unwinder

__all__ = ["unwinder_from_image"]


def unwinder_from_image(
    segments: Iterable[tuple[int, bytes]], runtime_address: int, version_hex: int
) -> Unwinder:
    """An :class:`Unwinder` over ``segments``, with ``_PyRuntime`` at ``runtime_address``.

    ``version_hex`` is the ``Py_Version`` the image stands for (for example
    ``0x030E00F0`` for 3.14.0).  The unwinder reports pid 0.

    Raises:
        UnsupportedPythonVersionError: the image's version or build is refused.
        UnwindError: the segments overlap or are otherwise unusable.
    """
    pieces = [(int(address), bytes(data)) for address, data in segments]
    array = ffi.new("ps_image_segment[]", max(len(pieces), 1))
    keep = []
    for i, (address, data) in enumerate(pieces):
        buffer = ffi.from_buffer(data)
        keep.append(buffer)
        array[i].address = address
        array[i].data = buffer
        array[i].size = len(data)
    handle = ffi.new("ps_unwinder **")
    errbuf = ffi.new("char[]", 512)
    code = lib.ps_unwinder_from_image(
        array, len(pieces), runtime_address, version_hex, handle, errbuf, 512
    )
    del keep
    if code != 0:
        raise_for(code, text(errbuf))
    return Unwinder._from_native(0, handle[0])
