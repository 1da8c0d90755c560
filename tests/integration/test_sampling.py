"""Sampling sessions on real targets: shares, modes, outputs, signals."""

from __future__ import annotations

import json
import marshal
import os
import pstats
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from known_target import KnownTarget
from pythons import Python

from pysampler import Profile, Sampler, Unwinder
from pysampler.collectors import BinaryCollector
from pysampler.sampler import Progress

TARGETS = Path(__file__).resolve().parents[1] / "targets"
CPU_SPLIT = TARGETS / "cpu_split.py"
FUNCTIONS = ("heavy", "medium", "light")


def pysampler(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pysampler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def function_shares(profile: Profile) -> dict[str, float]:
    """Share of samples with each of the three functions on the stack."""
    counts: Counter[str] = Counter()
    for stack, weight in profile.weight_by_stack().items():
        names = {profile.frame_qualname(f) for f in profile.stack_frames(stack)}
        for name in FUNCTIONS:
            if name in names:
                counts[name] += weight
    total = sum(counts.values())
    return {name: counts[name] / total for name in FUNCTIONS}


@pytest.fixture(scope="module")
def split_run(
    python: Python, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Profile, dict[str, float]]:
    """cpu_split.py run under the sampler from its first line, and its own measurements."""
    work = tmp_path_factory.mktemp("split")
    truth_path = work / "truth.json"
    sampler = Sampler.run([str(CPU_SPLIT), str(truth_path), "3"], python=python.path)
    assert sampler.wait(timeout=120)
    profile = sampler.stop()
    assert sampler.launched_process is not None
    assert sampler.launched_process.wait(timeout=60) == 0
    spent = json.loads(truth_path.read_text())
    total = sum(spent.values())
    return profile, {name: spent[name] / total for name in FUNCTIONS}


def test_sampled_shares_match_measured_cpu_time(
    split_run: tuple[Profile, dict[str, float]],
) -> None:
    profile, truth = split_run
    shares = function_shares(profile)
    assert profile.sample_count > 2000
    for name in FUNCTIONS:
        assert abs(shares[name] - truth[name]) < 0.03, (name, shares, truth)


def test_launched_target_is_sampled_from_its_first_line(
    split_run: tuple[Profile, dict[str, float]],
) -> None:
    profile, _ = split_run
    assert profile.metadata.ended_by == "exited"
    first_line = next(
        number
        for number, line in enumerate(CPU_SPLIT.read_text().splitlines(), 1)
        if "# @first_line" in line
    )
    at_first_line = 0
    for stack, weight in profile.weight_by_stack().items():
        frames = list(profile.stack_frames(stack))
        assert all("_launch" not in profile.frame_filename(f) for f in frames)
        module = frames[-1]
        if (
            profile.frame_filename(module) == str(CPU_SPLIT)
            and profile.frame_lineno(module) == first_line
        ):
            at_first_line += weight
    # ~50 ms of work on the script's first line: a late start would miss it.
    assert at_first_line >= 10


def test_pstats_file_loads_in_pstats(
    split_run: tuple[Profile, dict[str, float]], tmp_path: Path
) -> None:
    profile, _ = split_run
    saved = tmp_path / "profile.bin"
    profile.save(saved)
    out = tmp_path / "profile.pstats"
    result = pysampler("replay", str(saved), "--pstats", "-o", str(out))
    assert result.returncode == 0, result.stderr
    stats = pstats.Stats(str(out))
    by_name = {key[2]: value for key, value in stats.stats.items()}  # type: ignore[attr-defined]
    weights = profile.weight_by_stack()
    for name in FUNCTIONS:
        # cumulative samples: the stacks with the function on them
        expected = sum(
            w
            for s, w in weights.items()
            if name in {profile.frame_qualname(f) for f in profile.stack_frames(s)}
        )
        cumulative_seconds = by_name[name][3]
        assert cumulative_seconds == pytest.approx(expected * profile.seconds_per_sample, rel=1e-6)
    assert marshal.loads(out.read_bytes())


def test_collapsed_sums_to_the_sample_count(
    split_run: tuple[Profile, dict[str, float]], tmp_path: Path
) -> None:
    profile, _ = split_run
    saved = tmp_path / "profile.bin"
    profile.save(saved)
    result = pysampler("replay", str(saved), "--collapsed", "-o", "-")
    assert result.returncode == 0, result.stderr
    counts = [int(line.rsplit(" ", 1)[1]) for line in result.stdout.splitlines()]
    with_stacks = sum(1 for i in range(profile.sample_count) if profile.samples.stack[i] != 0)
    assert sum(counts) == with_stacks == profile.sample_count
    assert any(";heavy" in line or ":heavy:" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("wall", {"MainThread", "busy-worker", "coroutine-sleeper", "exception-handler"}),
        ("cpu", {"busy-worker"}),
        ("gil", {"busy-worker"}),
        ("exception", {"exception-handler"}),
    ],
)
def test_modes_keep_the_right_threads(
    known_target: KnownTarget, mode: str, expected: set[str]
) -> None:
    sampler = Sampler(known_target.pid, all_threads=True, mode=mode, duration=0.5).start()
    sampler.wait(timeout=30)
    profile = sampler.stop()
    sampled = {int(profile.threads.thread_id[i]) for i in set(profile.samples.thread)}
    idents = {known_target.expected(name)["ident"] for name in expected}
    assert sampled == idents
    # At least a quarter of the instants found each expected thread (a busy
    # machine may leave the busy thread waiting for a CPU now and then).
    assert profile.sample_count >= 0.25 * profile.metadata.taken * len(expected)


