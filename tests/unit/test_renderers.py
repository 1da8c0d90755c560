"""The renderer registry: real entry points, ours and a third party's."""

from __future__ import annotations

import io
import pstats
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

BUILT_IN = {"binary", "collapsed", "diff-flamegraph", "flamegraph", "heatmap", "pstats"}

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
    options = {"baseline": profile} if name == "diff-flamegraph" else {}
    renderer: Renderer = renderers.get(name)(**options)
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
