"""The renderer registry: real entry points, ours and a third party's."""

from __future__ import annotations

import io
import os
import pstats
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pysampler import renderers
from pysampler.errors import OutputError, PluginError
from pysampler.profile import Profile
from pysampler.renderers import Renderer
from pysampler.renderers.binary import BinaryRenderer
from pysampler.renderers.collapsed import CollapsedRenderer
from pysampler.renderers.pstats import PstatsRenderer

BUILT_IN = {
    "binary",
    "collapsed",
    "diff-flamegraph",
    "diff-table",
    "flamegraph",
    "heatmap",
    "pstats",
}

PLUGIN_MODULE = """
from typing import ClassVar


class SpeedscopeRenderer:
    name: ClassVar[str] = "speedscope"
    description: ClassVar[str] = "a third-party format"
    default_output: ClassVar[str | None] = "speedscope.{pid}.json"
    writes_text: ClassVar[bool] = True

    def __init__(self, *, indent=0):
        self.indent = indent

    def render(self, profile, path):
        path.write_text(str(profile.sample_count))

    def render_text(self, profile, stream):
        stream.write(f"{profile.sample_count} samples\\n")
"""


def install_distribution(root: Path, name: str, entries: str, module: str | None = None) -> None:
    """A real installed distribution: a .dist-info with entry points, on sys.path."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[pysampler.renderers]\n" + textwrap.dedent(entries).strip() + "\n"
    )
    if module is not None:
        (root / f"{name}_renderer.py").write_text(module)


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin distribution registering ``speedscope`` and a broken entry."""
    root = tmp_path / "site"
    install_distribution(
        root,
        "pysampler_speedscope",
        """
        speedscope = pysampler_speedscope_renderer:SpeedscopeRenderer
        broken = pysampler_speedscope_renderer:DoesNotExist
        """,
        PLUGIN_MODULE,
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv(renderers.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "pysampler_speedscope_renderer", raising=False)


def test_built_ins_are_registered_through_entry_points() -> None:
    assert set(renderers.available()) >= BUILT_IN
    assert renderers.get("pstats") is PstatsRenderer
    assert renderers.get("collapsed") is CollapsedRenderer
    assert renderers.get("binary") is BinaryRenderer


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_ins_describe_themselves(name: str, profile: Profile) -> None:
    renderer: Renderer = renderers.get(name)()
    assert renderer.name == name
    assert renderer.description
    assert isinstance(renderer.writes_text, bool)
    assert renderer.default_output is not None or renderer.writes_text


def test_a_third_party_renderer_is_found_and_loaded(
    third_party: None, profile: Profile, tmp_path: Path
) -> None:
    names = renderers.available()
    assert {"speedscope", "broken"} | BUILT_IN <= set(names)
    assert names == sorted(names)
    assert "pysampler_speedscope_renderer" not in sys.modules  # listing imports nothing
    factory = renderers.get("speedscope")
    renderer = factory(indent=2)
    out = io.StringIO()
    assert renderers.emit(renderer, profile, "-", stdout=out) is None
    assert out.getvalue() == "13 samples\n"


def test_unknown_names_list_what_is_available() -> None:
    with pytest.raises(PluginError, match=r"unknown output format 'svg'; available: .*pstats"):
        renderers.get("svg")


def test_a_plugin_that_fails_to_load_is_a_plugin_error(third_party: None) -> None:
    with pytest.raises(PluginError, match=r"'broken' .*pysampler_speedscope.* could not be loaded"):
        renderers.get("broken")


def test_a_name_registered_by_two_distributions_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "site"
    install_distribution(root, "pysampler_rival", "pstats = json:dumps")
    monkeypatch.syspath_prepend(str(root))
    with pytest.raises(PluginError, match="registered by both pysampler and pysampler_rival"):
        renderers.get("pstats")
    assert renderers.get("collapsed") is CollapsedRenderer


def test_autoload_can_be_limited_to_built_ins(
    third_party: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(renderers.DISABLE_AUTOLOAD_ENV, "1")
    assert renderers.available() == sorted(BUILT_IN)
    with pytest.raises(PluginError, match="unknown output format 'speedscope'"):
        renderers.get("speedscope")


def test_emit_defaults_pstats_to_stdout(profile: Profile) -> None:
    out = io.StringIO()
    assert renderers.emit(PstatsRenderer(), profile, stdout=out) is None
    assert "filename:lineno(function)" in out.getvalue()


def test_emit_writes_files_where_asked(profile: Profile, tmp_path: Path) -> None:
    written = renderers.emit(PstatsRenderer(), profile, tmp_path / "out.prof")
    assert written == tmp_path / "out.prof"
    assert pstats.Stats(str(written)).total_tt > 0  # type: ignore[attr-defined]
    binary = renderers.emit(BinaryRenderer(), profile, tmp_path / "out.bin")
    assert binary is not None
    assert Profile.load(binary).sample_count == 13


def test_emit_names_default_files_after_the_pid(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert renderers.emit(CollapsedRenderer(), profile) == Path("collapsed.4242.txt")
    assert (tmp_path / "collapsed.4242.txt").read_text().count("\n") == 5
    assert renderers.emit(BinaryRenderer(), profile) == Path("profile.4242.bin")
    assert renderers.default_output(PstatsRenderer(), profile) is None


def test_binary_output_refuses_a_text_stream(profile: Profile) -> None:
    with pytest.raises(OutputError, match="binary output is not text"):
        renderers.emit(BinaryRenderer(), profile, "-", stdout=io.StringIO())


OPTIONED_PLUGIN = """
from typing import ClassVar

from pysampler.renderers import Option, RendererBase


class CountRenderer(RendererBase):
    name: ClassVar[str] = "count"
    description: ClassVar[str] = "the sample count, in words"
    writes_text: ClassVar[bool] = True
    options: ClassVar[tuple[Option, ...]] = (
        Option(name="word", help="what to call a sample", default="samples"),
        Option(name="times", help="how often to say it", parse=int, default=1),
    )

    def __init__(self, *, word="samples", times=1):
        self.word, self.times = word, times

    def render(self, profile, path):
        path.write_text(self.line(profile))

    def render_text(self, profile, stream):
        stream.write(self.line(profile))

    def line(self, profile):
        return f"{profile.sample_count} {self.word}\\n" * self.times
"""


def test_a_plugin_renderer_takes_its_own_options_on_the_command_line(
    tmp_path: Path, profile: Profile
) -> None:
    """Installed as a distribution, the plugin's format and options reach
    the CLI as --count, --count-word and -O, with no change to pysampler."""
    root = tmp_path / "site"
    install_distribution(
        root, "pysampler_count", "count = pysampler_count_renderer:CountRenderer", OPTIONED_PLUGIN
    )
    saved = profile.save(tmp_path / "run.bin")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pysampler", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": str(root)},
        )

    listed = cli("replay", "--help")
    assert "--count " in listed.stdout and "--count-word" in listed.stdout, listed.stdout
    named = cli("replay", str(saved), "--count", "--count-word", "ticks", "-O", "times=2")
    assert named.returncode == 0, named.stderr
    assert named.stdout == "13 ticks\n13 ticks\n"
    unknown = cli("replay", str(saved), "--count", "-O", "colour=red")
    assert unknown.returncode == 1
    assert "the count format has no such option (its options: times, word)" in unknown.stderr
    elsewhere = cli("replay", str(saved), "--count", "--sort", "tottime")
    assert elsewhere.returncode == 1
    assert "an option of the pstats format" in elsewhere.stderr
    bad = cli("replay", str(saved), "--count", "-O", "times=many")
    assert bad.returncode == 1 and "times=many" in bad.stderr, bad.stderr


def test_built_in_options_take_their_flags_and_dash_o(tmp_path: Path, profile: Profile) -> None:
    saved = profile.save(tmp_path / "run.bin")
    for args in (["--sort", "name", "-l", "2"], ["-O", "sort=name", "-O", "limit=2"]):
        done = subprocess.run(
            [sys.executable, "-m", "pysampler", "replay", str(saved), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows = [line for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
        assert len(rows) == 2, done.stdout
        assert "(2 of " in done.stdout