def test_main_thread_only_by_default(known_target: KnownTarget) -> None:
    sampler = Sampler(known_target.pid, duration=0.3).start()
    sampler.wait(timeout=30)
    profile = sampler.stop()
    assert {int(profile.threads.thread_id[i]) for i in set(profile.samples.thread)} == {
        known_target.expected("MainThread")["ident"]
    }


# ---- the command line: signals and endings ------------------------------------


def start_spinner(python: str = sys.executable) -> subprocess.Popen[bytes]:
    code = "import time\nwhile True:\n    sum(range(1000))\n"
    process = subprocess.Popen([python, "-c", code])
    time.sleep(0.3)
    return process


def start_profiler(*args: str) -> subprocess.Popen[str]:
    """``pysampler ARGS`` in the background, its stderr captured, once it samples.

    ``--realtime-stats`` makes it print a line as it samples; the first one
    says its signal handlers are in place (a loaded machine can take over a
    second to get there).
    """
    command, *rest = args
    process = subprocess.Popen(
        [sys.executable, "-m", "pysampler", command, "--realtime-stats", *rest],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert " Hz" in first, first
    return process


def test_profiler_killed_mid_run_leaves_a_replayable_file(tmp_path: Path) -> None:
    target = start_spinner()
    out = tmp_path / "killed.bin"
    try:
        profiler = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pysampler",
                "attach",
                str(target.pid),
                "--binary",
                "--realtime-stats",
                "-o",
                str(out),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert profiler.stderr is not None
        for line in profiler.stderr:  # a line about every 0.5 s, then the file has samples
            if int(line.split("samples")[0].split()[-1].replace(",", "")) >= 2000:
                break
        profiler.send_signal(signal.SIGKILL)
        profiler.wait(timeout=30)
    finally:
        target.kill()
        target.wait()
    result = pysampler("replay", str(out), "--collapsed", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert "ends early" in result.stderr
    assert sum(int(line.rsplit(" ", 1)[1]) for line in result.stdout.splitlines()) > 500


def test_target_killed_mid_run_still_gives_complete_output(tmp_path: Path) -> None:
    target = start_spinner()
    out = tmp_path / "out.txt"
    profiler = start_profiler("attach", str(target.pid), "--collapsed", "-o", str(out))
    time.sleep(1.5)
    target.kill()
    target.wait()
    _, err = profiler.communicate(timeout=60)
    assert profiler.returncode == 0, err
    assert "the target exited" in err
    lines = out.read_text().splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) > 500


def test_sigint_to_run_writes_the_output(tmp_path: Path) -> None:
    out = tmp_path / "run.txt"
    script = tmp_path / "forever.py"
    script.write_text("import time\nwhile True:\n    time.sleep(0.01)\n")
    profiler = start_profiler("run", "--collapsed", "-o", str(out), str(script))
    time.sleep(1.5)
    profiler.send_signal(signal.SIGINT)
    _, err = profiler.communicate(timeout=60)
    assert "stopped" in err
    assert "Traceback" not in err.split("KeyboardInterrupt")[0] or "forever.py" in err
    assert out.exists()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in out.read_text().splitlines()) > 500


