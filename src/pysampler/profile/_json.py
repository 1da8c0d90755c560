"""Plain-data forms of model values (JSON-ready dicts, lists and scalars)."""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs

from pysampler.model import FrameKind, ThreadStatus

__all__ = ["from_plain", "to_plain"]

T = TypeVar("T")


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(
        ThreadStatus, lambda status: [flag.name for flag in ThreadStatus if flag in status]
    )
    converter.register_unstructure_hook(FrameKind, lambda kind: kind.name.lower())
    return converter


_CONVERTER = _make_converter()


def to_plain(value: object) -> Any:
    """An attrs value as JSON-ready dicts, lists and scalars."""
    return _CONVERTER.unstructure(value)


def from_plain(data: object, cls: type[T]) -> T:
    """An attrs value of ``cls`` from what :func:`to_plain` made.

    Raises:
        cattrs.BaseValidationError: ``data`` does not fit ``cls``.
    """
    return _CONVERTER.structure(data, cls)
