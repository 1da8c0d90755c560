#!/usr/bin/env python3
"""How rendering scales: a million samples to a flamegraph, a pstats table and more.

For each size (samples over distinct stacks; default 10k/1k, 100k/10k and
1M/100k) it synthesizes a session the way the sampler delivers one: a
:class:`~pysampler.profile.ProfileDelta` per drain (every 50 ms of a 1 kHz
all-threads session by default), each carrying the strings, code objects,
frames, stack nodes and threads first seen in it (ids numbered in order of
first sight, as the C core interns them) and its samples.  The program
behind it: a few thousand functions in a few hundred files (an
application, installed packages, the standard library), a main thread and
a pool of workers sharing code, stacks 6 to 60 frames deep grown from
shared prefixes, a function at one to three lines per call path, a few
``<GC>`` and ``<native>`` markers, and heavy-tailed (Pareto) sample counts
per stack.

Each stage is timed on its own, with ``time.perf_counter``, as the
median of ``--repeat`` runs:

* build: the deltas through a :class:`~pysampler.collectors.StackCollector`
  into a :class:`~pysampler.profile.Profile` (what a session does as it drains);
* stream: the deltas through a :class:`~pysampler.collectors.BinaryCollector`
  (what ``--binary -o FILE`` does while sampling);
* save / load: the ``binary`` renderer writing the whole profile, and
  :meth:`Profile.load <pysampler.profile.Profile.load>` reading it back;
* the renderers, each made by the ``pysampler.renderers`` entry point and
  its options and run by :func:`pysampler.renderers.emit`, as the command
  line does: ``flamegraph`` (HTML), the ``pstats`` table on a text stream
  (default options and ``--sort`` variants) and the ``pstats`` file,
  ``collapsed``, ``heatmap``;
* replay: ``pysampler replay FILE --flamegraph -o F`` and ``pysampler
  replay FILE`` (the pstats table), through the CLI's ``main`` in this
  process: load and render together.

Run ``python benchmarks/render_scale.py --help`` for the options; it prints
a Markdown table (progress goes to stderr).  This is a benchmark, not a
test: it asserts nothing, but its last lines say whether the issue's
targets (flamegraph under 2 s, pstats table under 1 s at the largest size)
were met.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pysampler
from pysampler import cli, renderers
from pysampler.collectors import BinaryCollector, StackCollector
from pysampler.model import FrameKind, SamplerConfig, SessionInfo, SessionStats, ThreadStatus
from pysampler.profile import (
    CodeTable,
    FrameTable,
    Profile,
    ProfileDelta,
    SampleTable,
    StackTable,
    ThreadTable,
)

ROOT = Path(__file__).resolve().parents[1]
INTERVAL_NS = 1_000_000
"""The synthetic session samples at 1 kHz."""
MIN_DEPTH = 6
MAX_DEPTH = 60
SHAPES = {"real": 0.7, "wide": 0.0}
"""Share of new stacks that only move a frame to another line, per ``--shape``."""
TARGETS = {"flamegraph": 2.0, "pstats": 1.0}
"""The issue's targets at the largest size, in seconds."""

# ---- the synthetic program -------------------------------------------------------

Function = tuple[str, str, int, int]
"""(filename, qualname, firstlineno, lines in the function)."""
FrameSpec = tuple[int, int]
"""(function index, line); function -1 - kind for a marker."""


