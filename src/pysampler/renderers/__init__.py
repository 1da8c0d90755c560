"""Renderers: one output format each, found through entry points.

A renderer turns a :class:`~pysampler.profile.Profile` into one format.
Renderers are registered in the ``pysampler.renderers`` entry-point group,
the entry name being the format name and its value a factory (usually the
class) called with the renderer's keyword options::

    [project.entry-points."pysampler.renderers"]
    speedscope = "my_package.speedscope:SpeedscopeRenderer"

The built-in formats are registered the same way.  :func:`available`
lists the names without importing anything; :func:`get` loads one.
``PYSAMPLER_DISABLE_PLUGIN_AUTOLOAD=1`` restricts both to the built-ins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TextIO

from pysampler.errors import OutputError, PluginError

if TYPE_CHECKING:
    from pysampler.profile import Profile

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "GROUP",
    "STDOUT",
    "Renderer",
    "RendererFactory",
    "available",
    "default_output",
    "emit",
    "get",
]

GROUP = "pysampler.renderers"
"""The entry-point group renderers are registered in."""
DISABLE_AUTOLOAD_ENV = "PYSAMPLER_DISABLE_PLUGIN_AUTOLOAD"
"""Set to 1 to see only the renderers pysampler itself ships."""
STDOUT = "-"
"""The output name that means standard output."""
_OWN_DISTRIBUTION = "pysampler"


class Renderer(Protocol):
    """Turns a profile into one output format.

    Options (sort order, limits, ...) are keyword arguments of the factory
    that makes the renderer, so ``render`` takes only where to write.
    """

    name: ClassVar[str]
    """The format name: the entry-point name, lowercase."""
    description: ClassVar[str]
    """One line for ``--help``."""
    default_output: ClassVar[str | None]
    """Where output goes when none is named: a file or directory name with
    ``{pid}`` replaced by the target's pid, or None for standard output."""
    writes_text: ClassVar[bool]
    """Whether :meth:`render_text` works (output can go to a text stream)."""

    def render(self, profile: Profile, path: Path, /) -> None:
        """Write the output to ``path`` (a file, or a directory for some formats)."""

    def render_text(self, profile: Profile, stream: TextIO, /) -> None:
        """Write the output as text to ``stream``, when :attr:`writes_text`."""


RendererFactory = Callable[..., Renderer]
"""What an entry point loads: called with keyword options, returns a renderer."""


def _entry_points() -> list[metadata.EntryPoint]:
    found = list(metadata.entry_points(group=GROUP))
    if os.environ.get(DISABLE_AUTOLOAD_ENV) == "1":
        found = [ep for ep in found if _distribution(ep) == _OWN_DISTRIBUTION]
    return found


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return dist.name if dist is not None else "<unknown distribution>"


def available() -> list[str]:
    """The names of every registered renderer, sorted; nothing is imported."""
    return sorted({ep.name for ep in _entry_points()})


def get(name: str) -> RendererFactory:
    """The factory of the renderer registered as ``name``.

    Raises:
        PluginError: No renderer has that name, two distributions register
            it, or it cannot be imported.
    """
    entries = _entry_points()
    matches = [ep for ep in entries if ep.name == name]
    if not matches:
        names = ", ".join(sorted({ep.name for ep in entries})) or "none"
        msg = f"unknown output format {name!r}; available: {names}"
        raise PluginError(msg)
    by_distribution = {_distribution(ep): ep for ep in matches}
    if len(by_distribution) > 1:
        owners = " and ".join(sorted(by_distribution))
        msg = f"output format {name!r} is registered by both {owners}; uninstall one"
        raise PluginError(msg)
    entry = matches[0]
    try:
        factory = entry.load()
    except Exception as error:  # a plugin's import can fail in any way
        msg = (
            f"output format {name!r} ({entry.value}, from {_distribution(entry)}) "
            f"could not be loaded: {error}"
        )
        raise PluginError(msg) from error
    if not callable(factory):
        msg = f"output format {name!r} ({entry.value}) is not a class or function"
        raise PluginError(msg)
    return factory  # type: ignore[no-any-return]


def default_output(renderer: Renderer, profile: Profile) -> str | None:
    """Where ``renderer`` writes when no output is named (None: standard output)."""
    pattern = renderer.default_output
    return None if pattern is None else pattern.format(pid=profile.metadata.pid)


def emit(
    renderer: Renderer,
    profile: Profile,
    output: str | os.PathLike[str] | None = None,
    *,
    stdout: TextIO | None = None,
) -> Path | None:
    """Render where a user asked, as the CLI's ``-o`` means it.

    Args:
        renderer: The format.
        profile: What to render.
        output: A path; ``"-"`` for standard output; None for the
            renderer's default (standard output or a file named after the pid).
        stdout: The stream standing for standard output (``sys.stdout``).

    Returns:
        The path written, or None when the output went to ``stdout``.

    Raises:
        OutputError: Standard output was asked of a format that is not text.
        OSError: The output cannot be written.
    """
    if output is None:
        output = default_output(renderer, profile)
    if output is None or os.fspath(output) == STDOUT:
        if not renderer.writes_text:
            msg = f"{renderer.name} output is not text: name a file to write it to"
            raise OutputError(msg)
        renderer.render_text(profile, sys.stdout if stdout is None else stdout)
        return None
    path = Path(output)
    renderer.render(profile, path)
    return path
