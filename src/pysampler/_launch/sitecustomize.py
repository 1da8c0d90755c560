"""Start-up hook of a target launched by ``pysampler run`` (never imported by pysampler).

It runs inside the target as its interpreter starts, after the runtime is
up and before the first line of the program: it tells pysampler it is
ready, waits until sampling has begun, then hands over to any
sitecustomize it shadowed.  It leaves no frame behind on the program's
stacks and nothing in the environment of the program's own children.
Runs on every CPython pysampler reads, 3.8 included.
"""

import importlib
import os
import sys
from pathlib import Path


def _handshake() -> None:
    ready = int(os.environ.pop("PYSAMPLER_READY_FD"))
    go = int(os.environ.pop("PYSAMPLER_GO_FD"))
    os.write(ready, b"r")
    os.close(ready)
    os.read(go, 1)
    os.close(go)


def _restore_path() -> None:
    here = Path(__file__).resolve().parent
    original = os.environ.pop("PYSAMPLER_ORIGINAL_PYTHONPATH", None)
    if original is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = original
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    me = sys.modules.pop(__name__)
    try:
        importlib.import_module("sitecustomize")  # the one this module shadowed, if any
    except ImportError:
        sys.modules[__name__] = me  # the import system expects an entry back


if "PYSAMPLER_READY_FD" in os.environ:
    _handshake()
_restore_path()