def test_sigterm_to_attach_writes_the_output(tmp_path: Path) -> None:
    target = start_spinner()
    out = tmp_path / "term.txt"
    try:
        profiler = start_profiler("attach", str(target.pid), "--collapsed", "-o", str(out))
        time.sleep(1.0)
        profiler.send_signal(signal.SIGTERM)
        _, err = profiler.communicate(timeout=60)
    finally:
        target.kill()
        target.wait()
    assert profiler.returncode == 0, err
    assert sum(int(line.rsplit(" ", 1)[1]) for line in out.read_text().splitlines()) > 300


def process_state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2]


def test_blocking_mode_samples_and_lets_the_target_go(known_target: KnownTarget) -> None:
    sampler = Sampler(known_target.pid, all_threads=True, blocking=True, duration=0.5).start()
    sampler.wait(timeout=30)
    profile = sampler.stop()
    idents = {int(profile.threads.thread_id[i]) for i in set(profile.samples.thread)}
    assert idents == {int(ident) for ident in known_target.report["threads"]}
    # Stopped only around each sample: running again afterwards.
    time.sleep(0.1)
    assert process_state(known_target.pid) in "RS"


def test_threads_carry_their_threading_names(tmp_path: Path) -> None:
    """Named as `threading` names them, the main thread included (sampled
    before `threading` existed, its name is learnt later), also once saved."""
    script = tmp_path / "named.py"
    script.write_text(
        "import threading, time\n"
        "def work():\n    time.sleep(0.6)\n"
        "t = threading.Thread(target=work, name='worker-1')\nt.start()\n"
        "time.sleep(0.6)\nt.join()\n"
    )
    streamed = tmp_path / "streamed.bin"
    sampler = Sampler.run([str(script)], all_threads=True, collectors=[BinaryCollector(streamed)])
    sampler.wait(timeout=60)
    profile = sampler.stop()
    names = {profile.thread_name(i) for i in range(len(profile.threads.thread_id))}
    assert names == {"MainThread", "worker-1"}
    for path in (profile.save(tmp_path / "named.bin"), streamed):
        saved = Profile.load(path)
        assert {saved.thread_name(i) for i in range(len(saved.threads.thread_id))} == names


def test_main_thread_is_named_without_threading(python: Python) -> None:
    """A program that never imports threading (start_spinner's) still has a MainThread."""
    target = start_spinner(python.path)
    try:
        with Unwinder(target.pid) as unwinder:
            (thread,) = unwinder.snapshot().threads
        sampler = Sampler(target.pid, duration=0.3).start()
        sampler.wait(timeout=30)
        profile = sampler.stop()
    finally:
        target.kill()
        target.wait()
    assert thread.name == "MainThread"
    assert {profile.thread_name(i) for i in range(len(profile.threads.thread_id))} == {"MainThread"}


KERNEL_NAMED = """\
import _thread, sys, time
def spin():
    path = f"/proc/self/task/{_thread.get_native_id()}/comm"
    with open(path, "w") as comm:
        comm.write("kernel-named")
    while True:
        sum(range(1000))
_thread.start_new_thread(spin, ())
time.sleep(0.3)
print("ready", flush=True)
while True:
    time.sleep(0.01)
"""


