"""Only what pyproject.toml cannot say: the cffi extension module."""

from setuptools import setup

setup(
    cffi_modules=["src/pysampler/_c/_ffi_build.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
