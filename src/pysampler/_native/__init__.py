"""The only importer of the compiled core: loading, version check, errors."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, NoReturn

from pysampler import errors
from pysampler.model import FrameKind, ThreadStatus

try:
    from pysampler._c._core import ffi, lib
except ImportError as exc:  # pragma: no cover - a broken install
    msg = f"pysampler's compiled core is missing or broken ({exc}); reinstall with `pip install .`"
    raise errors.NativeVersionMismatchError(msg) from exc

if TYPE_CHECKING:
    from pysampler._c._core import CData  # the stub's name for cffi's cdata type
else:
    CData = ffi.CData

__all__ = ["CData", "ffi", "lib", "raise_for", "text"]


def _check_core_version() -> None:
    built = text(lib.ps_core_version())
    try:
        installed = metadata.version("pysampler")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return
    if built != installed:
        msg = (
            f"pysampler's compiled core is from version {built} but the package is "
            f"{installed}: rebuild it with `pip install .`"
        )
        raise errors.NativeVersionMismatchError(msg)


def text(pointer: CData, length: int | None = None) -> str:
    """A C string (UTF-8) as str; invalid bytes are replaced."""
    if pointer == ffi.NULL:
        return ""
    raw = ffi.string(pointer) if length is None else bytes(ffi.buffer(pointer, length))
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


_ERRORS: dict[int, type[errors.PySamplerError]] = {
    lib.PS_ENOPROC: errors.ProcessNotFoundError,
    lib.PS_EPERM: errors.PermissionDeniedError,
    lib.PS_ENOTPYTHON: errors.NotPythonProcessError,
    lib.PS_EVERSION: errors.UnsupportedPythonVersionError,
    lib.PS_EEXITED: errors.TargetExitedError,
}


def raise_for(code: int, message: str) -> NoReturn:
    """Raise the exception that a PS_E* code stands for."""
    raise _ERRORS.get(code, errors.UnwindError)(message)


def _check_shared_values() -> None:
    """The model's status bits and frame kinds are the C core's own numbers."""
    pairs: list[tuple[int, int]] = [
        (ThreadStatus.HAS_GIL, lib.PS_THREAD_HAS_GIL),
        (ThreadStatus.ON_CPU, lib.PS_THREAD_ON_CPU),
        (ThreadStatus.UNKNOWN, lib.PS_THREAD_UNKNOWN),
        (ThreadStatus.GIL_REQUESTED, lib.PS_THREAD_GIL_REQUESTED),
        (ThreadStatus.HAS_EXCEPTION, lib.PS_THREAD_HAS_EXCEPTION),
        (ThreadStatus.MAIN_THREAD, lib.PS_THREAD_MAIN),
        (FrameKind.PYTHON, lib.PS_FRAME_PYTHON),
        (FrameKind.NATIVE, lib.PS_FRAME_NATIVE),
        (FrameKind.GC, lib.PS_FRAME_GC),
    ]
    differ = [f"{value!r} is {native} in C" for value, native in pairs if value != native]
    if differ:
        msg = f"pysampler's model and its compiled core disagree: {'; '.join(differ)}"
        raise errors.NativeVersionMismatchError(msg)


_check_core_version()
_check_shared_values()
