"""Plain-data forms of the model, for JSON output."""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs

from pysampler.model import FrameKind, Snapshot, TargetInfo, ThreadStatus

__all__ = ["from_plain", "snapshot_to_json", "to_plain"]

T = TypeVar("T")


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(
        ThreadStatus, lambda status: [flag.name for flag in ThreadStatus if flag in status]
    )
    converter.register_unstructure_hook(FrameKind, lambda kind: kind.name.lower())
    return converter


_CONVERTER = _make_converter()


def snapshot_to_json(snapshot: Snapshot, target: TargetInfo) -> dict[str, Any]:
    """A snapshot and its target as JSON-ready dicts and lists."""
    data: dict[str, Any] = _CONVERTER.unstructure(snapshot)
    data["python_version"] = str(snapshot.python_version)
    data["binary"] = target.binary
    return data


def to_plain(value: object) -> Any:
    """An attrs value as JSON-ready dicts, lists and scalars."""
    return _CONVERTER.unstructure(value)


def from_plain(data: object, cls: type[T]) -> T:
    """An attrs value of ``cls`` from what :func:`to_plain` made.

    Raises:
        cattrs.BaseValidationError: ``data`` does not fit ``cls``.
    """
    return _CONVERTER.structure(data, cls)
