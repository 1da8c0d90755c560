"""3.14 and 3.15 targets through _Py_DebugOffsets, on synthetic memory images.

The integration tests read real 3.14 and 3.15 processes, whose layouts are
the ones the generated tables (layouts/v3_14.h, v3_15.h) were made from.
These tests cover the layouts not installed here: each lays out the memory
such a process would hold, a ``_PyRuntime`` starting with that version's
``_Py_DebugOffsets`` table, an interpreter, thread states, frames, code
objects, strings and line tables, at addresses of its own.  The C core
reads the image through the same reader interface it reads a live process
with, so version checks, the table, the layout and the walk are the code a
real target goes through.

The tables mirror internal/pycore_debug_offsets.h of Debian unstable's
3.14.10 (760 bytes) and 3.15.2 (888 bytes) headers; see
src/pysampler/_c/debugoffsets.c.  Offset values are realistic for x86-64
but chosen here: the point is that the reader takes them from the table, so
the tests also move some of them away from the real ones.  What the table
does not give (3.14's exception state) the reader takes from the generated
header table, so the image puts it where that table says.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pythons import debian_unstable

from pysampler import (
    Snapshot,
    ThreadStatus,
    UnsupportedPythonVersionError,
    Unwinder,
    UnwindError,
)

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = ROOT / "src" / "pysampler" / "_c" / "layouts"

RUNTIME = 0x5600_0000_1000
HEAP = 0x7F00_0000_0000
NOWHERE = 0x7FF0_0000_0000

# (section, fields) in table order, after cookie, version and free_threaded.
COMMON_HEAD = [
    ("runtime_state", ["size", "finalizing", "interpreters_head"]),
    (
        "interpreter_state",
        [
            "size",
            "id",
            "next",
            "threads_head",
            "threads_main",
            "gc",
            "imports_modules",
            "sysdict",
            "builtins",
            "ceval_gil",
            "gil_runtime_state",
            "gil_runtime_state_enabled",
            "gil_runtime_state_locked",
            "gil_runtime_state_holder",
            "code_object_generation",
            "tlbc_generation",
        ],
    ),
]
FRAME_AND_CODE = [
    (
        "interpreter_frame",
        [
            "size",
            "previous",
            "executable",
            "instr_ptr",
            "localsplus",
            "owner",
            "stackpointer",
            "tlbc_index",
        ],
    ),
    (
        "code_object",
        [
            "size",
            "filename",
            "name",
            "qualname",
            "linetable",
            "firstlineno",
            "argcount",
            "localsplusnames",
            "localspluskinds",
            "co_code_adaptive",
            "co_tlbc",
        ],
    ),
    ("pyobject", ["size", "ob_type"]),
]
SEQUENCES = [
    ("tuple_object", ["size", "ob_item", "ob_size"]),
    ("list_object", ["size", "ob_item", "ob_size"]),
    ("set_object", ["size", "used", "table", "mask"]),
    ("dict_object", ["size", "ma_keys", "ma_values"]),
    ("float_object", ["size", "ob_fval"]),
    ("long_object", ["size", "lv_tag", "ob_digit"]),
    ("bytes_object", ["size", "ob_size", "ob_sval"]),
]
TAIL = [
    ("gen_object", ["size", "gi_name", "gi_iframe", "gi_frame_state"]),
    ("llist_node", ["next", "prev"]),
    (
        "debugger_support",
        [
            "eval_breaker",
            "remote_debugger_support",
            "remote_debugging_enabled",
            "debugger_pending_call",
            "debugger_script_path",
            "debugger_script_path_size",
        ],
    ),
]
SHAPES: dict[int, list[tuple[str, list[str]]]] = {
    14: [
        *COMMON_HEAD,
        (
            "thread_state",
            [
                "size",
                "prev",
                "next",
                "interp",
                "current_frame",
                "thread_id",
                "native_thread_id",
                "datastack_chunk",
                "status",
            ],
        ),
        *FRAME_AND_CODE,
        ("type_object", ["size", "tp_name", "tp_repr", "tp_flags"]),
        *SEQUENCES,
        ("unicode_object", ["size", "state", "length", "asciiobject_size"]),
        ("gc", ["size", "collecting"]),
        *TAIL,
    ],
    15: [
        *COMMON_HEAD,
        (
            "thread_state",
            [
                "size",
                "prev",
                "next",
                "interp",
                "current_frame",
                "base_frame",
                "last_profiled_frame",
                "last_profiled_frame_seq",
                "thread_id",
                "native_thread_id",
                "datastack_chunk",
                "status",
                "holds_gil",
                "gil_requested",
                "current_exception",
                "exc_state",
            ],
        ),
        ("err_stackitem", ["exc_value"]),
        *FRAME_AND_CODE,
        (
            "type_object",
            ["size", "tp_name", "tp_repr", "tp_flags", "tp_basicsize", "tp_dictoffset"],
        ),
        ("heap_type_object", ["size", "ht_cached_keys"]),
        *SEQUENCES,
        (
            "unicode_object",
            ["size", "state", "length", "asciiobject_size", "compactunicodeobject_size"],
        ),
        ("gc", ["size", "collecting", "frame", "generation_stats_size", "generation_stats"]),
        *TAIL,
    ],
}
TABLE_SIZES = {14: 760, 15: 888}

# Offsets in a default (GIL) x86-64 build.  Some differ on purpose from
# the real ones (the reader must take them from the table).
OFFSETS: dict[str, int] = {
    "runtime_state.size": 4096,
    "runtime_state.finalizing": 1024,
    "runtime_state.interpreters_head": 1064,
    "interpreter_state.size": 12288,
    "interpreter_state.id": 8,
    "interpreter_state.next": 0,
    "interpreter_state.threads_head": 7352,
    "interpreter_state.threads_main": 7360,
    "interpreter_state.gc": 1200,
    "interpreter_state.imports_modules": 7700,
    "interpreter_state.sysdict": 7800,
    "interpreter_state.builtins": 7808,
    "interpreter_state.ceval_gil": 40,
    "interpreter_state.gil_runtime_state": 9000,
    "interpreter_state.gil_runtime_state_locked": 9016,
    "interpreter_state.gil_runtime_state_holder": 9008,
    "interpreter_state.code_object_generation": 9500,
    "thread_state.size": 480,
    "thread_state.prev": 0,
    "thread_state.next": 8,
    "thread_state.interp": 16,
    "thread_state.current_frame": 72,
    "thread_state.thread_id": 160,
    "thread_state.native_thread_id": 168,
    "thread_state.datastack_chunk": 232,
    "thread_state.status": 32,
    "interpreter_frame.size": 88,
    "interpreter_frame.previous": 8,
    "interpreter_frame.executable": 0,
    "interpreter_frame.instr_ptr": 56,
    "interpreter_frame.localsplus": 80,
    "interpreter_frame.owner": 74,
    "interpreter_frame.stackpointer": 64,
    "code_object.size": 224,
    "code_object.filename": 112,
    "code_object.name": 120,
    "code_object.qualname": 128,
    "code_object.linetable": 136,
    "code_object.firstlineno": 68,
    "code_object.argcount": 36,
    "code_object.localsplusnames": 96,
    "code_object.localspluskinds": 104,
    "code_object.co_code_adaptive": 216,
    "pyobject.size": 16,
    "pyobject.ob_type": 8,
    "type_object.size": 416,
    "type_object.tp_name": 24,
    "type_object.tp_repr": 88,
    "type_object.tp_flags": 168,
    "tuple_object.size": 32,
    "tuple_object.ob_item": 24,
    "tuple_object.ob_size": 16,
    "list_object.size": 40,
    "list_object.ob_item": 24,
    "list_object.ob_size": 16,
    "set_object.size": 200,
    "set_object.used": 24,
    "set_object.table": 40,
    "set_object.mask": 32,
    "dict_object.size": 48,
    "dict_object.ma_keys": 32,
    "dict_object.ma_values": 40,
    "float_object.size": 24,
    "float_object.ob_fval": 16,
    "long_object.size": 32,
    "long_object.lv_tag": 16,
    "long_object.ob_digit": 24,
    "bytes_object.size": 40,
    "bytes_object.ob_size": 16,
    "bytes_object.ob_sval": 32,
    "unicode_object.size": 72,
    "unicode_object.state": 32,
    "unicode_object.length": 16,
    "unicode_object.asciiobject_size": 40,
    "gc.size": 512,
    "gc.collecting": 28,
    "gen_object.size": 216,
    "gen_object.gi_name": 24,
    "gen_object.gi_iframe": 88,
    "gen_object.gi_frame_state": 83,
    "llist_node.next": 0,
    "llist_node.prev": 8,
    "debugger_support.eval_breaker": 24,
    "debugger_support.remote_debugger_support": 440,
    "debugger_support.remote_debugging_enabled": 1500,
    "debugger_support.debugger_pending_call": 0,
    "debugger_support.debugger_script_path": 4,
    "debugger_support.debugger_script_path_size": 512,
}
OFFSETS_315: dict[str, int] = {
    # 3.15 moves the thread state's fields and adds its own.
    "thread_state.size": 520,
    "thread_state.current_frame": 80,
    "thread_state.base_frame": 88,
    "thread_state.last_profiled_frame": 96,
    "thread_state.last_profiled_frame_seq": 104,
    "thread_state.current_exception": 136,
    "thread_state.thread_id": 184,
    "thread_state.native_thread_id": 192,
    "thread_state.holds_gil": 48,
    "thread_state.gil_requested": 52,
    "thread_state.exc_state": 300,
    "err_stackitem.exc_value": 0,
    "type_object.tp_basicsize": 32,
    "type_object.tp_dictoffset": 288,
    "heap_type_object.size": 944,
    "heap_type_object.ht_cached_keys": 880,
    "unicode_object.compactunicodeobject_size": 56,
    "gc.frame": 40,
    "gc.generation_stats_size": 24,
    "gc.generation_stats": 64,
    "code_object.co_code_adaptive": 232,
    "code_object.size": 240,
}

# Frame owners (pycore_interpframe_structs.h).
THREAD, GENERATOR, FRAME_OBJECT, INTERPRETER, LAST = 0, 1, 2, 3, 4
TAG_REFCNT = 1  # _PyStackRef: a borrowed / immortal reference


def header_field(minor: int, name: str) -> int:
    """A field of the layout generated from 3.minor's headers (layouts/v3_X.h)."""
    text = (LAYOUTS / f"v3_{minor}.h").read_text(encoding="utf-8")
    match = re.search(rf"\.{name}\s*=\s*(\d+),", text)
    assert match, f"{name} not in v3_{minor}.h"
    return int(match.group(1))


