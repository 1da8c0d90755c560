"""Renderers: one output format each, found through entry points.

A renderer turns a :class:`~pysampler.profile.Profile` (or, for formats
that compare two runs, a :class:`~pysampler.views.diff.DiffProfile`) into
one format.  Renderers are registered in the ``pysampler.renderers``
entry-point group, the entry name being the format name and its value a
factory (usually the class) called with the renderer's keyword options::

    [project.entry-points."pysampler.renderers"]
    speedscope = "my_package.speedscope:SpeedscopeRenderer"

A renderer declares, as data, what the command line needs to offer it: its
:class:`Option` values (each becomes a ``--FORMAT-OPTION`` flag, and
``-O OPTION=VALUE`` reaches any of them), what it takes (``accepts``), and
whether it can write while sampling runs (:meth:`RendererBase.stream_collector`).
:class:`RendererBase` holds the defaults.  The built-in formats are
registered the same way.  :func:`available` lists the names without
importing anything; :func:`get` loads one.
``PYSAMPLER_DISABLE_PLUGIN_AUTOLOAD=1`` restricts both to the built-ins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol, TextIO

import attrs

from pysampler.collectors import Collector
from pysampler.errors import OutputError, PluginError
from pysampler.profile import Profile
from pysampler.views.diff import DiffProfile

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "GROUP",
    "STDOUT",
    "Option",
    "Renderer",
    "RendererBase",
    "RendererFactory",
    "RendererInput",
    "available",
    "default_output",
    "emit",
    "get",
    "options_of",
]

GROUP = "pysampler.renderers"
"""The entry-point group renderers are registered in."""
DISABLE_AUTOLOAD_ENV = "PYSAMPLER_DISABLE_PLUGIN_AUTOLOAD"
"""Set to 1 to see only the renderers pysampler itself ships."""
STDOUT = "-"
"""The output name that means standard output."""
_OWN_DISTRIBUTION = "pysampler"


RendererInput = Profile | DiffProfile
"""What a renderer renders: a profile, or one profile compared with a baseline."""


@attrs.frozen(kw_only=True)
class Option:
    """One option of a renderer: a keyword argument of its factory.

    The command line offers it as ``--FORMAT-NAME`` (underscores as dashes),
    as any extra ``flags`` (the spellings CPython's profiler uses, such as
    pstats' ``--sort``), and as ``-O NAME=VALUE``.
    """

    name: str
    """The keyword argument."""
    help: str
    """One line for ``--help``."""
    parse: Callable[[str], Any] = str
    """Turns the command line's text into the value (raises ValueError when it cannot)."""
    choices: tuple[str, ...] = ()
    """The values allowed, when they are few."""
    default: object = None
    """The factory's own default, for ``--help`` (None: not shown)."""
    flags: tuple[str, ...] = ()
    """More command-line spellings."""
    metavar: str | None = None


class Renderer(Protocol):
    """Turns a profile (or a comparison) into one output format.

    Options (sort order, limits, ...) are keyword arguments of the factory
    that makes the renderer, so ``render`` takes only what and where.
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
    accepts: ClassVar[type[Profile] | type[DiffProfile]]
    """What it renders; a DiffProfile renderer is given a baseline on the command line."""
    options: ClassVar[tuple[Option, ...]]
    """The factory's keyword options the command line offers."""

    def render(self, data: Any, path: Path, /) -> None:
        """Write the output to ``path`` (a file, or a directory for some formats)."""

    def render_text(self, data: Any, stream: TextIO, /) -> None:
        """Write the output as text to ``stream``, when :attr:`writes_text`."""

    def stream_collector(self, path: Path, /) -> Collector[object] | None:
        """A collector that writes ``path`` while sampling runs, or None."""


class RendererBase:
    """Defaults for a renderer.

    It renders a Profile, takes no options, is not text, and writes nothing
    while sampling; subclasses set :attr:`name` and :attr:`description`
    and define :meth:`render`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    default_output: ClassVar[str | None] = None
    writes_text: ClassVar[bool] = False
    accepts: ClassVar[type[Profile] | type[DiffProfile]] = Profile
    options: ClassVar[tuple[Option, ...]] = ()

    def render_text(self, data: Any, stream: TextIO, /) -> None:
        """Refused: this format is not text.

        Raises:
            OutputError: Always.
        """
        msg = f"{self.name} output is not text: name a file to write it to"
        raise OutputError(msg)

    def stream_collector(self, path: Path, /) -> Collector[object] | None:
        """None: this format is written once sampling has ended."""
        return None


def options_of(factory: RendererFactory) -> tuple[Option, ...]:
    """The options a renderer's factory declares (none for a bare function)."""
    declared = getattr(factory, "options", ())
    return tuple(option for option in declared if isinstance(option, Option))


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


def _metadata_profile(data: RendererInput) -> Profile:
    return data.current if isinstance(data, DiffProfile) else data


def default_output(renderer: Renderer, data: RendererInput) -> str | None:
    """Where ``renderer`` writes when no output is named (None: standard output)."""
    pattern = renderer.default_output
    return None if pattern is None else pattern.format(pid=_metadata_profile(data).metadata.pid)


def emit(
    renderer: Renderer,
    data: RendererInput,
    output: str | os.PathLike[str] | None = None,
    *,
    stdout: TextIO | None = None,
) -> Path | None:
    """Render where a user asked, as the CLI's ``-o`` means it.

    Args:
        renderer: The format.
        data: What to render: a Profile, or a DiffProfile for a renderer
            that accepts one.
        output: A path; ``"-"`` for standard output; None for the
            renderer's default (standard output or a file named after the pid).
        stdout: The stream standing for standard output (``sys.stdout``).

    Returns:
        The path written, or None when the output went to ``stdout``.

    Raises:
        OutputError: Standard output was asked of a format that is not
            text, or the renderer does not take this kind of data.
        OSError: The output cannot be written.
    """
    accepts = getattr(renderer, "accepts", Profile)
    if not isinstance(data, accepts):
        msg = f"{renderer.name} renders a {accepts.__name__}, not a {type(data).__name__}"
        raise OutputError(msg)
    if output is None:
        output = default_output(renderer, data)
    if output is None or os.fspath(output) == STDOUT:
        if not renderer.writes_text:
            msg = f"{renderer.name} output is not text: name a file to write it to"
            raise OutputError(msg)
        renderer.render_text(data, sys.stdout if stdout is None else stdout)
        return None
    path = Path(output)
    renderer.render(data, path)
    return path
