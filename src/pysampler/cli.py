"""The ``pysampler`` command line: a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pysampler import __version__
from pysampler._dump import DumpStyle, format_dump
from pysampler._serde import snapshot_to_json
from pysampler.errors import PySamplerError
from pysampler.unwinder import Unwinder

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pysampler",
        description="A sampling profiler for CPython 3.8 to 3.15 "
        "that reads processes from outside.",
    )
    parser.add_argument("--version", action="version", version=f"pysampler {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    dump.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    dump.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: on a terminal only)",
    )
    dump.set_defaults(run=_dump)
    return parser


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        msg = f"not a process id: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if pid <= 0:
        msg = f"not a process id: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return pid


def _dump(args: argparse.Namespace) -> int:
    with Unwinder(args.pid) as unwinder:
        snapshot = unwinder.snapshot(opcodes=args.opcodes)
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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return status
