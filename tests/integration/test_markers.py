"""<native> and <GC> marker frames on real targets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pythons import Python

from pysampler import Profile, Sampler

MARKERS = Path(__file__).resolve().parents[1] / "targets" / "markers.py"


def stacks(profile: Profile) -> dict[tuple[str, ...], int]:
    """Stacks as qualnames root first, with their sample counts."""
    out: dict[tuple[str, ...], int] = {}
    for stack, weight in profile.weight_by_stack().items():
        names = tuple(reversed([profile.frame_qualname(f) for f in profile.stack_frames(stack)]))
        out[names] = out.get(names, 0) + weight
    return out


@pytest.fixture(scope="module")
def marked(python: Python) -> Profile:
    sampler = Sampler.run([str(MARKERS), "2"], python=python.path, native=True)
    assert sampler.wait(timeout=120)
    return sampler.stop()


@pytest.fixture(scope="module")
def unmarked(python: Python) -> Profile:
    sampler = Sampler.run([str(MARKERS), "1"], python=python.path, gc=False)
    assert sampler.wait(timeout=120)
    return sampler.stop()


def test_gc_marker_sits_on_the_collecting_frame(marked: Profile) -> None:
    gc_samples = {s: n for s, n in stacks(marked).items() if s[-1] == "<GC>"}
    assert sum(gc_samples.values()) > 20
    # on the frame that called gc.collect(), or alone when the interpreter
    # collects while starting or finishing, with no Python frame running
    assert all(s[-2:] == ("collect", "<GC>") or s == ("<GC>",) for s in gc_samples)
    assert not [s for s in stacks(marked) if "<GC>" in s[:-1]]


def test_no_gc_drops_the_marker(unmarked: Profile) -> None:
    assert not [s for s in stacks(unmarked) if "<GC>" in s]
    assert any(s[-1] == "collect" for s in stacks(unmarked))


def test_native_marker_between_python_frames(marked: Profile, python: Python) -> None:
    through_c = {s: n for s, n in stacks(marked).items() if "called_by_c" in s}
    assert sum(through_c.values()) > 100
    if python.minor >= (3, 11):
        # map (C) sits between through_c and called_by_c.  The target is not
        # stopped, so a sample may catch a call half set up: allow 1 % of those.
        marked_right = sum(
            n
            for s, n in through_c.items()
            if s[s.index("called_by_c") - 2 :][:2]
            == (
                "through_c",
                "<native>",
            )
        )
        assert marked_right >= 0.99 * sum(through_c.values())
    else:  # 3.8-3.10 leave no trace of where C code called Python
        assert not [s for s in stacks(marked) if "<native>" in s]
    # Never at the root: a marker only stands between two Python frames.
    assert not [s for s in stacks(marked) if s[0] == "<native>"]
