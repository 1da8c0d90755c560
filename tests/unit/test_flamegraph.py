"""The flamegraph's data: the function tree, its JSON, source groups, the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from batches import MAIN, PARSE, RUN, THREAD_1, THREAD_2, BatchBuilder, session_info, session_stats

from pysampler import renderers
from pysampler.collectors import StackCollector
from pysampler.model import FrameKind
from pysampler.profile import FunctionKey, Profile
from pysampler.renderers._html import script_json as payload_json
from pysampler.renderers.flamegraph import FlamegraphRenderer, flamegraph_html
from pysampler.renderers.flamegraph._groups import GroupKind, classify, unique_labels
from pysampler.renderers.flamegraph._payload import flame_payload
from pysampler.views.calltree import function_tree


def collect(builder: BatchBuilder) -> Profile:
    collector = StackCollector()
    collector.start(session_info())
    collector.add(builder.batch())
    return collector.finish(session_stats())


def names(tree_path: list[FunctionKey]) -> list[str]:
    return [function.qualname for function in tree_path]


def test_function_tree_of_the_known_session(profile: Profile) -> None:
    tree = function_tree(profile)
    by_path = {tuple(names(tree.path(node))): node for node in range(len(tree))}
    expected = {
        (): (11, 0),
        ("<module>",): (11, 0),
        ("<module>", "run"): (11, 2),
        ("<module>", "run", "walk"): (5, 0),
        ("<module>", "run", "walk", "walk"): (4, 0),
        ("<module>", "run", "walk", "walk", "Parser.parse"): (4, 4),
        ("<module>", "run", "walk", "<GC>"): (1, 1),
        ("<module>", "run", "Parser.parse"): (4, 4),
    }
    assert {path: (tree.total[n], tree.self_weight[n]) for path, n in by_path.items()} == expected
    # Preorder, widest child first: walk (5) comes before Parser.parse (4).
    assert [names(tree.path(n))[-1] if n else "" for n in range(len(tree))] == [
        "", "<module>", "run", "walk", "walk", "Parser.parse", "<GC>", "Parser.parse",
    ]  # fmt: skip
    assert all(tree.parent[n] < n for n in range(1, len(tree)))
    parse = by_path["<module>", "run", "Parser.parse"]
    assert tree.thread_self[parse, 0] == 3
    assert tree.thread_self[parse, 1] == 1
    assert sum(tree.thread_self.values()) == tree.total[0] == 11


def test_lines_of_one_function_merge_heaviest_first() -> None:
    builder = BatchBuilder()
    builder.sample([MAIN, RUN, PARSE], count=2)
    builder.sample([MAIN, ("/srv/app/main.py", "run", 10, 14), PARSE], count=3)
    builder.sample([MAIN, ("/srv/app/main.py", "run", 10, 15)], count=1)
    tree = function_tree(collect(builder))
    assert len(tree) == 4  # root, <module>, run, Parser.parse
    run = next(n for n in range(len(tree)) if names(tree.path(n)) == ["<module>", "run"])
    assert tree.lines[run] == [(14, 3), (12, 2), (15, 1)]
    assert tree.total[run] == 6
    assert tree.self_weight[run] == 1
    # One line is kept as columns, several as a list; both read as lists.
    assert tree.lines.hottest[run] == 14
    assert tree.lines == [tree.lines[n] for n in range(len(tree))]
    assert tree.lines[0] == [] and tree.lines[-1] == tree.lines[len(tree) - 1]
    assert tree.lines[1:3] == [tree.lines[1], tree.lines[2]]


def test_payload_columns_decode_to_the_tree(profile: Profile) -> None:
    tree = function_tree(profile)
    payload = json.loads(payload_json(flame_payload(profile, tree)))
    strings = payload["strings"]
    assert len(strings) == len(set(strings))
    nodes = payload["nodes"]
    parents = [n - up for n, up in enumerate(nodes["up"])]
    assert parents[1:] == list(tree.parent)[1:]
    funcs = payload["funcs"]
    files = payload["files"]
    for node in range(1, len(tree)):
        name, file, first = funcs[3 * nodes["func"][node] : 3 * nodes["func"][node] + 3]
        function = tree.functions[tree.function[node]]
        assert (strings[name], strings[files[3 * file]], first) == (
            function.qualname,
            function.filename,
            function.firstlineno,
        )
        code = nodes["line"][node]
        line = 0 if code == 0 else first + code - 1 if code > 0 else first + code
        assert line == tree.lines[node][0][0]
    self_nodes = [0]
    for step in payload["self"]["node"]:
        self_nodes.append(self_nodes[-1] + step)
    entries = zip(self_nodes[1:], payload["self"]["thread"], payload["self"]["weight"], strict=True)
    assert {(n, t): w for n, t, w in entries} == tree.thread_self
    assert payload["meta"]["withFrames"] == 11
    assert payload["meta"]["samples"] == 13
    assert [t["ident"] for t in payload["threads"]] == [f"0x{THREAD_1:x}", f"0x{THREAD_2:x}"]


def test_payload_json_cannot_end_a_script_element() -> None:
    builder = BatchBuilder()
    hostile = "</script><img src=x onerror=alert(1)><!-- & \u2028"
    builder.sample([(f"/tmp/{hostile}.py", hostile, 1, 2), FrameKind.GC])
    profile = collect(builder)
    text = payload_json(flame_payload(profile, function_tree(profile)))
    assert not re.search(r"[<>&\u2028]", text)
    assert text.isascii()
    assert hostile in json.loads(text)["strings"]


def test_source_groups() -> None:
    site = classify("/venv/lib/python3.12/site-packages/requests/adapters.py")
    assert (site.module, site.label, site.kind) == (
        "requests.adapters",
        "requests",
        GroupKind.PACKAGE,
    )
    init = classify("/usr/lib/python3/dist-packages/yaml/__init__.py")
    assert (init.module, init.label) == ("yaml", "yaml")
    std = classify("/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py")
    assert (std.module, std.label, std.kind) == ("json.decoder", "json (stdlib)", GroupKind.STDLIB)
    assert classify("/usr/lib/python3.11/threading.py").key == "stdlib:threading"
    frozen = classify("<frozen importlib._bootstrap>")
    assert (frozen.module, frozen.label) == ("importlib._bootstrap", "importlib (stdlib)")
    app = classify("/srv/app/main.py")
    assert (app.module, app.label, app.kind, app.key) == (
        "main",
        "main.py",
        GroupKind.FILE,
        "file:/srv/app/main.py",
    )
    assert classify("~").kind == GroupKind.MARKER
    assert unique_labels(["/a/x/util.py", "/b/y/util.py", "/c/main.py"]) == [
        "x/util.py",
        "y/util.py",
        "main.py",
    ]


def test_renderer_is_registered_and_writes_one_page(profile: Profile, tmp_path: Path) -> None:
    assert renderers.get("flamegraph") is FlamegraphRenderer
    renderer = FlamegraphRenderer()
    written = renderers.emit(renderer, profile, tmp_path / "out.html")
    assert written == tmp_path / "out.html"
    html = written.read_text(encoding="utf-8")
    assert html == flamegraph_html(profile)
    assert renderers.default_output(renderer, profile) == "flamegraph.4242.html"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched
    assert "default-src 'none'" in html
    assert html.count("<script") == 2
