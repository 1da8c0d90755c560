"""The output flags, built from what each installed renderer declares.

Every renderer in the ``pysampler.renderers`` entry-point group becomes a
``--NAME`` flag (``--NAME BASELINE`` for one that renders a comparison),
each of its options a ``--NAME-OPTION`` flag (plus the spellings it asks
for, such as pstats' ``--sort``, where no other format took them first),
and ``-O OPTION=VALUE`` reaches any option of the chosen format.  Nothing
here knows one renderer from another, but for which formats a command
starts from when none is named.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import attrs

from pysampler import renderers
from pysampler.collectors import Collector
from pysampler.errors import OutputError, PluginError
from pysampler.profile import Profile
from pysampler.renderers import Option, Renderer, RendererFactory
from pysampler.views.diff import DiffProfile

__all__ = [
    "DEFAULT_FORMAT",
    "DIFF_FILE_FORMAT",
    "DIFF_TEXT_FORMAT",
    "OutputChoice",
    "add_output_options",
    "output_choice",
]

DEFAULT_FORMAT = "pstats"
"""What run, attach and replay write when no format is named."""
DIFF_TEXT_FORMAT = "diff-table"
"""What ``pysampler diff`` prints when neither a format nor a file is named."""
DIFF_FILE_FORMAT = "diff-flamegraph"
"""What ``pysampler diff -o FILE`` writes when no format is named."""

_OPTION_DEST = "render_option:{}:{}"


@attrs.frozen
class _Offered:
    """An installed renderer: its factory, or why it could not be loaded."""

    name: str
    factory: RendererFactory | None
    problem: str | None = None

    @property
    def compares(self) -> bool:
        """It renders a comparison (a DiffProfile), so it needs a baseline."""
        return getattr(self.factory, "accepts", Profile) is DiffProfile

    @property
    def options(self) -> tuple[Option, ...]:
        return renderers.options_of(self.factory) if self.factory else ()


@cache
def _installed() -> tuple[_Offered, ...]:
    """Every registered renderer, loaded (plugins that fail to load say why)."""
    found = []
    for name in renderers.available():
        try:
            found.append(_Offered(name, renderers.get(name)))
        except PluginError as error:
            found.append(_Offered(name, None, str(error)))
    return tuple(found)


class _FormatAction(argparse.Action):
    """``--NAME`` (or ``--NAME BASELINE``): the format, and the baseline if any."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        namespace.format = self.const
        if values:
            namespace.format_baseline = values[0]


def _description(offered: _Offered) -> str:
    if offered.factory is None:
        return f"(a plugin that could not be loaded: {offered.problem})"
    return str(getattr(offered.factory, "description", f"the {offered.name} renderer"))


def _parse_with(option: Option) -> Any:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except (TypeError, ValueError) as error:
            msg = f"{text!r}: {error}"
            raise argparse.ArgumentTypeError(msg) from None

    parse.__name__ = option.name  # argparse names the type in its messages
    return parse


def add_output_options(parser: argparse.ArgumentParser, *, comparing: bool = False) -> None:
    """The format flags, their options, ``-O`` and ``-o``.

    ``comparing``: the command renders a comparison it makes itself (``pysampler
    diff``), so only formats that render one are offered, without a baseline.
    """
    offered = [o for o in _installed() if not comparing or o.compares or o.factory is None]
    # Formats of a single run claim shared spellings first.
    offered.sort(key=lambda o: (o.compares != comparing, o.name))
    group = parser.add_argument_group("output format")
    formats = group.add_mutually_exclusive_group()
    for entry in offered:
        formats.add_argument(
            f"--{entry.name}",
            action=_FormatAction,
            nargs=1 if entry.compares and not comparing else 0,
            const=entry.name,
            metavar="BASELINE",
            help=_description(entry),
        )
    formats.add_argument("--format", metavar="NAME", help="any installed format, by name")
    group.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write ('-' for stdout); default: stdout for text tables and "
        "folded stacks, a file named after the pid for other formats",
    )
    group.add_argument(
        "-O",
        "--render-option",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="an option of the chosen format (its options are listed below)",
    )
    taken = {flag for action in parser._actions for flag in action.option_strings}
    for entry in offered:
        if not entry.options:
            continue
        options = parser.add_argument_group(f"{entry.name} options")
        for option in entry.options:
            own = f"--{entry.name}-{option.name.replace('_', '-')}"
            flags = [own, *(flag for flag in option.flags if flag not in taken)]
            taken.update(flags)
            default = "" if option.default is None else f" (default: {option.default})"
            options.add_argument(
                *flags,
                dest=_OPTION_DEST.format(entry.name, option.name),
                type=_parse_with(option),
                choices=option.choices or None,
                metavar=option.metavar,
                default=None,
                help=option.help + default,
            )
    parser.set_defaults(format=None, format_baseline=None)