def exc_info_offset(minor: int, values: dict[str, int]) -> int:
    """Where PyThreadState.exc_info sits: 3.15's table implies it, 3.14's headers give it."""
    if minor >= 15:
        return values["thread_state.current_exception"] + 8
    return header_field(minor, "tstate_exc_info")


def hexversion(minor: int, micro: int = 0, level: int = 0xF, serial: int = 0) -> int:
    return (3 << 24) | (minor << 16) | (micro << 8) | (level << 4) | serial


def offsets_for(minor: int) -> dict[str, int]:
    values = dict(OFFSETS)
    if minor >= 15:
        values.update(OFFSETS_315)
    return values


def pack_table(
    minor: int,
    values: dict[str, int],
    *,
    shape: int | None = None,
    version: int | None = None,
    free_threaded: int = 0,
    cookie: bytes = b"xdebugpy",
) -> bytes:
    """The _Py_DebugOffsets table of 3.minor (of another shape if asked)."""
    layout = SHAPES[shape if shape is not None else minor]
    words = [values.get(f"{section}.{name}", 0) for section, names in layout for name in names]
    head = struct.pack("<8sQQ", cookie, version or hexversion(minor), free_threaded)
    return head + struct.pack(f"<{len(words)}Q", *words)


def svarint(value: int) -> list[int]:
    return uvarint((-value << 1) | 1 if value < 0 else value << 1)


