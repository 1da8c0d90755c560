"""pysampler: a sampling profiler for CPython that reads processes from outside."""

from importlib import metadata as _metadata

from pysampler.errors import (
    NotPythonProcessError,
    PermissionDeniedError,
    ProcessNotFoundError,
    PySamplerError,
    TargetExitedError,
    UnsupportedPythonVersionError,
    UnwindError,
)
from pysampler.model import (
    Frame,
    FrameKind,
    Interpreter,
    PythonVersion,
    Snapshot,
    TargetInfo,
    Thread,
    ThreadStatus,
)
from pysampler.unwinder import Unwinder

try:
    __version__ = _metadata.version("pysampler")
except _metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Frame",
    "FrameKind",
    "Interpreter",
    "NotPythonProcessError",
    "PermissionDeniedError",
    "ProcessNotFoundError",
    "PySamplerError",
    "PythonVersion",
    "Snapshot",
    "TargetExitedError",
    "TargetInfo",
    "Thread",
    "ThreadStatus",
    "UnsupportedPythonVersionError",
    "UnwindError",
    "Unwinder",
    "__version__",
]