def test_a_thread_threading_does_not_know_is_named_by_the_kernel(python: Python) -> None:
    """Without a threading name, and not the main thread, a thread has the
    kernel's name, in a snapshot and a profile alike; the main one is MainThread."""
    target = subprocess.Popen([python.path, "-c", KERNEL_NAMED], stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None
        assert target.stdout.readline() == "ready\n"
        with Unwinder(target.pid) as unwinder:
            snapshot = unwinder.snapshot()
        sampler = Sampler(target.pid, duration=0.3, all_threads=True).start()
        sampler.wait(timeout=30)
        profile = sampler.stop()
    finally:
        target.kill()
        target.wait()
    assert sorted(str(t.name) for t in snapshot.threads) == ["MainThread", "kernel-named"]
    names = {profile.thread_name(i) for i in range(len(profile.threads.thread_id))}
    assert names == {"MainThread", "kernel-named"}


def test_in_process_sampler_leaves_itself_out(tmp_path: Path) -> None:
    """``Sampler()`` samples its own process from a native thread; its
    drain thread is never sampled."""
    script = tmp_path / "self_profile.py"
    script.write_text(
        "import json, sys, threading, time\n"
        "from pysampler import Sampler\n"
        "def crunch():\n"
        "    end = time.monotonic() + 1.0\n"
        "    while time.monotonic() < end:\n"
        "        sum(range(500))\n"
        "with Sampler(all_threads=True) as sampler:\n"
        "    crunch()\n"
        "p = sampler.profile\n"
        "stacks = p.weight_by_stack()\n"
        "names = sorted({p.frame_qualname(f) for s in stacks for f in p.stack_frames(s)})\n"
        "ids = range(p.sample_count)\n"
        "threads = sorted({p.thread_name(p.samples.thread[i]) or '' for i in ids})\n"
        "json.dump({'names': names, 'threads': threads, 'samples': p.sample_count}, sys.stdout)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "crunch" in report["names"]
    assert report["threads"] == ["MainThread"]
    assert report["samples"] > 500


def test_realtime_stats_print_live_figures() -> None:
    target = start_spinner()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pysampler",
                "attach",
                str(target.pid),
                "-d",
                "1.5",
                "--realtime-stats",
                "--collapsed",
                "-o",
                os.devnull,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    assert result.returncode == 0, result.stderr
    live = [line for line in result.stderr.splitlines() if "Hz" in line and "recent" in line]
    assert live, result.stderr
    assert "samples" in live[-1] and "late" in live[-1]


# ---- the sampling loop: rates above what can be sustained, drains while running ----


def sampled(pid: int, rate: float, seconds: float) -> Profile:
    sampler = Sampler(pid, rate=rate, duration=seconds).start()
    assert sampler.wait(timeout=60)
    return sampler.stop()


def test_a_rate_above_what_can_be_sustained_samples_as_fast_as_max() -> None:
    """Behind its deadlines the sampler samples back to back, as ``max`` does,
    instead of sleeping for each one; every deadline is sampled or counted late."""
    rate = 1e6  # one sample a microsecond: more than any snapshot allows
    target = start_spinner()
    try:
        # Interleaved, so that a machine busier in one half shows in both.
        runs = [sampled(target.pid, r, 0.5) for r in (0, rate, 0, rate, 0, rate)]
    finally:
        target.kill()
        target.wait()
    at_max, fast = runs[0::2], runs[1::2]
    for profile in fast:
        meta = profile.metadata
        assert meta.late > 0
        deadlines = meta.duration_ns / 1e9 * rate
        assert abs(meta.taken + meta.late - deadlines) < 0.05 * deadlines, (meta, deadlines)
    # Sleeping for every deadline (the timer slack alone is ~50 us) gave a
    # quarter of max's instants on this machine's ~25 us snapshots.
    fast_taken = sum(p.metadata.taken for p in fast)
    max_taken = sum(p.metadata.taken for p in at_max)
    assert fast_taken > 0.6 * max_taken, (fast_taken, max_taken)


def test_a_drain_while_running_delivers_the_samples_taken() -> None:
    """Below 100 Hz each sample is published as soon as it is taken: each
    drain while running has every instant but the one being published."""
    target = start_spinner()
    seen: list[tuple[int, int]] = []
    sampler: Sampler | None = None

    def progress(live: Progress) -> None:
        assert sampler is not None
        seen.append((live.taken, sampler.samples_seen))

    try:
        sampler = Sampler(target.pid, rate=20, on_progress=progress).start()
        deadline = time.monotonic() + 60
        while (not seen or seen[-1][1] < 5) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sampler.stats is None  # still running
        running = list(seen)
        profile = sampler.stop()
    finally:
        target.kill()
        target.wait()
    assert running and running[-1][1] >= 5, running
    assert all(delivered >= taken - 1 for taken, delivered in running), running
    assert profile.sample_count >= running[-1][1]


def test_run_counts_add_up_without_the_launcher(tmp_path: Path, python: Python) -> None:
    """``pysampler run``: samples and failed make the instants it reports.

    The sampler starts before the program is let go; the samples of the
    launcher waiting are dropped, and so are their instants.
    """
    script = tmp_path / "work.py"
    script.write_text("import time\nend = time.time() + 1\nwhile time.time() < end:\n    pass\n")
    out = tmp_path / "run.bin"
    command = [sys.executable, "-m", "pysampler", "run", "--python", python.path, "-r", "20khz"]
    result = subprocess.run(
        [*command, "--binary", "-o", str(out), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = re.search(
        r"([\d,]+) samples from ([\d,]+) sampling instants .*; ([\d,]+) failed", result.stderr
    )
    assert summary, result.stderr
    samples, instants, failed = (int(g.replace(",", "")) for g in summary.groups())
    assert samples + failed == instants, result.stderr
    profile = Profile.load(out)
    assert (profile.sample_count, profile.metadata.taken) == (samples, instants)
    assert samples > 1000, result.stderr