def uvarint(value: int) -> list[int]:
    out = []
    while True:
        chunk = value & 63
        value >>= 6
        if value:
            out.append(chunk | 64)
        else:
            out.append(chunk)
            return out


def entry(code: int, units: int, payload: list[int]) -> bytes:
    """One entry of the 3.11+ location table."""
    assert 1 <= units <= 8
    return bytes([0x80 | (code << 3) | (units - 1), *payload])


def no_location(units: int) -> bytes:
    return entry(15, units, [])


def long_form(units: int, line_delta: int, end_delta: int, col: int, end_col: int) -> bytes:
    return entry(
        14,
        units,
        [*svarint(line_delta), *uvarint(end_delta), *uvarint(col + 1), *uvarint(end_col + 1)],
    )


def no_columns(units: int, line_delta: int) -> bytes:
    return entry(13, units, svarint(line_delta))


def one_line(units: int, line_delta: int, col: int, end_col: int) -> bytes:
    assert 0 <= line_delta <= 2
    return entry(10 + line_delta, units, [col, end_col])


def short_form(units: int, col: int, width: int) -> bytes:
    assert col < 80 and width < 16
    return entry(col // 8, units, [((col % 8) << 4) | width])


@dataclass
class Image:
    """Memory laid out by one version's debug offsets."""

    minor: int
    values: dict[str, int]
    heap: bytearray = field(default_factory=bytearray)
    runtime: bytearray = field(default_factory=bytearray)
    names: dict[str, int] = field(default_factory=dict)

    def off(self, name: str) -> int:
        return self.values[name]

    def alloc(self, size: int) -> int:
        while len(self.heap) % 16:
            self.heap.append(0)
        address = HEAP + len(self.heap)
        self.heap.extend(bytes(size))
        return address

    def put(self, address: int, data: bytes) -> None:
        if RUNTIME <= address < RUNTIME + len(self.runtime):
            start = address - RUNTIME
            self.runtime[start : start + len(data)] = data
            return
        start = address - HEAP
        assert start >= 0 and start + len(data) <= len(self.heap)
        self.heap[start : start + len(data)] = data

    def u64(self, address: int, value: int) -> None:
        self.put(address, struct.pack("<Q", value))

    def u32(self, address: int, value: int) -> None:
        self.put(address, struct.pack("<I", value))

    def u8(self, address: int, value: int) -> None:
        self.put(address, bytes([value]))

    def segments(self) -> list[tuple[int, bytes]]:
        return [(RUNTIME, bytes(self.runtime)), (HEAP, bytes(self.heap))]

    def unwinder(self, version: int | None = None) -> Unwinder:
        return Unwinder.from_image(self.segments(), RUNTIME, version or hexversion(self.minor))

    # ---- objects ---------------------------------------------------------

    def type_object(self, name: str) -> int:
        address = self.alloc(self.off("type_object.size"))
        self.names[f"type {name}"] = address
        return address

    def str_object(self, text: str) -> int:
        biggest = max((ord(c) for c in text), default=0)
        ascii_ = biggest < 128
        kind = 1 if biggest < 256 else 2 if biggest < 65536 else 4
        data = text.encode({1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind])
        ascii_size = self.off("unicode_object.asciiobject_size")
        header = ascii_size if ascii_ else ascii_size + 16
        address = self.alloc(header + len(data) + kind)
        self.u64(address + self.off("pyobject.ob_type"), self.names["type str"])
        self.u64(address + self.off("unicode_object.length"), len(text))
        self.u64(address + 24, (1 << 64) - 1)  # hash: not computed
        # interned:2 (1: interned), kind:3, compact:1, ascii:1 (default build)
        state = 1 | (kind << 2) | (1 << 5) | (int(ascii_) << 6)
        self.u32(address + self.off("unicode_object.state"), state)
        self.put(address + header, data)
        return address

    def bytes_object(self, data: bytes) -> int:
        sval = self.off("bytes_object.ob_sval")
        address = self.alloc(sval + len(data) + 1)
        self.u64(address + self.off("pyobject.ob_type"), self.names["type bytes"])
        self.u64(address + self.off("bytes_object.ob_size"), len(data))
        self.put(address + sval, data)
        return address

    def code_object(
        self, filename: str, qualname: str, firstlineno: int, linetable: bytes, units: int
    ) -> int:
        adaptive = self.off("code_object.co_code_adaptive")
        address = self.alloc(max(adaptive + 2 * units, self.off("code_object.size")))
        self.u64(address + self.off("pyobject.ob_type"), self.names["type code"])
        self.u64(address + self.off("bytes_object.ob_size"), units)
        self.u64(address + self.off("code_object.filename"), self.str_object(filename))
        name = qualname.rsplit(".", 1)[-1]
        self.u64(address + self.off("code_object.name"), self.str_object(name))
        self.u64(address + self.off("code_object.qualname"), self.str_object(qualname))
        self.u64(address + self.off("code_object.linetable"), self.bytes_object(linetable))
        self.u32(address + self.off("code_object.firstlineno"), firstlineno)
        self.put(address + adaptive, bytes([149, 0]) * units)  # RESUME-ish filler
        return address

    def frame(self, executable: int, previous: int, owner: int, unit: int | None = None) -> int:
        address = self.alloc(self.off("interpreter_frame.size") + 4 * 8)
        self.u64(address + self.off("interpreter_frame.executable"), executable)
        self.u64(address + self.off("interpreter_frame.previous"), previous)
        self.u8(address + self.off("interpreter_frame.owner"), owner)
        if unit is not None:
            code = executable & ~3
            instr = code + self.off("code_object.co_code_adaptive") + 2 * unit
            self.u64(address + self.off("interpreter_frame.instr_ptr"), instr)
        return address

    def stack_item(self, exc_value: int, previous: int) -> int:
        address = self.alloc(24)
        value_at = self.values.get("err_stackitem.exc_value", 0)
        self.u64(address + value_at, exc_value)
        self.u64(address + value_at + 8, previous)
        return address


# What the image below holds, as the reader must give it back.
MAIN_FRAMES = [
    # qualname, filename, lineno, end_lineno, col, end_col, instr_offset
    ("Worker.run", "/srv/app/worker.py", 13, 14, 4, 17, 8),
    ("café.brew", "/srv/app/módulo_π.py", 41, 41, 8, 20, 2),
    ("<module>", "/srv/app/main.py", 1, 1, 11, 16, 4),
]
OTHER_FRAMES = [
    ("gen_items", "/srv/app/\U0001f600tools.py", 105, 105, None, None, 0),
]
MAIN_IDENT, MAIN_TID = 0x7F11_2222_3300, 1001
OTHER_IDENT, OTHER_TID = 0x7F11_2222_4400, 1002


def build(minor: int, values: dict[str, int] | None = None) -> Image:
    """An interpreter with two threads: main (3 frames + shims) and one more."""
    values = values or offsets_for(minor)
    image = Image(minor, values)
    image.runtime = bytearray(values["runtime_state.size"])
    image.runtime[: TABLE_SIZES[minor]] = pack_table(minor, values)
    for name in ("type", "str", "bytes", "code", "exception"):
        image.type_object(name)

    leaf = image.code_object(
        "/srv/app/worker.py",
        "Worker.run",
        10,
        no_location(1) + short_form(2, 0, 0) + long_form(3, 3, 1, 4, 17),
        6,
    )
    middle = image.code_object(
        "/srv/app/módulo_π.py", "café.brew", 40, one_line(2, 1, 8, 20) + no_location(4), 6
    )
    root = image.code_object(
        "/srv/app/main.py", "<module>", 1, no_columns(1, 0) + short_form(2, 11, 5), 3
    )
    shim = image.code_object("<shim>", "<shim>", 1, no_location(1), 1)
    gen = image.code_object("/srv/app/\U0001f600tools.py", "gen_items", 100, no_columns(1, 5), 1)

    # main thread: leaf <- shim <- middle <- root <- bottom sentinel
    bottom = image.frame(0, 0, LAST)
    f_root = image.frame(root, bottom, FRAME_OBJECT, unit=2)
    f_middle = image.frame(middle | TAG_REFCNT, f_root, THREAD, unit=1)
    f_shim = image.frame(shim | TAG_REFCNT, f_middle, INTERPRETER, unit=0)
    f_leaf = image.frame(leaf, f_shim, THREAD, unit=4)
    # other thread: a generator's frame over the interpreter's entry frame
    entry_frame = image.frame(0, 0, INTERPRETER)
    f_gen = image.frame(gen, entry_frame, GENERATOR, unit=0)

    interp = image.alloc(values["interpreter_state.size"])
    t_main = image.alloc(values["thread_state.size"])
    t_other = image.alloc(values["thread_state.size"])
    image.names.update(interp=interp, main=t_main, other=t_other, leaf=f_leaf, root=f_root)

    image.u64(RUNTIME + values["runtime_state.interpreters_head"], interp)
    image.u64(interp + values["interpreter_state.id"], 0)
    image.u64(interp + values["interpreter_state.next"], 0)
    image.u64(interp + values["interpreter_state.threads_head"], t_main)
    image.u64(interp + values["interpreter_state.threads_main"], t_main)
    gil = interp + values["interpreter_state.gil_runtime_state"]
    image.u64(interp + values["interpreter_state.ceval_gil"], gil)
    image.u32(interp + values["interpreter_state.gil_runtime_state_locked"], 1)
    image.u64(interp + values["interpreter_state.gil_runtime_state_holder"], t_other)

    for tstate, prev, nxt, frame, ident, tid in (
        (t_main, 0, t_other, f_leaf, MAIN_IDENT, MAIN_TID),
        (t_other, t_main, 0, f_gen, OTHER_IDENT, OTHER_TID),
    ):
        image.u64(tstate + values["thread_state.prev"], prev)
        image.u64(tstate + values["thread_state.next"], nxt)
        image.u64(tstate + values["thread_state.interp"], interp)
        image.u64(tstate + values["thread_state.current_frame"], frame)
        image.u64(tstate + values["thread_state.thread_id"], ident)
        image.u64(tstate + values["thread_state.native_thread_id"], tid)
    if minor >= 15:
        image.u64(t_main + values["thread_state.base_frame"], bottom)
        image.u64(t_other + values["thread_state.base_frame"], entry_frame)
    # The main thread is in an except block one generator down, the other
    # is not.
    exc_info = exc_info_offset(minor, values)
    error = image.alloc(64)
    image.u64(error + values["pyobject.ob_type"], image.names["type exception"])
    handled = image.stack_item(error, 0)
    image.u64(t_main + exc_info, image.stack_item(0, handled))
    image.u64(t_other + exc_info, image.stack_item(0, 0))
    return image


def frames_of(snapshot: Snapshot, ident: int) -> list[tuple[object, ...]]:
    (thread,) = [t for t in snapshot.threads if t.thread_id == ident]
    assert thread.error is None
    return [
        (f.qualname, f.filename, f.lineno, f.end_lineno, f.col, f.end_col, f.instr_offset)
        for f in thread.frames
    ]


# ---- reading an image ----------------------------------------------------


@pytest.mark.parametrize("minor", [14, 15])
def test_table_sizes_match_the_headers(minor: int) -> None:
    assert len(pack_table(minor, offsets_for(minor))) == TABLE_SIZES[minor]


@pytest.mark.parametrize("minor", [14, 15])
def test_image_unwinds_to_the_expected_frames(minor: int) -> None:
    with build(minor).unwinder() as unwinder:
        version = unwinder.target.python_version
        assert (version.major, version.minor, version.micro) == (3, minor, 0)
        assert unwinder.target.debug_offsets
        assert unwinder.target.pid == 0
        snapshot = unwinder.snapshot(cpu_state=False)
    assert [i.id for i in snapshot.interpreters] == [0]
    assert [t.thread_id for t in snapshot.threads] == [MAIN_IDENT, OTHER_IDENT]
    assert [t.native_id for t in snapshot.threads] == [MAIN_TID, OTHER_TID]
    assert frames_of(snapshot, MAIN_IDENT) == MAIN_FRAMES
    assert frames_of(snapshot, OTHER_IDENT) == OTHER_FRAMES


@pytest.mark.parametrize("minor", [14, 15])
def test_image_thread_statuses(minor: int) -> None:
    with build(minor).unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    main, other = snapshot.threads
    assert main.status == ThreadStatus.MAIN_THREAD | ThreadStatus.HAS_EXCEPTION
    assert other.status == ThreadStatus.HAS_GIL


@pytest.mark.parametrize("minor", [14, 15])
def test_image_repeated_snapshots_reuse_code_objects(minor: int) -> None:
    with build(minor).unwinder() as unwinder:
        first = unwinder.snapshot(cpu_state=False)
        second = unwinder.snapshot(cpu_state=False)
    assert frames_of(first, MAIN_IDENT) == frames_of(second, MAIN_IDENT) == MAIN_FRAMES


def test_pre_release_of_a_mirrored_shape_is_read() -> None:
    with build(15).unwinder(hexversion(15, 0, 0xA, 2)) as unwinder:
        version = unwinder.target.python_version
        snapshot = unwinder.snapshot(cpu_state=False)
    assert (version.minor, version.releaselevel, version.serial) == (15, "alpha", 2)
    assert frames_of(snapshot, MAIN_IDENT) == MAIN_FRAMES


def test_offsets_come_from_the_table() -> None:
    """Moving fields in the table (and the memory with them) changes nothing."""
    values = offsets_for(14)
    values.update(
        {
            "interpreter_frame.size": 96,
            "interpreter_frame.owner": 90,
            "interpreter_frame.previous": 16,
            "interpreter_frame.executable": 8,
            "code_object.filename": 120,
            "code_object.name": 112,
            "code_object.firstlineno": 72,
            "code_object.co_code_adaptive": 256,
            "code_object.size": 264,
            "thread_state.current_frame": 64,
        }
    )
    with build(14, values).unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    assert frames_of(snapshot, MAIN_IDENT) == MAIN_FRAMES


# ---- refusals ------------------------------------------------------------


def refusal(image: Image, version: int | None = None) -> str:
    with pytest.raises(UnsupportedPythonVersionError) as caught:
        image.unwinder(version)
    return str(caught.value)


def with_table(minor: int, **kwargs: Any) -> Image:
    image = build(minor)
    table = pack_table(minor, image.values, **kwargs)
    image.runtime[: len(table)] = table
    return image


def test_unknown_debug_offsets_version_is_refused() -> None:
    image = with_table(15, version=hexversion(16))
    message = refusal(image, hexversion(16))
    assert "3.16.0" in message
    assert "does not understand" in message


def test_unknown_version_with_a_table_naming_another_is_refused() -> None:
    message = refusal(with_table(14, version=hexversion(16)), hexversion(14))
    assert "_Py_DebugOffsets says Python 3.16" in message
    assert "3.14" in message


@pytest.mark.parametrize(("minor", "shape"), [(14, 15), (15, 14)])
def test_table_of_another_shape_is_refused(minor: int, shape: int) -> None:
    """A 3.14 whose table is laid out like 3.15's (and the reverse)."""
    image = build(minor)
    table = pack_table(minor, image.values, shape=shape)
    image.runtime[: TABLE_SIZES[minor]] = bytes(TABLE_SIZES[minor])
    image.runtime[: len(table)] = table
    message = refusal(image)
    assert f"Python 3.{minor}.0" in message
    assert f"shape pysampler knows for 3.{minor}" in message


def test_table_with_a_changed_tail_is_refused() -> None:
    values = offsets_for(15)
    values["debugger_support.debugger_script_path_size"] = 1024
    image = build(15)
    image.runtime[: TABLE_SIZES[15]] = pack_table(15, values)
    assert "shape pysampler knows for 3.15" in refusal(image, hexversion(15, 0, 0xA, 1))


def test_version_without_layout_is_refused() -> None:
    with pytest.raises(UnsupportedPythonVersionError) as caught:
        Unwinder.from_image([(RUNTIME, bytes(64))], RUNTIME, hexversion(7, 16))
    assert "the memory image runs Python 3.7.16" in str(caught.value)


def test_bad_cookie_is_refused() -> None:
    message = refusal(with_table(14, cookie=b"xdebugpz"))
    assert "no _Py_DebugOffsets cookie" in message
    assert "3.14.0" in message


@pytest.mark.parametrize("minor", [14, 15])
def test_free_threaded_build_is_refused(minor: int) -> None:
    message = refusal(with_table(minor, free_threaded=1))
    assert 'free-threaded ("t") build' in message
    assert f"3.{minor}.0" in message


def test_thread_local_bytecode_offsets_mean_free_threaded() -> None:
    values = offsets_for(14)
    values["code_object.co_tlbc"] = 224
    image = build(14)
    image.runtime[: TABLE_SIZES[14]] = pack_table(14, values)
    assert 'free-threaded ("t") build' in refusal(image)


def test_trace_refs_object_header_is_refused() -> None:
    values = offsets_for(15)
    values.update({"pyobject.size": 32, "pyobject.ob_type": 24})
    image = build(15)
    image.runtime[: TABLE_SIZES[15]] = pack_table(15, values)
    message = refusal(image)
    assert "32-byte object header" in message
    assert "Py_TRACE_REFS" in message


def test_offset_outside_its_struct_is_refused() -> None:
    values = offsets_for(14)
    values["code_object.filename"] = values["code_object.size"]
    image = build(14)
    image.runtime[: TABLE_SIZES[14]] = pack_table(14, values)
    message = refusal(image)
    assert "code_filename" in message
    assert "refusing to guess" in message


def test_header_offset_outside_the_tables_struct_is_refused() -> None:
    """3.14's exc_info comes from the headers, yet must fit the thread state the table sizes."""
    values = offsets_for(14)
    values.update(
        {
            "thread_state.thread_id": 88,
            "thread_state.native_thread_id": 96,
            "thread_state.size": header_field(14, "tstate_exc_info") + 4,
        }
    )
    image = build(14)
    image.runtime[: TABLE_SIZES[14]] = pack_table(14, values)
    message = refusal(image)
    assert "tstate_exc_info" in message
    assert "refusing to guess" in message


def test_unreadable_table_is_an_error() -> None:
    with pytest.raises(UnsupportedPythonVersionError, match="cookie"):
        Unwinder.from_image([(RUNTIME, bytes(64))], RUNTIME, hexversion(14))
    with pytest.raises(UnwindError, match="_PyRuntime"):
        Unwinder.from_image([], RUNTIME, hexversion(14))


def test_overlapping_segments_are_refused() -> None:
    with pytest.raises(UnwindError, match="bad memory image"):
        Unwinder.from_image([(HEAP, bytes(64)), (HEAP + 32, bytes(64))], HEAP, hexversion(14))


# ---- damaged images ------------------------------------------------------


@pytest.mark.parametrize("minor", [14, 15])
def test_cyclic_frame_chain_is_a_thread_error(minor: int) -> None:
    image = build(minor)
    root = image.names["root"]
    image.u64(root + image.off("interpreter_frame.previous"), image.names["leaf"])
    with image.unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    main, other = snapshot.threads
    assert main.error == "inconsistent data"
    assert other.error is None
    assert frames_of(snapshot, OTHER_IDENT) == OTHER_FRAMES


@pytest.mark.parametrize("minor", [14, 15])
def test_frame_pointer_into_nowhere_is_a_thread_error(minor: int) -> None:
    image = build(minor)
    main = image.names["main"]
    image.u64(main + image.off("thread_state.current_frame"), NOWHERE)
    with image.unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    assert snapshot.threads[0].error == "unreadable memory"
    assert snapshot.threads[0].frames == ()
    assert frames_of(snapshot, OTHER_IDENT) == OTHER_FRAMES


def test_code_pointer_into_nowhere_is_a_thread_error() -> None:
    image = build(14)
    root = image.names["root"]
    image.u64(root + image.off("interpreter_frame.executable"), NOWHERE)
    with image.unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    main = snapshot.threads[0]
    assert main.error == "unreadable memory"
    assert [f.qualname for f in main.frames] == ["Worker.run", "café.brew"]


def test_garbage_string_is_a_thread_error() -> None:
    image = build(15)
    # The leaf code object's filename: an impossible unicode kind.
    leaf_code = image.names["leaf"]
    code = struct.unpack_from(
        "<Q", image.heap, leaf_code - HEAP + image.off("interpreter_frame.executable")
    )[0]
    filename = struct.unpack_from(
        "<Q", image.heap, code - HEAP + image.off("code_object.filename")
    )[0]
    image.u32(filename + image.off("unicode_object.state"), 3 << 2)
    with image.unwinder() as unwinder:
        snapshot = unwinder.snapshot(cpu_state=False)
    assert snapshot.threads[0].error == "inconsistent data"


def test_cyclic_thread_list_is_an_unwind_error() -> None:
    image = build(15)
    other = image.names["other"]
    image.u64(other + image.off("thread_state.next"), image.names["main"])
    with image.unwinder() as unwinder, pytest.raises(UnwindError, match="inconsistent data"):
        unwinder.snapshot(cpu_state=False)


def test_interpreter_pointer_into_nowhere_is_an_unwind_error() -> None:
    image = build(14)
    image.u64(RUNTIME + image.off("runtime_state.interpreters_head"), NOWHERE)
    with image.unwinder() as unwinder, pytest.raises(UnwindError, match="unreadable memory"):
        unwinder.snapshot(cpu_state=False)


# ---- real builds we refuse -----------------------------------------------


def unreadable_builds() -> list[Path]:
    """Installed debug ("d") and free-threaded ("t") interpreters, if any."""
    found: list[Path] = []
    for pattern in ("python3.*d", "python3.*t"):
        found += sorted(Path("/usr/bin").glob(pattern))
        found += sorted(Path("/usr/local/bin").glob(pattern))
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        for version in sorted(pyenv.iterdir()):
            if version.name.endswith(("t", "-debug", "d")):
                found += sorted((version / "bin").glob("python3.*[0-9td]"))
    found += debian_unstable("d")
    return [p for p in found if p.is_file() and not p.name.endswith("-config")]


def test_a_debug_build_is_installed_to_check_refusal() -> None:
    """tools/test_machine.sh installs Debian's debug builds, so the refusal runs on real ones."""
    assert unreadable_builds(), "install the debug CPythons: tools/test_machine.sh"


@pytest.mark.parametrize("python", unreadable_builds(), ids=str)
def test_installed_unreadable_build_is_refused(python: Path) -> None:
    child = subprocess.Popen(
        [str(python), "-c", "import sys, time; print(flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the interpreter is up
        with pytest.raises(UnsupportedPythonVersionError) as caught:
            Unwinder(child.pid)
    finally:
        child.kill()
        child.wait()
    message = str(caught.value)
    assert "build, which pysampler cannot read" in message
    if python.name.endswith("t"):
        assert 'free-threaded ("t") build' in message
    else:
        assert "debug" in message or "Py_TRACE_REFS" in message
