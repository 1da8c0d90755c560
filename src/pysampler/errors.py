"""The exceptions pysampler raises.

Every error is a :class:`PySamplerError`, and each also derives from the
builtin exception it resembles, so ``except ProcessLookupError`` works too.
"""

from __future__ import annotations

__all__ = [
    "CollectorError",
    "NativeVersionMismatchError",
    "NotPythonProcessError",
    "OutputError",
    "PermissionDeniedError",
    "PluginError",
    "ProcessNotFoundError",
    "ProfileFormatError",
    "PySamplerError",
    "SamplerStateError",
    "TargetExitedError",
    "UnsupportedPythonVersionError",
    "UnwindError",
]

PTRACE_HINT = (
    "reading another process's memory needs the same user and ptrace access: run as root, "
    "grant CAP_SYS_PTRACE (docker: --cap-add SYS_PTRACE), or lower "
    "/proc/sys/kernel/yama/ptrace_scope to 0"
)


class PySamplerError(Exception):
    """Base class of every error pysampler raises."""


class ProcessNotFoundError(PySamplerError, ProcessLookupError):
    """No process has the given pid."""


class PermissionDeniedError(PySamplerError, PermissionError):
    """The target's memory may not be read by this process."""

    def __init__(self, message: str) -> None:
        """Add the hint on how to get ptrace access to ``message``."""
        super().__init__(f"{message} ({PTRACE_HINT})")


class NotPythonProcessError(PySamplerError, ValueError):
    """The process holds no CPython interpreter pysampler can find."""


class UnsupportedPythonVersionError(PySamplerError, RuntimeError):
    """The target runs a CPython version or build pysampler cannot read."""


class TargetExitedError(PySamplerError, ProcessLookupError):
    """The target exited while it was being read."""


class UnwindError(PySamplerError, RuntimeError):
    """The target's memory held something that could not be unwound."""


class SamplerStateError(PySamplerError, RuntimeError):
    """A sampler was used out of order (stopped before starting, started twice)."""


class NativeVersionMismatchError(PySamplerError, ImportError):
    """The compiled core was built for another pysampler version: reinstall."""


class CollectorError(PySamplerError, RuntimeError):
    """A collector was fed out of order.

    A batch came before ``start`` or after ``finish``, or its ids do not
    continue the tables built so far, or it refers to entries that do not exist.
    """


class ProfileFormatError(PySamplerError, ValueError):
    """A file is not a pysampler profile, or is corrupt where reading starts."""


class PluginError(PySamplerError, LookupError):
    """A plugin is unknown, registered twice, or cannot be loaded."""


class OutputError(PySamplerError, ValueError):
    """An output cannot go where it was asked to (binary data to a terminal)."""