def make_functions(rng: random.Random, count: int) -> list[Function]:
    """``count`` functions in files of an app, some installed packages and the stdlib."""
    files = []
    for index in range(max(count // 10, 4)):
        kind = rng.random()
        if kind < 0.35:
            files.append(f"/srv/app/service/{['api', 'core', 'db', 'jobs'][index % 4]}/m{index}.py")
        elif kind < 0.8:
            package = f"pkg{index % 30}"
            files.append(
                f"/venv/lib/python3.12/site-packages/{package}/sub{index % 7}/mod{index}.py"
            )
        else:
            files.append(f"/usr/lib/python3.12/std{index % 20}/part{index}.py")
    made = []
    for index in range(count):
        first = rng.randrange(1, 3000)
        name = (
            f"Class{index % 89}.method_{index}" if index % 3 else f"function_{index}.<locals>.inner"
        )
        made.append((rng.choice(files), name, first, rng.randrange(2, 60)))
    return made


class Program:
    """A prefix tree of distinct stacks of frame specs, and their sample counts.

    Spec nodes are numbered in creation order (node 0 the empty stack); the
    session renumbers them in order of first sight, as the C core would.
    """

    def __init__(
        self,
        rng: random.Random,
        stacks: int,
        samples: int,
        threads: int,
        *,
        line_variants: float = 0.65,
    ) -> None:
        """Grow ``stacks`` distinct stacks and spread ``samples`` over them and ``threads``."""
        self.functions = make_functions(rng, max(200, stacks // 25))
        self.threads = threads
        self.line_variants = line_variants
        self.parent = array("I", [0])
        self.frame: list[FrameSpec] = [(0, 0)]
        self._child: dict[tuple[int, FrameSpec], int] = {}
        self._lines: dict[tuple[int, int], list[int]] = {}
        bootstrap = [self._function(rng, "/usr/lib/python3.12/threading.py", q) for q in THREADING]
        main = [self._function(rng, "/srv/app/main.py", q) for q in ("<module>", "main")]
        # Stacks under the main thread's root, and under the workers' shared root.
        self.roots = [self._grow(0, [(f, self.functions[f][2] + 1) for f in main])]
        self.roots.append(self._grow(0, [(f, self.functions[f][2] + 2) for f in bootstrap]))
        self.leaves = self._distinct_stacks(rng, stacks)
        self.counts = heavy_tailed(rng, samples, len(self.leaves))

    def _function(self, rng: random.Random, filename: str, qualname: str) -> int:
        self.functions.append((filename, qualname, rng.randrange(1, 900), 30))
        return len(self.functions) - 1

    def _node(self, parent: int, spec: FrameSpec) -> int:
        node = self._child.get((parent, spec))
        if node is None:
            node = self._child[parent, spec] = len(self.frame)
            self.parent.append(parent)
            self.frame.append(spec)
        return node

    def _grow(self, node: int, specs: list[FrameSpec]) -> int:
        for spec in specs:
            node = self._node(node, spec)
        return node

    def depth(self, node: int) -> int:
        """Frames on the stack ending at ``node``."""
        depth = 0
        while node:
            node = self.parent[node]
            depth += 1
        return depth

    def _pick(self, rng: random.Random, parent: int, *, native: bool) -> FrameSpec:
        """A frame to call from ``parent``: popular functions more often, at few lines.

        With ``native``, now and then a ``<native>`` marker (C code calling back into Python).
        """
        if native and rng.random() < 0.01:
            return (-1 - int(FrameKind.NATIVE), -1)
        function = min(int(len(self.functions) * rng.random() ** 2.5), len(self.functions) - 1)
        lines = self._lines.get((parent, function))
        if lines is None:
            _, _, first, size = self.functions[function]
            lines = self._lines[parent, function] = [
                first + rng.randrange(1, size) for _ in range(rng.choice((1, 1, 2, 3)))
            ]
        return (function, rng.choice(lines))

    def _distinct_stacks(self, rng: random.Random, count: int) -> list[tuple[int, bool]]:
        """``count`` distinct leaf nodes, each with whether it is under the main thread's root.

        The main thread's share of stacks is one thread's; the workers share
        the rest.  A new stack is either a new call path (a stack seen
        before, left a few frames up and called down again into other
        functions) or, with probability ``line_variants``, a stack seen
        before with one of its last few frames at another line (the same
        call path of functions: a hot function's samples spread over its
        lines, a caller calling from another line).
        """
        leaves: list[tuple[int, bool]] = []
        chosen: set[int] = set()
        tops = [self.depth(root) for root in self.roots]
        # Trunks to start from: call paths to depths spread over 6-60 frames.
        bases: list[list[tuple[int, int]]] = []
        for root, top in zip(self.roots, tops, strict=True):
            trunks = [(root, top)]
            for _ in range(10 + count // 1000):
                wanted = int(rng.triangular(MIN_DEPTH, MAX_DEPTH, 30))
                node, depth = rng.choice(trunks)
                while depth > max(top, wanted - 3):
                    node, depth = self.parent[node], depth - 1
                while depth < wanted:
                    node, depth = self._node(node, self._pick(rng, node, native=False)), depth + 1
                trunks.append((node, depth))
            bases.append(trunks)
        while len(leaves) < count:
            if leaves and rng.random() < self.line_variants:
                leaf, main = rng.choice(leaves)
                node = self._line_variant(rng, leaf, tops[0 if main else 1])
            else:
                main = rng.random() < 1 / self.threads
                node = self._new_path(rng, bases[0 if main else 1], tops[0 if main else 1])
            if node is not None and node not in chosen:
                chosen.add(node)
                leaves.append((node, main))
                if self.frame[node][0] >= 0:
                    bases[0 if main else 1].append((node, self.depth(node)))
        return leaves

    def _new_path(self, rng: random.Random, pool: list[tuple[int, int]], top: int) -> int:
        node, depth = rng.choice(pool[-2000:] if rng.random() < 0.7 else pool)
        wanted = min(max(depth + rng.randrange(-4, 5), MIN_DEPTH), MAX_DEPTH - 1)
        keep = max(top, min(depth, wanted - rng.randrange(1, 7)))
        while depth > keep:
            node, depth = self.parent[node], depth - 1
        while depth < wanted:
            spec = self._pick(rng, node, native=depth + 1 < wanted)
            node, depth = self._node(node, spec), depth + 1
        if rng.random() < 0.02:
            node = self._node(node, (-1 - int(FrameKind.GC), -1))
        return node

    def _line_variant(self, rng: random.Random, leaf: int, top: int) -> int | None:
        """``leaf``'s stack with the leaf frame (or one of the three above) at another line."""
        below: list[FrameSpec] = []
        node = leaf
        for _ in range(rng.choice((0, 0, 0, 1, 2, 3))):
            if self.depth(node) <= top + 1:
                break
            below.append(self.frame[node])
            node = self.parent[node]
        function = self.frame[node][0]
        if function < 0:
            return None
        _, _, first, size = self.functions[function]
        node = self._node(self.parent[node], (function, first + rng.randrange(1, size)))
        for spec in reversed(below):
            node = self._node(node, spec)
        return node


THREADING = ("Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run", "worker")


def heavy_tailed(rng: random.Random, total: int, count: int) -> list[int]:
    """``count`` Pareto-distributed counts of at least 1 summing to ``total``."""
    raw = [rng.paretovariate(1.1) for _ in range(count)]
    spare = total - count
    scale = spare / sum(raw)
    counts = [1 + int(value * scale) for value in raw]
    short = total - sum(counts)
    for index in sorted(range(count), key=raw.__getitem__, reverse=True)[:short]:
        counts[index] += 1
    return counts


# ---- the session: deltas as the sampler drains them -------------------------------


def session_info() -> SessionInfo:
    """The synthetic session's information."""
    return SessionInfo(
        pid=4242,
        command_line=("python", "/srv/app/main.py", "--serve"),
        python_version="3.12.1",
        config=SamplerConfig(rate=1e9 / INTERVAL_NS, all_threads=True),
        start_time=1_700_000_000.0,
    )


def session_stats(instants: int) -> SessionStats:
    """How the synthetic session ended."""
    return SessionStats(
        duration_ns=instants * INTERVAL_NS, taken=instants, failed=3, late=1, ended_by="stopped"
    )


def timeline(program: Program, rng: random.Random) -> list[list[int]]:
    """Each thread's leaf spec nodes in time order (thread 0 is the main thread)."""
    per_thread: list[list[int]] = [[] for _ in range(program.threads)]
    workers = range(1, program.threads) if program.threads > 1 else range(1)
    for (leaf, main), count in zip(program.leaves, program.counts, strict=True):
        if main or program.threads == 1:
            per_thread[0].extend([leaf] * count)
            continue
        shares = rng.sample(workers, min(len(workers), rng.choice((1, 1, 2, 3))))
        for index, thread in enumerate(shares):
            part = count // len(shares) + (index < count % len(shares))
            per_thread[thread].extend([leaf] * part)
    for samples in per_thread:
        rng.shuffle(samples)
    return per_thread


class Session:
    """Interns what the samples reference, in order of first sight, and cuts deltas."""

    def __init__(self, program: Program) -> None:
        """A session of ``program`` with nothing sent yet."""
        self.program = program
        self.strings: dict[str, int] = {}
        self.codes: dict[int, int] = {}
        self.frames: dict[FrameSpec, int] = {}
        self.node_ids = array("i", [-1]) * len(program.frame)
        self.node_ids[0] = 0
        self.nodes = 1
        self.thread_count = 0
        self._reset()

    def _reset(self) -> None:
        self.new_strings: list[str] = []
        self.new_codes: list[tuple[int, int, int]] = []
        self.new_frames: list[tuple[int, int, int, int]] = []
        self.new_nodes: list[tuple[int, int]] = []

    def _string(self, text: str) -> int:
        found = self.strings.get(text)
        if found is None:
            found = self.strings[text] = len(self.strings)
            self.new_strings.append(text)
        return found

    def _frame(self, spec: FrameSpec) -> int:
        found = self.frames.get(spec)
        if found is None:
            function, line = spec
            if function < 0:
                row = (0, -1 - function, -1, -1)
            else:
                code = self.codes.get(function)
                if code is None:
                    filename, qualname, first, _ = self.program.functions[function]
                    code = self.codes[function] = len(self.codes)
                    self.new_codes.append((self._string(filename), self._string(qualname), first))
                row = (code, int(FrameKind.PYTHON), line, 4 + function % 30)
            found = self.frames[spec] = len(self.frames)
            self.new_frames.append(row)
        return found

    def node(self, spec_node: int) -> int:
        """The stack id of a spec node, interning it and its parents when new."""
        found = self.node_ids[spec_node]
        if found >= 0:
            return found
        parent = self.node(self.program.parent[spec_node])
        frame = self._frame(self.program.frame[spec_node])
        found = self.node_ids[spec_node] = self.nodes
        self.nodes += 1
        self.new_nodes.append((parent, frame))
        return found

    def delta(self, samples: list[tuple[int, int, int, int]], threads: int) -> ProfileDelta:
        """The delta of ``samples`` (time, thread, spec node, status), new rows first."""
        stacks = array("I", [self.node(spec) for _, _, spec, _ in samples])
        strings, codes, frames, nodes = (
            self.new_strings,
            self.new_codes,
            self.new_frames,
            self.new_nodes,
        )
        string_first = len(self.strings) - len(strings)
        thread_first = self.thread_count
        new_threads = range(thread_first, max(threads, thread_first))
        names = [self._string("MainThread" if t == 0 else f"worker-{t}") for t in new_threads]
        self.thread_count = max(threads, thread_first)
        delta = ProfileDelta(
            string_first=string_first,
            strings=tuple(strings),
            code_first=len(self.codes) - len(codes),
            codes=CodeTable(
                filename=array("I", [c[0] for c in codes]),
                qualname=array("I", [c[1] for c in codes]),
                firstlineno=array("i", [c[2] for c in codes]),
            ),
            frame_first=len(self.frames) - len(frames),
            frames=FrameTable(
                code=array("I", [f[0] for f in frames]),
                kind=array("I", [f[1] for f in frames]),
                lineno=array("i", [f[2] for f in frames]),
                end_lineno=array("i", [f[2] for f in frames]),
                col=array("i", [f[3] if f[1] == 0 else -1 for f in frames]),
                end_col=array("i", [f[3] + 12 if f[1] == 0 else -1 for f in frames]),
                opcode=array("i", [-1]) * len(frames),
                base_opcode=array("i", [-1]) * len(frames),
            ),
            node_first=self.nodes - len(nodes),
            stacks=StackTable(
                parent=array("I", [n[0] for n in nodes]), frame=array("I", [n[1] for n in nodes])
            ),
            thread_first=thread_first,
            threads=ThreadTable(
                thread_id=array("Q", [0x7F00_0000_0000 + 0x100_000 * t for t in new_threads]),
                native_id=array("Q", [5000 + t for t in new_threads]),
                interpreter=array("q", [0]) * len(new_threads),
                name=array("i", names),
            ),
            samples=SampleTable(
                time_ns=array("q", [s[0] for s in samples]),
                thread=array("I", [s[1] for s in samples]),
                stack=stacks,
                status=array("I", [s[3] for s in samples]),
                weight=array("I", [1]) * len(samples),
            ),
        )
        self._reset()
        return delta


def session_deltas(
    program: Program, rng: random.Random, instants_per_drain: int
) -> tuple[list[ProfileDelta], int]:
    """The session's deltas, one per drain, and the sampling instants it took."""
    per_thread = timeline(program, rng)
    instants = max(map(len, per_thread))
    session = Session(program)
    statuses = [
        int(ThreadStatus.HAS_GIL | ThreadStatus.ON_CPU),
        int(ThreadStatus.ON_CPU | ThreadStatus.GIL_REQUESTED),
        0,
    ]
    main = int(ThreadStatus.MAIN_THREAD)
    deltas = []
    for start in range(0, instants, instants_per_drain):
        samples = []
        for instant in range(start, min(start + instants_per_drain, instants)):
            time_ns = instant * INTERVAL_NS
            for thread, leaves in enumerate(per_thread):
                if instant < len(leaves):
                    status = statuses[(instant + thread) % 3] | (main if thread == 0 else 0)
                    samples.append((time_ns + thread * 15_000, thread, leaves[instant], status))
        deltas.append(session.delta(samples, program.threads))
    return deltas, instants


# ---- the stages ------------------------------------------------------------------


class Subject:
    """One size: its deltas, the profile they build, and a scratch folder."""

    def __init__(self, samples: int, stacks: int, args: argparse.Namespace, out: Path) -> None:
        """Synthesize the session (not timed)."""
        rng = random.Random(args.seed)
        self.program = Program(rng, stacks, samples, args.threads, line_variants=SHAPES[args.shape])
        self.deltas, self.instants = session_deltas(self.program, rng, args.drain_instants)
        self.info = session_info()
        self.stats = session_stats(self.instants)
        self.out = out
        self.profile = self.build()
        self.binary = out / "profile.bin"
        self.save()

    def build(self) -> Profile:
        """The deltas through a StackCollector."""
        collector = StackCollector()
        collector.start(self.info)
        for delta in self.deltas:
            collector.add(delta)
        return collector.finish(self.stats)

    def stream(self) -> None:
        """The deltas through a BinaryCollector, as ``--binary -o`` does while sampling."""
        collector = BinaryCollector(self.out / "streamed.bin")
        collector.start(self.info)
        for delta in self.deltas:
            collector.add(delta)
        collector.finish(self.stats)

    def save(self) -> None:
        """The ``binary`` renderer writing the whole profile."""
        render(self.profile, "binary", self.binary)

    def load(self) -> None:
        """The saved profile read back."""
        Profile.load(self.binary)

    def replay(self, *argv: str) -> None:
        """``pysampler replay FILE ARGV...`` in this process, its stdout captured."""
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = cli.main(["replay", str(self.binary), *argv])
        if status != 0:
            msg = f"pysampler replay {' '.join(argv)} exited with {status}"
            raise RuntimeError(msg)


def render(profile: Profile, name: str, output: Path | str, **options: object) -> None:
    """Render as the CLI does: the entry point's factory with options, then emit."""
    renderer = renderers.get(name)(**options)
    if output == renderers.STDOUT:
        renderers.emit(renderer, profile, output, stdout=io.StringIO())
    else:
        renderers.emit(renderer, profile, output)


Stage = Callable[[Subject], object]
STAGES: dict[str, tuple[str, Stage]] = {
    "build": ("build: deltas → StackCollector → Profile", Subject.build),
    "stream": ("stream: deltas → BinaryCollector (file)", Subject.stream),
    "save": ("save: `binary` renderer (zlib 6)", Subject.save),
    "load": ("load: `Profile.load`", Subject.load),
    "flamegraph": (
        "**flamegraph HTML**",
        lambda s: render(s.profile, "flamegraph", s.out / "flamegraph.html"),
    ),
    "pstats": ("**pstats table** (default)", lambda s: render(s.profile, "pstats", "-")),
    "pstats-cumtime": (
        "pstats table `--sort cumtime`",
        lambda s: render(s.profile, "pstats", "-", sort="cumtime"),
    ),
    "pstats-name": (
        "pstats table `--sort name`",
        lambda s: render(s.profile, "pstats", "-", sort="name"),
    ),
    "pstats-all": (
        "pstats table `-l 0` (every function)",
        lambda s: render(s.profile, "pstats", "-", limit=None),
    ),
    "pstats-file": (
        "pstats file (`-o FILE`, marshal)",
        lambda s: render(s.profile, "pstats", s.out / "profile.pstats"),
    ),
    "collapsed": (
        "collapsed (folded stacks)",
        lambda s: render(s.profile, "collapsed", s.out / "collapsed.txt"),
    ),
    "heatmap": ("heatmap (folder of pages)", lambda s: render(s.profile, "heatmap", s.out / "hm")),
    "replay-flamegraph": (
        "`pysampler replay F --flamegraph -o X` (load + render)",
        lambda s: s.replay("--flamegraph", "-o", str(s.out / "replayed.html")),
    ),
    "replay-pstats": (
        "`pysampler replay F` (load + pstats table)",
        lambda s: s.replay(),
    ),
}


def timed(stage: Stage, subject: Subject, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds per run of ``stage``.

    Each run starts after a garbage collection, so no earlier stage's garbage
    weighs on it.  CPU time (this process's) is less disturbed by other
    load on the machine than wall-clock time.
    """
    wall = []
    cpu = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        started_cpu = time.process_time()
        stage(subject)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return wall, cpu


# ---- the report ------------------------------------------------------------------


def size_arg(text: str) -> tuple[int, int]:
    """``SAMPLES:STACKS`` (``1000000:100000``; ``k`` and ``M`` suffixes allowed)."""
    try:
        samples, stacks = (_count(part) for part in text.split(":"))
    except ValueError:
        msg = f"not SAMPLES:STACKS: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not 0 < stacks <= samples:
        msg = f"{text}: need 0 < stacks <= samples"
        raise argparse.ArgumentTypeError(msg)
    return samples, stacks


def _count(text: str) -> int:
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _short(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return f"{count:,}"


def machine() -> list[str]:
    """Lines describing where this ran."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {model}, {os.cpu_count()} logical CPUs; load average at start: {load}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- pysampler: imported from {Path(pysampler.__file__).parent}; "
        f"this checkout at {commit or 'an unknown commit'}",
    ]


def shape(subject: Subject) -> dict[str, str]:
    """What one size's profile holds."""
    profile = subject.profile
    from pysampler.views.calltree import function_tree

    sampled = {node for node in profile.samples.stack if node}
    html = subject.out / "flamegraph.html"
    return {
        "samples": f"{profile.total_weight:,}",
        "distinct stacks sampled": f"{len(sampled):,}",
        "threads": f"{len(profile.threads)}",
        "stack nodes": f"{len(profile.stacks) - 1:,}",
        "frames": f"{len(profile.frames):,}",
        "functions": f"{len(profile.codes):,}",
        "files": f"{len(set(profile.codes.filename)):,}",
        "flamegraph nodes": f"{len(function_tree(profile)) - 1:,}",
        "mean / max stack depth": _depths(profile, sampled),
        "deltas (drains)": f"{len(subject.deltas):,}",
        "binary file": f"{subject.binary.stat().st_size / 1e6:.1f} MB",
        "flamegraph HTML": f"{html.stat().st_size / 1e6:.1f} MB" if html.exists() else "",
    }


def _depths(profile: Profile, nodes: set[int]) -> str:
    depths = [sum(1 for _ in profile.stack_nodes(node)) for node in nodes]
    return f"{statistics.mean(depths):.1f} / {max(depths)}" if depths else ""


def iterate_sizes(
    sizes: list[tuple[int, int]], args: argparse.Namespace, out: Path
) -> Iterator[tuple[tuple[int, int], Subject]]:
    """Each size's subject, synthesized in its own folder."""
    for samples, stacks in sizes:
        folder = out / f"{_short(samples)}-{_short(stacks)}"
        folder.mkdir(parents=True, exist_ok=True)
        print(f"synthesizing {samples:,} samples over {stacks:,} stacks ...", file=sys.stderr)
        started = time.perf_counter()
        subject = Subject(samples, stacks, args, folder)
        print(f"  ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        yield (samples, stacks), subject


def main() -> int:
    """Time each stage at each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=size_arg,
        nargs="+",
        default=[(10_000, 1_000), (100_000, 10_000), (1_000_000, 100_000)],
        metavar="SAMPLES:STACKS",
        help="profile sizes (default: 10k:1k 100k:10k 1M:100k)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per stage (median; default 5)")
    parser.add_argument(
        "--stages",
        nargs="+",
        choices=list(STAGES),
        default=list(STAGES),
        help="what to time (default: every stage)",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads sampled (default 8)")
    parser.add_argument(
        "--drain-instants",
        type=int,
        default=50,
        help="sampling instants per delta (default 50: a drain every 50 ms at 1 kHz)",
    )
    parser.add_argument(
        "--shape",
        choices=list(SHAPES),
        default="real",
        help="real: as many stack nodes and flamegraph nodes per stack as in profiles of "
        "real programs (default); wide: every new stack calls new functions (the worst case)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the outputs here (default: a temp dir)")
    args = parser.parse_args()
    if args.repeat < 1 or args.threads < 1 or args.drain_instants < 1:
        parser.error("--repeat, --threads and --drain-instants must be at least 1")

    header = machine()
    with contextlib.ExitStack() as stack:
        if args.keep:
            out = args.keep
            out.mkdir(parents=True, exist_ok=True)
        else:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="render-scale-")))
        results: dict[tuple[int, int], dict[str, tuple[list[float], list[float]]]] = {}
        shapes: dict[tuple[int, int], dict[str, str]] = {}
        for size, subject in iterate_sizes(args.sizes, args, out):
            results[size] = {}
            for name in args.stages:
                print(f"  {name} ...", file=sys.stderr, end="", flush=True)
                wall, cpu = results[size][name] = timed(STAGES[name][1], subject, args.repeat)
                print(
                    f" {statistics.median(wall):.3f} s (CPU {statistics.median(cpu):.3f} s)",
                    file=sys.stderr,
                )
            shapes[size] = shape(subject)
            del subject
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())

    print("\n".join(header))
    print(f"- load average at end: {load}")
    print(
        f"\nWall-clock seconds, median of {args.repeat} runs [min, max], then the median "
        f"CPU seconds of this process; {args.threads} threads, a delta every "
        f"{args.drain_instants} sampling instants (1 kHz).\n"
    )
    sizes = list(results)
    titles = [f"{_short(samples)} samples / {_short(stacks)} stacks" for samples, stacks in sizes]
    print("| stage | " + " | ".join(titles) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in args.stages:
        cells = []
        for size in sizes:
            wall, cpu = results[size][name]
            cells.append(
                f"{statistics.median(wall):.3f} [{min(wall):.3f}, {max(wall):.3f}] "
                f"CPU {statistics.median(cpu):.3f}"
            )
        print(f"| {STAGES[name][0]} | " + " | ".join(cells) + " |")
    print("\n| profile | " + " | ".join(titles) + " |")
    print("|---|" + "---|" * len(sizes))
    for key in next(iter(shapes.values())):
        print(f"| {key} | " + " | ".join(shapes[size][key] for size in sizes) + " |")

    largest = max(sizes)
    lines = []
    for name, limit in TARGETS.items():
        if name in results[largest]:
            median = statistics.median(results[largest][name][0])
            verdict = "met" if median < limit else "NOT met"
            lines.append(
                f"- {name} at {_short(largest[0])} samples / {_short(largest[1])} stacks: "
                f"{median:.2f} s (target < {limit:g} s): {verdict}"
            )
    if lines:
        print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
