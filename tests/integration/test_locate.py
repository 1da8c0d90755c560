"""Finding the interpreter however the target was started.

Each test starts tests/targets/known_stacks.py in a way that hides its
interpreter from a look at /proc/PID/exe and libpython* names only: through
the dynamic loader, in another mount namespace, in a chroot, renamed, under
another library name, from a deleted file, beside a second libpython.  The
file holding ``_PyRuntime`` must be the one found, and every stack must
come out exactly as the target itself reported it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from known_target import TARGET, KnownTarget, launch
from pythons import INSTALLED, Python, debian_unstable_root, unsupported

from pysampler import Snapshot, Unwinder

TIMEOUT = 60
SYSTEM_LOADER = Path("/lib64/ld-linux-x86-64.so.2")
# Opening /proc/PID/map_files/ takes CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE:
# a dump run without both reads a file out of our reach via /proc/PID/root.
WITHOUT_MAP_FILES = ("--bounding-set", "-sys_admin,-checkpoint_restore")

Stacks = dict[int, list[tuple[str, str, int | None]]]


@functools.cache
def facts(python: str) -> tuple[Path, Path]:
    """``python``'s sys.prefix and the file that holds its interpreter when
    it runs plainly: the libpython it loads, else the executable (as its
    own /proc/self/maps says, not pysampler)."""
    code = "import sys; print(sys.prefix); print(open('/proc/self/maps').read())"
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=TIMEOUT
    ).stdout
    prefix, *maps = out.splitlines()
    names = {fields[5] for fields in (line.split(maxsplit=5) for line in maps) if len(fields) == 6}
    libs = sorted(name for name in names if Path(name).name.startswith("libpython"))
    assert len(libs) <= 1, libs
    return Path(prefix), Path(libs[0]) if libs else Path(os.path.realpath(python))


def holder(python: Python) -> Path:
    return facts(python.path)[1]


def is_shared(python: Python) -> bool:
    return holder(python).name.startswith("libpython")


SHARED = [p for p in INSTALLED if is_shared(p)]
UNSTABLE = [p for p in INSTALLED if Path(p.path).is_relative_to(debian_unstable_root())]
UNSUPPORTED = unsupported()


def ids(pythons: list[Python]) -> list[str]:
    return [p.id for p in pythons]


def require(tool: str) -> str:
    """The path of ``tool``; the test fails, never skips, without it."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"this test needs {tool!r} (util-linux/coreutils), which is not installed")
    return path


@contextlib.contextmanager
def running(
    command: list[str], workdir: Path, report: Path, env: dict[str, str] | None = None
) -> Iterator[KnownTarget]:
    """The known target started by ``command``, stopped on the way out."""
    target = launch(command, report, workdir, None if env is None else {**os.environ, **env})
    try:
        yield target
    finally:
        target.stop()


def reported(target: KnownTarget) -> Stacks:
    """Each thread's frames, leaf first, as the target's own
    sys._current_frames() said."""
    return {
        int(ident): [(f["filename"], f["qualname"], f["lineno"]) for f in info["frames"]]
        for ident, info in target.report["threads"].items()
    }


def snapshot_stacks(snapshot: Snapshot) -> Stacks:
    assert all(thread.error is None for thread in snapshot.threads)
    return {
        t.thread_id: [(f.filename, f.qualname, f.lineno) for f in t.frames]
        for t in snapshot.threads
    }


def json_stacks(data: dict[str, Any]) -> Stacks:
    threads = [t for interpreter in data["interpreters"] for t in interpreter["threads"]]
    assert all(thread["error"] is None for thread in threads)
    return {
        t["thread_id"]: [(f["filename"], f["qualname"], f["lineno"]) for f in t["frames"]]
        for t in threads
    }


def assert_found(target: KnownTarget, python: Python, binary: Path | str) -> None:
    """pysampler finds ``binary`` in the target and reads exact stacks."""
    with Unwinder(target.pid) as unwinder:
        info = unwinder.target
        version = info.python_version
        assert (info.binary, (version.major, version.minor, version.micro)) == (
            str(binary),
            python.version,
        )
        assert snapshot_stacks(unwinder.snapshot()) == reported(target)


def first_mapping(pid: int, path: Path) -> str:
    """The /proc/PID/map_files/ name of the first page of ``path``."""
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path) and int(fields[2], 16) == 0:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            return f"{start:x}-{end:x}"
    pytest.fail(f"process {pid} does not map {path}")


