# Stub for the cffi-compiled core; its functions are declared in pysampler.h.
from typing import Any

ffi: Any
lib: Any
