"""Deep stacks, still and changing, sampled whole without stopping the target.

Every installed CPython: three threads parked at depths 24, 200 and 1,000
give their complete stack at 99 % of the instants or more; a main thread
that recurses to depth 200 and back all the time gives a sample at 97 % of
the instants or more, each a stack the program can have (rooted at
``<module>``, no frame missing in between); the failed count is exactly the
instants that gave no sample.  With ``--blocking``, every instant gives one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythons import Python

from pysampler import Profile, Sampler

TARGET = Path(__file__).resolve().parents[1] / "targets" / "deep_stacks.py"
STEADY_DEPTHS = (24, 200, 1000)
CHURN_DEPTH = 200
RATE = 2000


def start(python: Python, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([python.path, str(TARGET), *args], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture(scope="module")
def steady(python: Python) -> Iterator[int]:
    process = start(python, "steady", *map(str, STEADY_DEPTHS))
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def churn(python: Python) -> Iterator[int]:
    process = start(python, "churn", str(CHURN_DEPTH))
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def short(qualname: str) -> str:
    """The function's own name (3.8-3.10 record no qualified names)."""
    return qualname.rsplit(".", 1)[-1]


def names_root_first(profile: Profile, stack: int) -> list[str]:
    return [short(profile.frame_qualname(f)) for f in reversed(list(profile.stack_frames(stack)))]


def target_part(profile: Profile, stack: int) -> list[str]:
    """The frames of deep_stacks.py, root first, after threading's own."""
    frames = list(reversed(list(profile.stack_frames(stack))))
    return [
        short(profile.frame_qualname(f)) for f in frames if profile.frame_filename(f) == str(TARGET)
    ]


def steady_depth(names: list[str]) -> int | None:
    """D when the stack is exactly steady() -> D x down -> arrived -> spin."""
    if len(names) < 4 or names[0] != "steady" or names[-2:] != ["arrived", "spin"]:
        return None
    middle = names[1:-2]
    return len(middle) if set(middle) == {"down"} else None


def sample(pid: int, *, all_threads: bool, blocking: bool, seconds: float) -> Profile:
    sampler = Sampler(
        pid, rate=RATE, duration=seconds, all_threads=all_threads, blocking=blocking
    ).start()
    assert sampler.wait(timeout=60)
    return sampler.stop()


def complete_steady_samples(profile: Profile) -> dict[int, int]:
    """Samples whose stack is a whole steady stack, by depth."""
    found = dict.fromkeys(STEADY_DEPTHS, 0)
    for i in range(profile.sample_count):
        names = target_part(profile, profile.samples.stack[i])
        depth = steady_depth(names)
        if depth in found:
            found[depth] += 1
    return found


def possible_churn_stack(names: list[str]) -> bool:
    """<module> -> main -> loop -> k x down [-> <lambda> [-> leaf]]."""
    if names[:3] != ["<module>", "main", "loop"]:
        return False
    rest = names[3:]
    downs = 0
    while downs < len(rest) and rest[downs] == "down":
        downs += 1
    tail = rest[downs:]
    return downs <= CHURN_DEPTH and tail in (
        [],
        ["<lambda>"],
        ["<lambda>", "leaf"],
    )


@pytest.mark.parametrize("blocking", [False, True], ids=["running", "blocking"])
def test_still_deep_stacks_are_read_whole(steady: int, blocking: bool) -> None:
    profile = sample(steady, all_threads=True, blocking=blocking, seconds=1.0 if blocking else 2.0)
    taken, failed = profile.metadata.taken, profile.metadata.failed
    assert taken >= (100 if blocking else RATE * 0.5)  # stopping the target takes time
    complete = complete_steady_samples(profile)
    wanted = 1.0 if blocking else 0.99
    for depth, count in complete.items():
        assert count >= wanted * taken, (depth, complete, taken, failed)
    # Four threads each instant (the main one waits in Event.wait); every
    # instant's missing stacks are counted as failed samples.
    assert profile.sample_count + failed == 4 * taken


@pytest.mark.parametrize("blocking", [False, True], ids=["running", "blocking"])
def test_changing_deep_stack_gives_possible_stacks(
    churn: int, blocking: bool, tmp_path: Path
) -> None:
    out = tmp_path / "churn.bin"
    seconds = "1" if blocking else "2"
    args = ["attach", str(churn), "-r", str(RATE), "-d", seconds, "--binary", "-o", str(out)]
    if blocking:
        args.append("--blocking")
    result = subprocess.run(
        [sys.executable, "-m", "pysampler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = re.search(
        r"([\d,]+) samples from ([\d,]+) sampling instants .*; ([\d,]+) failed", result.stderr
    )
    assert summary, result.stderr
    samples, instants, failed = (int(g.replace(",", "")) for g in summary.groups())
    profile = Profile.load(out)
    assert (samples, instants, failed) == (
        profile.sample_count,
        profile.metadata.taken,
        profile.metadata.failed,
    )
    assert samples + failed == instants
    assert samples >= (1.0 if blocking else 0.97) * instants, result.stderr
    impossible = [
        names
        for names in (
            names_root_first(profile, profile.samples.stack[i]) for i in range(profile.sample_count)
        )
        if not possible_churn_stack(names)
    ]
    shown = [f"{names.count('down')} x down, ending {names[-4:]}" for names in impossible[:3]]
    assert not impossible, f"{len(impossible)} impossible stacks: {shown}"
    deepest = max(
        names_root_first(profile, profile.samples.stack[i]).count("down")
        for i in range(profile.sample_count)
    )
    assert deepest == CHURN_DEPTH
