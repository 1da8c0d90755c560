"""Comparing two real runs: `pysampler diff`, its table, --fail-over, DiffProfile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pysampler import Profile
from pysampler.views.diff import DiffProfile, Function

DIFF_APP = Path(__file__).resolve().parents[1] / "targets" / "diff_app.py"


def pysampler(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pysampler", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def record(out: Path, variant: str, seconds: str, rate: str) -> Path:
    result = pysampler(
        "run", "-r", rate, "--binary", "-o", str(out), str(DIFF_APP), variant, seconds
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2 s baseline at 500 Hz and a 3 s current run at 2 kHz: different length and rate."""
    work = tmp_path_factory.mktemp("diff")
    return (
        record(work / "baseline.bin", "baseline", "2", "500hz"),
        record(work / "current.bin", "current", "3", "2khz"),
    )


def function(name: str) -> Function:
    return Function(str(DIFF_APP), name)


def test_diff_profile_finds_the_changes(runs: tuple[Path, Path]) -> None:
    baseline, current = (Profile.load(path) for path in runs)
    assert baseline.metadata.interval_ns != current.metadata.interval_ns
    diff = DiffProfile.compare(baseline, current)
    slower = diff.functions[function("made_slower")]
    assert slower.change_pct is not None
    assert 70 < slower.change_pct < 130
    assert abs(diff.functions[function("unchanged")].change_pct or 0) < 20
    gone = diff.functions[function("removed")]
    assert gone.current == 0 and gone.baseline > 0
    # the removed call path is elided, with its (scaled) baseline time
    elided = [path for path in diff.elided if path[-1] == function("removed")]
    assert elided
    assert diff.elided[elided[0]].baseline_total == pytest.approx(gone.baseline, rel=0.05)


def test_diff_table_lists_regressions_and_improvements(runs: tuple[Path, Path]) -> None:
    result = pysampler("diff", *map(str, runs))
    assert result.returncode == 0, result.stderr
    regressions, improvements = result.stdout.split("Improvements")
    assert "made_slower" in regressions and "removed" not in regressions
    assert "removed" in improvements and "(gone)" in improvements
    line = next(x for x in regressions.splitlines() if "made_slower" in x)
    assert "+" in line and "%" in line


def test_fail_over_gates_on_the_regression(runs: tuple[Path, Path]) -> None:
    failing = pysampler("diff", *map(str, runs), "--fail-over", "40")
    assert failing.returncode == 3
    assert "made_slower" in failing.stderr and "Traceback" not in failing.stderr
    passing = pysampler("diff", *map(str, runs), "--fail-over", "400")
    assert passing.returncode == 0, passing.stderr


def test_diff_of_a_profile_with_itself_is_flat(runs: tuple[Path, Path]) -> None:
    result = pysampler("diff", str(runs[0]), str(runs[0]), "--fail-over", "1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_diff_refuses_a_corrupt_file(runs: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a profile at all")
    result = pysampler("diff", str(bad), str(runs[1]))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
