"""The ``pysampler`` command line: a thin shell over the library.

Commands and flags follow CPython 3.15's ``python -m profiling.sampling``
(run, attach, replay, dump; -r, -d, -a, --mode, --pstats, --collapsed, ...)
so a user can switch without relearning.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pysampler import __version__, renderers
from pysampler._native import lib
from pysampler.cli._dump import DumpStyle, format_dump, snapshot_to_json
from pysampler.cli._formats import (
    DEFAULT_FORMAT,
    DIFF_FILE_FORMAT,
    DIFF_TEXT_FORMAT,
    add_output_options,
    output_choice,
)
from pysampler.cli._record import record, summary_line, write_output
from pysampler.collectors import Collector
from pysampler.errors import PySamplerError
from pysampler.model import MODES, SamplerConfig
from pysampler.profile import Profile
from pysampler.sampler import Progress, Sampler
from pysampler.unwinder import Unwinder
from pysampler.views.diff import DiffProfile

__all__ = ["main"]

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(hz|khz|k)?\s*$", re.IGNORECASE)


def _rate(text: str) -> float:
    """``1000``, ``1000hz``, ``10khz``, ``10k`` or ``max`` (as fast as possible)."""
    if text.strip().lower() == "max":
        return 0.0
    match = _RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        msg = f"not a sampling rate: {text!r} (use e.g. 1000, 250hz, 10khz or max)"
        raise argparse.ArgumentTypeError(msg)
    scale = 1000.0 if (match.group(2) or "").lower() in ("khz", "k") else 1.0
    return float(match.group(1)) * scale


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        pid = 0
    if pid <= 0:
        msg = f"not a process id: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return pid


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        msg = f"not a duration in seconds: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_marker_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--native",
        action="store_true",
        help="a <native> frame where C code sits between Python frames (3.11+)",
    )
    parser.add_argument(
        "--no-gc", dest="gc", action="store_false", help="no <GC> frame while the collector runs"
    )


def _add_sampling_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling")
    group.add_argument(
        "-r",
        "--sampling-rate",
        type=_rate,
        default=1000.0,
        metavar="RATE",
        help="samples per second: N, Nhz, Nkhz or max (default: 1khz)",
    )
    group.add_argument(
        "-d", "--duration", type=_seconds, metavar="SECONDS", help="stop after this long"
    )
    group.add_argument(
        "-a", "--all-threads", action="store_true", help="sample every thread (default: main)"
    )
    group.add_argument(
        "--mode",
        choices=list(MODES),
        default="wall",
        help="which threads count: wall (all time), cpu (running), gil (holding the GIL), "
        "exception (handling one); default: wall",
    )
    group.add_argument(
        "--opcodes", action="store_true", help="record each frame's bytecode instruction"
    )
    _add_marker_options(group)
    group.add_argument(
        "--blocking",
        action="store_true",
        help="stop the target around each sample for exact stacks (slower; never the default)",
    )
    group.add_argument(
        "--realtime-stats", action="store_true", help="print live sampling-rate figures"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pysampler",
        description=f"A sampling profiler for CPython 3.{lib.PS_MIN_MINOR} to "
        f"3.{lib.PS_MAX_MINOR} that reads processes from outside.",
    )
    parser.add_argument("--version", action="version", version=f"pysampler {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run a script or module and profile it from its first line",
        description="Run `python SCRIPT ARGS` (or `-m MODULE ARGS`) and profile it from its "
        "first line until it exits, the duration ends, or Ctrl-C.",
    )
    run.add_argument("-m", dest="module", action="store_true", help="TARGET is a module")
    run.add_argument(
        "--python", metavar="PATH", help="the interpreter to run it with (default: this one)"
    )
    _add_sampling_options(run)
    add_output_options(run)
    run.add_argument("target", metavar="TARGET", help="the script, or the module with -m")
    run.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    run.set_defaults(run=_run)

    attach = commands.add_parser(
        "attach",
        help="profile a running process",
        description="Profile a running process, without stopping it, until it exits, the "
        "duration ends, or Ctrl-C.",
    )
    attach.add_argument("pid", type=_pid, help="the process to profile")
    _add_sampling_options(attach)
    add_output_options(attach)
    attach.set_defaults(run=_attach)

    replay = commands.add_parser(
        "replay",
        help="render a saved --binary profile in any format",
        description="Render a profile saved with --binary in any output format.",
    )
    replay.add_argument("file", help="the profile file")
    add_output_options(replay)
    replay.set_defaults(run=_replay)

    diff = commands.add_parser(
        "diff",
        help="compare two saved profiles: what got slower, faster, or disappeared",
        description="Compare CURRENT against BASELINE (profiles saved with --binary), once. "
        "Without -o, print the largest regressions and improvements; with -o FILE, "
        "write a differential flamegraph (or any format that renders a comparison).",
    )
    diff.add_argument("baseline", metavar="BASELINE", help="the profile to compare against")
    diff.add_argument("current", metavar="CURRENT", help="the profile to judge")
    add_output_options(diff, comparing=True)
    diff.add_argument(
        "--min-share",
        type=float,
        default=1.0,
        metavar="PCT",
        help="leave out functions under PCT %% of both runs' time, in the table and for "
        "--fail-over (default: 1)",
    )
    diff.add_argument(
        "--fail-over",
        type=float,
        metavar="PCT",
        help="exit with status 3 when a function got slower by more than PCT %% "
        "(a new function counts), to gate CI",
    )
    diff.set_defaults(run=_diff)

    dump = commands.add_parser(
        "dump",
        help="print the current stack of every thread of a running process",
        description="Print the Python stack of every thread of a running process, root "
        "first as in a traceback, without stopping it.",
    )
    dump.add_argument("pid", type=_pid, help="the process to read")
    dump.add_argument(
        "--opcodes", action="store_true", help="show the bytecode instruction each frame runs"
    )
    _add_marker_options(dump)
    dump.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    dump.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: on a terminal only)",
    )
    dump.set_defaults(run=_dump)
    return parser


def _load(path: str) -> Profile:
    """A saved profile; a warning when the file ends early."""
    profile = Profile.load(path)
    if profile.metadata.truncated:
        print(
            f"pysampler: warning: {path} ends early (the profiler was stopped "
            "mid-write); using what it holds",
            file=sys.stderr,
        )
    return profile


def _sampler_config(args: argparse.Namespace) -> SamplerConfig:
    """The session's configuration from the sampling flags."""
    return SamplerConfig(
        rate=args.sampling_rate,
        duration=args.duration,
        all_threads=args.all_threads,
        mode=args.mode,
        opcodes=args.opcodes,
        native=args.native,
        gc=args.gc,
        blocking=args.blocking,
    )


