"""Plain-data forms of the model, for JSON output."""

from __future__ import annotations

from typing import Any

import cattrs

from pysampler.model import FrameKind, Snapshot, TargetInfo, ThreadStatus

__all__ = ["snapshot_to_json"]


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