@attrs.define
class OutputChoice:
    """The renderer chosen on the command line, with its options, and where it writes."""

    name: str
    renderer: Renderer
    output: str | None
    baseline: Profile | None = None
    """What a comparing format compares each run against."""
    stream: Collector[object] | None = None
    """The collector that writes the output while sampling runs, when the format can."""

    def render(self, profile: Profile) -> Path | None:
        """Render ``profile`` (compared with the baseline, for a comparing format)."""
        data: renderers.RendererInput = profile
        if self.baseline is not None:
            data = DiffProfile.compare(self.baseline, profile)
        return renderers.emit(self.renderer, data, self.output)


def _given_options(args: argparse.Namespace) -> dict[tuple[str, str], Any]:
    """(format, option) -> value of every option flag given."""
    given = {}
    for dest, value in vars(args).items():
        if dest.startswith("render_option:") and value is not None:
            _, name, option = dest.split(":")
            given[name, option] = value
    return given


def _option_values(entry: _Offered, args: argparse.Namespace) -> dict[str, Any]:
    """The chosen format's options from its flags and ``-O``.

    Raises:
        OutputError: An option of another format, an unknown ``-O`` option,
            or a value that does not parse.
    """
    values: dict[str, Any] = {}
    for (name, option_name), value in _given_options(args).items():
        if name != entry.name:
            owner = next(o for o in _installed() if o.name == name)
            extra = next(opt.flags for opt in owner.options if opt.name == option_name)
            flags = ", ".join([f"--{name}-{option_name.replace('_', '-')}", *extra])
            msg = (
                f"an option of the {name} format ({flags}) was given, "
                f"but the output format is {entry.name}"
            )
            raise OutputError(msg)
        values[option_name] = value
    declared = {option.name: option for option in entry.options}
    for item in args.render_option:
        key, sep, text = item.partition("=")
        option = declared.get(key.strip().replace("-", "_"))
        if not sep or option is None:
            known = ", ".join(sorted(declared)) or "none"
            msg = f"-O {item}: the {entry.name} format has no such option (its options: {known})"
            raise OutputError(msg)
        try:
            values[option.name] = option.parse(text)
        except (TypeError, ValueError) as error:
            msg = f"-O {item}: {error}"
            raise OutputError(msg) from None
        if option.choices and text not in option.choices:
            msg = f"-O {item}: choose one of {', '.join(option.choices)}"
            raise OutputError(msg)
    return values


def output_choice(
    args: argparse.Namespace,
    default: str,
    *,
    load: Callable[[str], Profile] = Profile.load,
    comparing: bool = False,
    shared: dict[str, Any] | None = None,
) -> OutputChoice:
    """The renderer asked for, made with its options; a baseline is read now.

    ``comparing``: the command makes the comparison itself (``pysampler diff``).
    ``shared``: options the command itself takes, given to the format when
    it declares them too (the format's own flags win).

    Raises:
        PluginError: The format is unknown or could not be loaded.
        OutputError: Its options do not fit, or it needs a baseline none was given for.
    """
    name = args.format or default
    entry = next((o for o in _installed() if o.name == name), None)
    factory = renderers.get(name) if entry is None or entry.factory is None else entry.factory
    entry = entry or _Offered(name, factory)
    declared = {option.name for option in entry.options}
    values = {k: v for k, v in (shared or {}).items() if k in declared}
    values.update(_option_values(entry, args))
    try:
        renderer = factory(**values)
    except (TypeError, ValueError) as error:
        msg = f"the {name} format: {error}"
        raise OutputError(msg) from None
    baseline = None
    if args.format_baseline is not None:
        baseline = load(args.format_baseline)
    elif entry.compares and not comparing:
        msg = f"the {name} format compares runs: give the baseline as --{name} BASELINE"
        raise OutputError(msg)
    output = os.fspath(args.output) if args.output else None
    stream = None
    if output is not None and output != renderers.STDOUT:
        stream = renderer.stream_collector(Path(output))
    return OutputChoice(name, renderer, output, baseline, stream)