def _profile(args: argparse.Namespace, start: Callable[..., Sampler]) -> int:
    choice = output_choice(args, DEFAULT_FORMAT, load=_load)

    def make(extra: list[Collector[object]], progress: Callable[[Progress], None]) -> Sampler:
        # Streamed to a file: nothing else needs the samples in memory.
        return start(
            _sampler_config(args),
            collectors=extra,
            on_progress=progress,
            keep_samples=choice.stream is None,
        )

    sampler, profile, stopped_by = record(make, choice, realtime_stats=args.realtime_stats)
    written = write_output(choice, profile)
    print(summary_line(profile, sampler.samples_seen), file=sys.stderr)
    if written is not None:
        print(f"pysampler: wrote {written}", file=sys.stderr)
    process = sampler.launched_process
    if process is None:
        return 0
    # A program we started runs to its end, as it would without us; a
    # signal that stopped us is passed on to it.
    if stopped_by is not None and process.poll() is None:
        process.send_signal(stopped_by)
    try:
        status = int(process.wait())
    except KeyboardInterrupt:
        status = int(process.wait())
    return status if status >= 0 else 128 - status


def _run(args: argparse.Namespace) -> int:
    def start(config: SamplerConfig, **options: Any) -> Sampler:
        return Sampler.run(
            [args.target, *args.args], config, module=args.module, python=args.python, **options
        )

    return _profile(args, start)


def _attach(args: argparse.Namespace) -> int:
    def start(config: SamplerConfig, **options: Any) -> Sampler:
        return Sampler(args.pid, config, **options).start()

    return _profile(args, start)


def _replay(args: argparse.Namespace) -> int:
    choice = output_choice(args, DEFAULT_FORMAT, load=_load)
    written = choice.render(_load(args.file))
    if written is not None:
        print(f"pysampler: wrote {written}", file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    default = DIFF_TEXT_FORMAT if args.output is None else DIFF_FILE_FORMAT
    shared = {"min_share": args.min_share}
    choice = output_choice(args, default, load=_load, comparing=True, shared=shared)
    comparison = DiffProfile.compare(_load(args.baseline), _load(args.current))
    written = renderers.emit(choice.renderer, comparison, choice.output)
    if written is not None:
        print(f"pysampler: wrote {written}", file=sys.stderr)
    if args.fail_over is not None:
        over = comparison.regressions_over(args.fail_over, args.min_share / 100)
        if over:
            print(
                f"pysampler: {len(over)} function(s) slower by more than {args.fail_over:g}%: "
                + "; ".join(over),
                file=sys.stderr,
            )
            return 3
    return 0


def _dump(args: argparse.Namespace) -> int:
    with Unwinder(args.pid) as unwinder:
        snapshot = unwinder.snapshot(opcodes=args.opcodes, native=args.native, gc=args.gc)
        target = unwinder.target
    if args.json:
        json.dump(snapshot_to_json(snapshot, target), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    sys.stdout.write(format_dump(snapshot, target, DumpStyle(colour=colour, opcodes=args.opcodes)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except PySamplerError as exc:
        print(f"pysampler: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"pysampler: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return status
