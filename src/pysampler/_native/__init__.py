"""The only importer of the compiled core: loading, version check, errors."""

from __future__ import annotations

from importlib import metadata
from typing import Any, NoReturn

from pysampler import errors

try:
    from pysampler._c._core import ffi, lib
except ImportError as exc:  # pragma: no cover - a broken install
    msg = f"pysampler's compiled core is missing or broken ({exc}); reinstall with `pip install .`"
    raise errors.NativeVersionMismatchError(msg) from exc

__all__ = ["ffi", "lib", "raise_for", "text"]


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


def text(pointer: Any, length: int | None = None) -> str:
    """A C string (UTF-8) as str; invalid bytes are replaced."""
    if pointer == ffi.NULL:
        return ""
    raw: bytes = ffi.string(pointer) if length is None else bytes(ffi.buffer(pointer, length))
    return raw.decode("utf-8", "replace")


_ERRORS: dict[int, type[errors.PySamplerError]] = {
    -1: errors.ProcessNotFoundError,
    -2: errors.PermissionDeniedError,
    -3: errors.NotPythonProcessError,
    -4: errors.UnsupportedPythonVersionError,
    -5: errors.TargetExitedError,
}


def raise_for(code: int, message: str) -> NoReturn:
    """Raise the exception that a PS_E* code stands for."""
    raise _ERRORS.get(code, errors.UnwindError)(message)


_check_core_version()
