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
    profile = sample(steady, all_threads=True, blocking=blocking, seconds=2.0)
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


EXEC_DEPTH = 60


@pytest.fixture(scope="module")
def exec_churn(python: Python) -> Iterator[int]:
    process = start(python, "exec", str(EXEC_DEPTH))
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def frames_without_gc(profile: Profile, stack: int) -> list[int]:
    """The stack's frames root first, less a <GC> leaf."""
    frames = list(reversed(list(profile.stack_frames(stack))))
    if frames and profile.frame_qualname(frames[-1]) == "<GC>":
        frames.pop()
    return frames


def impossible_exec_stack(profile: Profile, stack: int) -> str | None:
    """Why a stack of `deep_stacks.py exec` cannot have been, or None.

    <module> -> main -> exec_loop, then generated_source, the exec'd module code, or m <= D
    frames of one generated gen_k (file <generated>, every one on line
    k + 2, or its def line k + 1; the innermost may have no line yet),
    then nothing, <lambda> or <lambda> -> leaf; <GC> may end it.
    A code object freed and another compiled at its address, read stale,
    would give the wrong name, file or line.
    """
    frames = frames_without_gc(profile, stack)
    names = [short(profile.frame_qualname(f)) for f in frames]
    if names[:3] != ["<module>", "main", "exec_loop"]:
        return f"root {names[:3]}"
    rest = frames[3:]
    if [profile.frame_filename(f) for f in rest[:1]] == ["<generated>"] and names[3] == "<module>":
        return None if len(rest) == 1 else f"module code then {names[4:]}"
    generated = [f for f in rest if profile.frame_filename(f) == "<generated>"]
    tail = names[3 + len(generated) :]
    if not generated and tail == ["generated_source"]:
        return None
    if tail not in ([], ["<lambda>"], ["<lambda>", "leaf"]) or len(generated) > EXEC_DEPTH:
        return f"{len(generated)} generated frames, then {tail}"
    kinds = {short(profile.frame_qualname(f)) for f in generated}
    if len(kinds) > 1:
        return f"frames of {sorted(kinds)} in one stack"
    for f in generated:
        k = int(short(profile.frame_qualname(f)).removeprefix("gen_"))
        if profile.frame_lineno(f) is None and f == generated[-1]:
            continue  # just called: 3.11-3.12 frames start before their first instruction
        if profile.frame_lineno(f) not in (k + 1, k + 2):  # its def line while it starts
            return f"gen_{k} on line {profile.frame_lineno(f)}"
    return None


def sample_exec_churn(pid: int, *, frame_cache: bool) -> tuple[Profile, dict[str, int]]:
    """2 s as fast as possible; the profile and its impossible stacks by reason."""
    sampler = Sampler(pid, rate=0, duration=2.0, frame_cache=frame_cache).start()
    assert sampler.wait(timeout=60)
    profile = sampler.stop()
    problems: dict[str, int] = {}
    for stack in profile.samples.stack:
        why = impossible_exec_stack(profile, stack)
        if why is not None:
            problems[why] = problems.get(why, 0) + 1
    return profile, problems


def test_churning_code_and_stacks_give_no_stale_frame(exec_churn: int) -> None:
    """The frame cache changes what is read, never what is found."""
    results = {
        cached: sample_exec_churn(exec_churn, frame_cache=cached) for cached in (False, True)
    }
    for cached, (profile, problems) in results.items():
        meta = profile.metadata
        assert meta.stats is not None
        assert not problems, (cached, problems)
        assert profile.sample_count + meta.failed == meta.taken
        assert profile.sample_count >= 0.9 * meta.taken, (cached, profile.sample_count, meta.taken)
        assert profile.sample_count >= 200, (cached, profile.sample_count)
    depths = {
        sum(profile.frame_filename(f) == "<generated>" for f in profile.stack_frames(stack))
        for profile, _ in results.values()
        for stack in set(profile.samples.stack)
    }
    assert max(depths) >= EXEC_DEPTH // 2, sorted(depths)  # the stacks did churn deep
    (uncached, _), (cached, _) = results[False], results[True]
    assert uncached.metadata.stats and cached.metadata.stats
    uncached_costs, cached_costs = uncached.metadata.stats.costs, cached.metadata.stats.costs
    assert uncached_costs.frames_cached == 0
    assert cached_costs.frames_cached > 0
    assert (
        cached_costs.per_sample(cached.metadata.taken)[0]
        < uncached_costs.per_sample(uncached.metadata.taken)[0]
    )