def assert_read_through_root(
    target: KnownTarget, python: Python, binary: Path, inner: Path
) -> None:
    """``binary`` (as /proc/PID/maps names it) is not a path in our mount
    namespace but is ``inner`` under /proc/PID/root: a `pysampler dump` that
    may not open /proc/PID/map_files/ still finds it and the exact stacks."""
    setpriv = require("setpriv")
    assert not binary.exists()
    assert Path(f"/proc/{target.pid}/root{inner}").is_file()
    mapping = f"/proc/{target.pid}/map_files/{first_mapping(target.pid, binary)}"
    probe = subprocess.run(
        [setpriv, *WITHOUT_MAP_FILES, "head", "-c", "4", mapping],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert (probe.returncode, probe.stdout) != (0, b"\x7fELF"), "map_files/ is still open to us"

    dump = [sys.executable, "-m", "pysampler", "dump", "--json", str(target.pid)]
    result = subprocess.run(
        [setpriv, *WITHOUT_MAP_FILES, *dump],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    version = re.match(r"(\d+)\.(\d+)\.(\d+)", data["python_version"])
    assert version is not None
    assert data["binary"] == str(binary)
    assert tuple(int(part) for part in version.groups()) == python.version
    assert json_stacks(data) == reported(target)


def mapped_paths(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {fields[5] for fields in (line.split(maxsplit=5) for line in lines) if len(fields) == 6}


@pytest.mark.parametrize("interpreter", INSTALLED, ids=ids(INSTALLED))
def test_started_through_the_loader(interpreter: Python, tmp_path: Path) -> None:
    """``ld-linux-x86-64.so.2 python ...``: the executable is the loader,
    which maps the interpreter like any library."""
    root = debian_unstable_root()
    own_tree = Path(interpreter.path).is_relative_to(root)
    loader = root / "usr" / "lib64" / "ld-linux-x86-64.so.2" if own_tree else SYSTEM_LOADER
    report = tmp_path / "report.json"
    command = [str(loader), interpreter.path, str(TARGET), str(report)]
    with running(command, tmp_path, report) as target:
        assert Path(f"/proc/{target.pid}/exe").readlink() == loader.resolve()
        assert_found(target, interpreter, holder(interpreter))


@pytest.mark.parametrize("interpreter", INSTALLED, ids=ids(INSTALLED))
def test_a_private_mount_namespace(interpreter: Python, tmp_path: Path) -> None:
    """The interpreter's tree bind-mounted, in the target's own mount
    namespace only, onto a directory that is empty in ours."""
    unshare, mount = require("unshare"), require("mount")
    tree = Path(os.path.realpath(interpreter.path)).parent.parent
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    report = tmp_path / "report.json"
    python = hidden / Path(os.path.realpath(interpreter.path)).relative_to(tree)
    command = [unshare, "-m", "sh", "-c", '"$0" --bind "$1" "$2" && shift 2 && exec "$@"']
    command += [mount, str(tree), str(hidden), str(python), str(TARGET), str(report)]
    # pyenv's builds find libpython by RUNPATH, which LD_LIBRARY_PATH overrides.
    env = {"LD_LIBRARY_PATH": str(hidden / "lib")}
    with running(command, tmp_path, report, env) as target:
        binary = hidden / holder(interpreter).relative_to(tree)
        assert_read_through_root(target, interpreter, binary, binary)


@pytest.mark.parametrize("interpreter", UNSTABLE, ids=ids(UNSTABLE))
def test_a_chroot(interpreter: Python, tmp_path: Path) -> None:
    """Debian unstable's own, unpatched python3.X run chrooted into a root
    that holds its tree (bind-mounted in a private mount namespace)."""
    unshare, mount, chroot = require("unshare"), require("mount"), require("chroot")
    tree = debian_unstable_root() / "usr"
    name = Path(interpreter.path).name.removesuffix("-local")
    assert (tree / "bin" / name).is_file()
    root, work = tmp_path / "root", tmp_path / "work"
    for directory in (root / "usr", root / "w", work):
        directory.mkdir(parents=True)
    for link in ("bin", "lib", "lib64"):
        (root / link).symlink_to(f"usr/{link}")
    shutil.copy(TARGET, work / TARGET.name)
    script = '"$0" --bind "$1" "$4/usr" && "$0" --bind "$2" "$4/w" && shift 2 && exec "$@"'
    command = [unshare, "-m", "sh", "-c", script, mount, str(tree), str(work), chroot, str(root)]
    command += [f"/usr/bin/{name}", f"/w/{TARGET.name}", "/w/report.json"]
    with running(command, tmp_path, work / "report.json") as target:
        assert Path(f"/proc/{target.pid}/root").readlink() == root
        assert_read_through_root(
            target, interpreter, root / "usr/bin" / name, Path(f"/usr/bin/{name}")
        )


@pytest.mark.parametrize("interpreter", INSTALLED, ids=ids(INSTALLED))
def test_a_renamed_interpreter(interpreter: Python, tmp_path: Path) -> None:
    """A copy of the executable named ``myservice``."""
    prefix, _ = facts(interpreter.path)
    service = tmp_path / "bin" / "myservice"
    service.parent.mkdir()
    shutil.copy(os.path.realpath(interpreter.path), service)
    report = tmp_path / "report.json"
    env = {"PYTHONHOME": str(prefix)}
    with running([str(service), str(TARGET), str(report)], tmp_path, report, env) as target:
        assert_found(
            target, interpreter, holder(interpreter) if is_shared(interpreter) else service
        )


@pytest.mark.parametrize("interpreter", SHARED, ids=ids(SHARED))
def test_libpython_under_another_name(interpreter: Python, tmp_path: Path) -> None:
    """The interpreter as a library named ``libpyembed.so``, as a program
    embedding Python may ship it: preloaded, it stands for the libpython
    the executable asks for (its soname is the same)."""
    library = tmp_path / "libpyembed.so"
    shutil.copy(holder(interpreter), library)
    report = tmp_path / "report.json"
    env = {"LD_PRELOAD": str(library)}
    with running([interpreter.path, str(TARGET), str(report)], tmp_path, report, env) as target:
        assert not [p for p in mapped_paths(target.pid) if Path(p).name.startswith("libpython")]
        assert_found(target, interpreter, library)


@pytest.mark.parametrize("interpreter", INSTALLED, ids=ids(INSTALLED))
def test_a_deleted_interpreter_file(interpreter: Python, tmp_path: Path) -> None:
    """The file holding the interpreter removed once the target runs: it is
    read through /proc/PID/map_files/."""
    prefix, original = facts(interpreter.path)
    copy = tmp_path / original.name
    shutil.copy(original, copy)
    report = tmp_path / "report.json"
    if is_shared(interpreter):
        command, env = [interpreter.path], {"LD_PRELOAD": str(copy)}
    else:
        command, env = [str(copy)], {"PYTHONHOME": str(prefix)}
    with running([*command, str(TARGET), str(report)], tmp_path, report, env) as target:
        copy.unlink()
        assert f"{copy} (deleted)" in mapped_paths(target.pid)
        assert_found(target, interpreter, f"{copy} (deleted)")


@pytest.mark.parametrize("interpreter", INSTALLED, ids=ids(INSTALLED))
def test_a_second_libpython_is_not_taken(interpreter: Python, tmp_path: Path) -> None:
    """A libpython of another version loaded with ctypes at start-up, never
    initialized: it defines _PyRuntime too (with the _Py_DebugOffsets
    cookie for 3.13), but no interpreter runs in it."""
    other = max((p for p in SHARED if p.minor != interpreter.minor), key=lambda p: p.minor)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import ctypes, os\nctypes.CDLL(os.environ['SECOND_LIBPYTHON'])\n"
    )
    report = tmp_path / "report.json"
    env = {"PYTHONPATH": str(site), "SECOND_LIBPYTHON": str(holder(other))}
    with running([interpreter.path, str(TARGET), str(report)], tmp_path, report, env) as target:
        assert str(holder(other)) in mapped_paths(target.pid)
        assert_found(target, interpreter, holder(interpreter))


@pytest.mark.parametrize("old", UNSUPPORTED, ids=ids(UNSUPPORTED))
def test_an_unsupported_python_beside_a_second_libpython(old: Python, tmp_path: Path) -> None:
    """An unsupported Python that loaded a supported libpython with ctypes
    is refused for its own version, not read as the library's."""
    second = holder(max(SHARED, key=lambda p: p.minor))
    code = f"import ctypes, time; ctypes.CDLL({str(second)!r}); print('ready', flush=True)"
    code += "; time.sleep(60)"
    target = subprocess.Popen([old.path, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None
        assert target.stdout.readline() == "ready\n"
        assert str(second) in mapped_paths(target.pid)
        result = subprocess.run(
            [sys.executable, "-m", "pysampler", "dump", str(target.pid)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        version = ".".join(map(str, old.version))
        assert result.returncode != 0
        assert result.stdout == ""
        assert re.fullmatch(
            rf"pysampler: error: process {target.pid} runs Python {re.escape(version)}, "
            r"which pysampler does not support \(it reads CPython 3\.8 to 3\.15\)\n",
            result.stderr,
        ), result.stderr
    finally:
        target.kill()
        target.wait()
