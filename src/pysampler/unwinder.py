"""One-shot reads of a running CPython process's stacks."""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from pysampler import errors
from pysampler._native import CData, ffi, lib, raise_for, text
from pysampler.model import (
    Frame,
    FrameKind,
    Interpreter,
    PythonVersion,
    Snapshot,
    TargetInfo,
    Thread,
    ThreadStatus,
)

if TYPE_CHECKING:
    from pysampler._c._core import ps_frame_rec, ps_thread_rec

__all__ = ["Unwinder"]

_RELEASE_LEVELS = {0xA: "alpha", 0xB: "beta", 0xC: "candidate", 0xF: "final"}


class Unwinder:
    """Reads the stacks of every thread of a running CPython process.

    The target is neither stopped nor changed: its memory is read from
    outside.  Use it as a context manager, or call :meth:`close`.

    Args:
        pid: the process to read.

    Raises:
        ProcessNotFoundError: no such process.
        PermissionDeniedError: its memory may not be read.
        NotPythonProcessError: it holds no CPython interpreter.
        UnsupportedPythonVersionError: its version or build is not supported.
    """

    def __init__(self, pid: int) -> None:
        """Attach to ``pid``: find its interpreter and that version's layout."""
        handle = ffi.new("ps_unwinder **")
        errbuf = ffi.new("char[]", 512)
        code = lib.ps_unwinder_new(pid, handle, errbuf, 512)
        if code != 0:
            raise_for(code, text(errbuf))
        self._adopt(pid, handle[0])

    @classmethod
    def from_image(
        cls, segments: Iterable[tuple[int, bytes]], runtime_address: int, version_hex: int
    ) -> Unwinder:
        """An unwinder over a memory image instead of a process (for tests and tools).

        A memory image is a set of ``(address, bytes)`` segments laid out as
        a CPython process would hold them.  The C core reads it through the
        same reader interface as a live process, so an image exercises
        version detection, ``_Py_DebugOffsets`` and the whole walk for
        interpreter versions that are not installed.  ``_PyRuntime`` is at
        ``runtime_address``; ``version_hex`` is the ``Py_Version`` the image
        stands for (``0x030E00F0`` for 3.14.0).  The unwinder reports pid 0.

        Raises:
            UnsupportedPythonVersionError: the image's version or build is refused.
            UnwindError: the segments overlap or are otherwise unusable.
        """
        pieces = [(int(address), bytes(data)) for address, data in segments]
        array = ffi.new("ps_image_segment[]", max(len(pieces), 1))
        keep = []
        for i, (address, data) in enumerate(pieces):
            buffer = ffi.from_buffer(data)
            keep.append(buffer)
            array[i].address = address
            array[i].data = buffer
            array[i].size = len(data)
        handle = ffi.new("ps_unwinder **")
        errbuf = ffi.new("char[]", 512)
        code = lib.ps_unwinder_from_image(
            array, len(pieces), runtime_address, version_hex, handle, errbuf, 512
        )
        del keep
        if code != 0:
            raise_for(code, text(errbuf))
        unwinder = cls.__new__(cls)
        unwinder._adopt(0, handle[0])
        return unwinder

    def _adopt(self, pid: int, raw: CData) -> None:
        self.pid = pid
        self._handle: CData | None = ffi.gc(raw, lib.ps_unwinder_free)
        self._strings: dict[int, str] = {}
        self._codes: dict[int, tuple[str, str]] = {}
        self.target = self._target_info()

    def _target_info(self) -> TargetInfo:
        info = lib.ps_unwinder_target(self.native_handle)
        version = PythonVersion(
            info.major,
            info.minor,
            info.micro,
            _RELEASE_LEVELS.get(info.release_level, "final"),
            info.serial,
        )
        return TargetInfo(
            pid=info.pid,
            python_version=version,
            binary=text(info.binary),
            runtime_address=int(info.runtime_address),
            debug_offsets=bool(info.debug_offsets),
            command_line=self._command_line(),
        )

    def _command_line(self) -> tuple[str, ...]:
        length = ffi.new("size_t *")
        pointer = lib.ps_unwinder_cmdline(self.native_handle, length)
        raw = bytes(ffi.buffer(pointer, length[0]))
        return tuple(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)

    @property
    def native_handle(self) -> CData:
        """The C unwinder, for pysampler's own sampler; not for other use."""
        if self._handle is None:
            msg = "the unwinder is closed"
            raise errors.UnwindError(msg)
        return self._handle

    def opcode_names(self) -> tuple[str, ...]:
        """The target version's opcode names by number ("" where unused)."""
        return tuple(text(lib.ps_unwinder_opname(self.native_handle, op)) for op in range(256))

    def close(self) -> None:
        """Release the native state; the unwinder cannot be used after."""
        handle, self._handle = self._handle, None
        if handle is not None:
            ffi.release(handle)

    def __enter__(self) -> Unwinder:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the unwinder."""
        self.close()

    def snapshot(
        self,
        *,
        opcodes: bool = False,
        cpu_state: bool = True,
        native: bool = False,
        gc: bool = False,
    ) -> Snapshot:
        """Read every interpreter, thread and stack of the target now.

        Args:
            opcodes: also read the opcode each frame is executing.
            cpu_state: read each thread's scheduler state (the ON_CPU bit).
            native: add a ``<native>`` frame where C code sits between
                Python frames (3.11+).
            gc: add a ``<GC>`` frame to the thread running the collector.

        Raises:
            TargetExitedError: the target exited.
            UnwindError: its memory could not be walked.
        """
        if self._handle is None:
            msg = "the unwinder is closed"
            raise errors.UnwindError(msg)
        options = (
            (lib.PS_SNAP_OPCODES if opcodes else 0)
            | (lib.PS_SNAP_CPU_STATE if cpu_state else 0)
            | (lib.PS_SNAP_NATIVE if native else 0)
            | (lib.PS_SNAP_GC if gc else 0)
        )
        taken = time.time()
        code = lib.ps_unwinder_snapshot(self._handle, options)
        if code != 0:
            raise_for(code, text(lib.ps_unwinder_error(self._handle)))
        records = lib.ps_unwinder_threads(self._handle)
        frames = lib.ps_unwinder_frames(self._handle)
        lib.ps_unwinder_thread_names(self._handle, ffi.new("uint32_t *"))
        by_interpreter: dict[int, list[Thread]] = {}
        for i in range(lib.ps_unwinder_thread_count(self._handle)):
            rec = records[i]
            stack = tuple(
                self._frame(frames[k], opcodes)
                for k in range(rec.frame_start, rec.frame_start + rec.frame_count)
            )
            native_id = int(rec.native_id) or None
            status = ThreadStatus(rec.status)
            thread = Thread(
                thread_id=int(rec.thread_id),
                native_id=native_id,
                name=self._thread_name(rec),
                status=status,
                frames=stack,
                interpreter_id=int(rec.interpreter_id),
                error=text(lib.ps_error_name(rec.error)) if rec.error else None,
            )
            by_interpreter.setdefault(thread.interpreter_id, []).append(thread)
        return Snapshot(
            pid=self.pid,
            python_version=self.target.python_version,
            time=taken,
            interpreters=tuple(
                Interpreter(id=iid, threads=tuple(threads))
                for iid, threads in by_interpreter.items()
            ),
        )

    def _string(self, string_id: int) -> str:
        cached = self._strings.get(string_id)
        if cached is None:
            length = ffi.new("size_t *")
            pointer = lib.ps_unwinder_string(self.native_handle, string_id, length)
            cached = self._strings[string_id] = text(pointer, length[0])
        return cached

    def _code(self, code_id: int) -> tuple[str, str]:
        cached = self._codes.get(code_id)
        if cached is None:
            rec = lib.ps_unwinder_code(self.native_handle, code_id)
            cached = (self._string(rec.filename_id), self._string(rec.qualname_id))
            self._codes[code_id] = cached
        return cached

    def _frame(self, rec: ps_frame_rec, opcodes: bool) -> Frame:
        kind = FrameKind(rec.kind)
        if kind is not FrameKind.PYTHON:
            return Frame(filename="~", qualname=kind.marker_name, lineno=None, kind=kind)
        filename, qualname = self._code(rec.code_id)
        opname = self._opname(rec.opcode) if opcodes else None
        base_opname = self._opname(rec.base_opcode) if opcodes else None
        return Frame(
            filename=filename,
            qualname=qualname,
            lineno=_known(rec.lineno),
            end_lineno=_known(rec.end_lineno),
            col=_known(rec.col),
            end_col=_known(rec.end_col),
            instr_offset=_known(rec.instr_offset),
            opcode=_known(rec.opcode),
            opname=opname,
            base_opname=base_opname,
        )

    def _opname(self, opcode: int) -> str | None:
        if opcode < 0:
            return None
        name = lib.ps_unwinder_opname(self.native_handle, opcode)
        return text(name) if name != ffi.NULL else f"<{opcode}>"

    def _thread_name(self, rec: ps_thread_rec) -> str | None:
        """The C core's name for a thread: threading's, else MainThread, else the kernel's."""
        string_id = ffi.new("uint32_t *")
        code = lib.ps_unwinder_thread_name(
            self.native_handle, rec.thread_id, rec.native_id, rec.status, string_id
        )
        return self._string(string_id[0]) if code == 0 else None


def _known(value: int) -> int | None:
    return None if value < 0 else int(value)