BRANCH_DEPTH = 12
BRANCH_CALLS = {  # what branches_loop calls, by the text of the call
    "a_chain(depth)": ("a_chain", None),
    "b_chain(depth)": ("b_chain", None),
    "a_resume(a, depth)": ("a_resume", "generator"),
    "b_resume(a, depth)": ("b_resume", "generator"),
    "a_resume(b, depth)": ("a_resume", "generator"),
    "through_c(depth)": ("through_c", None),
    "raiser(depth)": ("raiser", None),
}


def branch_call_lines() -> dict[int, tuple[str, str | None]]:
    """branches_loop's line of each call, and the chain that call makes."""
    lines = TARGET.read_text().splitlines()
    start = lines.index("def branches_loop(depth):")
    found: dict[int, tuple[str, str | None]] = {}
    for number, text in enumerate(lines[start:], start + 1):
        if text.strip() in BRANCH_CALLS:
            found[number] = BRANCH_CALLS[text.strip()]
        if number > start + 1 and text.startswith("def "):
            break
    assert len(found) == len(BRANCH_CALLS), found
    return found


def impossible_branch_stack(
    profile: Profile, stack: int, calls: dict[int, tuple[str, str | None]]
) -> str | None:
    """Why a stack of `deep_stacks.py branches` cannot have been, or None.

    <module> -> main -> branches_loop, at the line of one of its calls, then
    that call's chain alone: up to D frames of one function (through_c:
    itself, then up to D of b_chain), the generator only under all D of a
    resume chain, branch_leaf only at the end of a whole chain.  A frame
    spliced from another chain over the same addresses would mix them, or
    put branches_loop on another call's line.
    """
    frames = frames_without_gc(profile, stack)
    names = [short(profile.frame_qualname(f)) for f in frames]
    if names[:3] != ["<module>", "main", "branches_loop"]:
        return f"root {names[:3]}"
    rest = names[3:]
    if not rest:
        return None
    line = profile.frame_lineno(frames[2])
    if line not in calls:
        return f"branches_loop on line {line} above {rest[0]}"
    chain, inner = calls[line]
    if chain == "through_c":
        if rest[0] != "through_c":
            return f"through_c's line, then {rest[0]}"
        rest, chain = rest[1:], "b_chain"
    count = 0
    while count < len(rest) and rest[count] == chain:
        count += 1
    tail = rest[count:]
    whole = count == BRANCH_DEPTH
    allowed: list[list[str]] = [[]]
    if whole and inner:
        allowed += [[inner], [inner, "branch_leaf"]]
    elif whole:
        allowed.append(["branch_leaf"])
    if count > BRANCH_DEPTH or tail not in allowed:
        return f"{count} x {chain} from line {line}, then {tail}"
    return None


def test_alternating_chains_over_the_same_frames_never_mix(python: Python) -> None:
    """Chains that take turns over the same frame addresses are never spliced.

    Cached and uncached, as fast as possible: recursion of two functions,
    a generator resumed from two chains, C code calling back, an exception
    unwinding.  On 3.15 the cached run moves each thread's profiler mark
    (writes) and reuses the frames below it.
    """
    process = start(python, "branches", str(BRANCH_DEPTH))
    calls = branch_call_lines()
    try:
        for cached in (False, True):
            sampler = Sampler(process.pid, rate=0, duration=2.0, frame_cache=cached).start()
            assert sampler.wait(timeout=60)
            profile = sampler.stop()
            meta = profile.metadata
            assert meta.stats is not None
            problems: dict[str, int] = {}
            for stack in profile.samples.stack:
                why = impossible_branch_stack(profile, stack, calls)
                if why is not None:
                    problems[why] = problems.get(why, 0) + 1
            assert not problems, (cached, problems)
            assert profile.sample_count + meta.failed == meta.taken
            assert profile.sample_count >= 0.75 * meta.taken, (cached, profile.sample_count)
            seen = set()
            for stack in set(profile.samples.stack):
                frames = list(profile.stack_frames(stack))
                if len(frames) > 3:
                    seen.add(profile.frame_lineno(frames[-3]))
            assert set(calls) <= seen, (cached, sorted(seen))  # every chain was sampled
            writes = meta.stats.costs.writes
            assert (writes > 0) == (cached and python.minor >= (3, 15)), (cached, writes)
    finally:
        process.kill()
        process.wait()
