"""pysampler: a sampling profiler for CPython that reads processes from outside."""

from importlib import metadata as _metadata

from pysampler.collectors import Collector, StackCollector
from pysampler.errors import (
    CollectorError,
    NotPythonProcessError,
    OutputError,
    PermissionDeniedError,
    PluginError,
    ProcessNotFoundError,
    ProfileFormatError,
    PySamplerError,
    SamplerStateError,
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
from pysampler.profile import Profile, ProfileMetadata
from pysampler.sampler import Sampler
from pysampler.unwinder import Unwinder
from pysampler.views.diff import DiffProfile

try:
    __version__ = _metadata.version("pysampler")
except _metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Collector",
    "CollectorError",
    "DiffProfile",
    "Frame",
    "FrameKind",
    "Interpreter",
    "NotPythonProcessError",
    "OutputError",
    "PermissionDeniedError",
    "PluginError",
    "ProcessNotFoundError",
    "Profile",
    "ProfileFormatError",
    "ProfileMetadata",
    "PySamplerError",
    "PythonVersion",
    "Sampler",
    "SamplerStateError",
    "Snapshot",
    "StackCollector",
    "TargetExitedError",
    "TargetInfo",
    "Thread",
    "ThreadStatus",
    "UnsupportedPythonVersionError",
    "UnwindError",
    "Unwinder",
    "__version__",
]
