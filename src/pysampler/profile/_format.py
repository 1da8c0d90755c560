"""pysampler's binary profile format: a stream of self-checking chunks.

Layout (all integers little-endian)::

    header   16 bytes   MAGIC (14 bytes) + u16 format version
    chunk*   12-byte chunk header + payload:
               u8  kind      1 INFO, 2 BATCH, 3 END; readers skip other kinds
               u8  flags     bit 0: payload is zlib-compressed
               u16 reserved  0
               u32 length    payload bytes
               u32 crc32     of the first 8 header bytes, then the payload

The first chunk is INFO: the session's information (a
:class:`~pysampler.model.SessionInfo`) as a UTF-8 JSON object.
BATCH chunks follow, each the new rows of every table (a
:class:`~pysampler.profile.ProfileDelta`); the last chunk is END: how the
session ended (a :class:`~pysampler.model.SessionStats`), as a JSON
object.  A compressed payload is a u32 uncompressed length followed by a
zlib stream.  A BATCH payload is::

    12 x u32   string_first, string_count, code_first, code_count,
               frame_first, frame_count, node_first, node_count,
               thread_first, thread_count, sample_count, sample_flags
    strings    u32 UTF-8 byte length each, then the bytes, concatenated
    codes      filename u32, qualname u32, firstlineno i32      (column by column)
    frames     code u32, kind u32, lineno i32, end_lineno i32, col i32,
               end_col i32, opcode i32, base_opcode i32
    nodes      id - parent u32, frame u32
    threads    thread_id u64, native_id u64, interpreter i64, name i32
    samples    time delta i64, thread u32, stack u32, status u32,
               weight u32 (only when sample_flags bit 0 is set)
    renames    (only when sample_flags bit 1 is set) u32 count, then thread
               u32 and name i32 of each thread whose name was learnt late

Sample times are stored as differences from the previous sample of the
chunk (the first from 0), and a node as its distance to its parent; zlib
then shrinks the repeats.  (Stack ids are stored as they are: with threads
interleaved, differences compress worse.)

Each chunk is written with one ``write`` and flushed, so a profiler killed
mid-session leaves a file that reads up to its last complete chunk.
"""

from __future__ import annotations

import json
import logging
import operator
import os
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from itertools import accumulate, chain
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import attrs

from pysampler.errors import CollectorError, ProfileFormatError
from pysampler.model import SessionInfo, SessionStats
from pysampler.profile import (
    CodeTable,
    FrameTable,
    Profile,
    ProfileDelta,
    ProfileMetadata,
    SampleTable,
    StackTable,
    TableLengths,
    ThreadTable,
    _json,
)

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ProfileWriter",
    "is_profile_file",
    "read_profile",
    "write_profile",
]

log = logging.getLogger(__name__)

MAGIC = b"\x89pysampler\r\n\x1a\n"
FORMAT_VERSION = 2
"""2: the session information holds the sampler configuration as one value,
the end record the failure reason; version 1 files (flat fields) still read."""
_HEADER = struct.Struct("<14sH")
_CHUNK_HEADER = struct.Struct("<BBHII")
_CHUNK_PREFIX = struct.Struct("<BBHI")  # the chunk header bytes the CRC covers
_RAW_LENGTH = struct.Struct("<I")
_COUNTS = struct.Struct("<12I")

CHUNK_INFO = 1
CHUNK_BATCH = 2
CHUNK_END = 3
FLAG_ZLIB = 1
SAMPLES_WEIGHTED = 1
THREADS_RENAMED = 2

MAX_CHUNK_BYTES = 1 << 30
"""Larger payloads are refused when reading: a corrupt length, not a chunk."""
ROWS_PER_CHUNK = 1 << 16
"""Rows of one table (or samples) per chunk when a whole profile is written."""
MAX_SAMPLES_PER_CHUNK = 1 << 20
"""Samples of one streamed batch per chunk; larger batches are split."""
STREAM_LEVEL = 1
"""zlib level for chunks streamed during a session (fast)."""
FILE_LEVEL = 6
"""zlib level for whole profiles written at once (smaller)."""

_WIDTHS = {"I": 4, "i": 4, "q": 8, "Q": 8}
if any(array(code).itemsize != width for code, width in _WIDTHS.items()):  # pragma: no cover
    msg = "pysampler's binary format needs 32-bit int and 64-bit long long arrays"
    raise ImportError(msg)
_BIG_ENDIAN = sys.byteorder == "big"


class _BadChunk(Exception):
    """A chunk that cannot be used; the message says why."""


# ---- columns -------------------------------------------------------------------


def _column_bytes(values: array[int]) -> bytes:
    if _BIG_ENDIAN:  # pragma: no cover - no big-endian machine to test on
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _differences(values: array[int]) -> array[int]:
    """Each value minus the one before it (the first minus 0), as i64."""
    return array("q", map(operator.sub, values, chain((0,), values)))


class _Cursor:
    """Reads columns from a decoded payload, checking every size."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._at = 0

    def take(self, size: int) -> memoryview:
        end = self._at + size
        if end > len(self._view):
            msg = "payload ends early"
            raise _BadChunk(msg)
        part = self._view[self._at : end]
        self._at = end
        return part

    def column(self, typecode: str, count: int) -> array[int]:
        values = array(typecode)
        values.frombytes(self.take(count * _WIDTHS[typecode]))
        if _BIG_ENDIAN:  # pragma: no cover
            values.byteswap()
        return values

    def finish(self) -> None:
        if self._at != len(self._view):
            msg = f"{len(self._view) - self._at} unexpected bytes after the samples"
            raise _BadChunk(msg)


# ---- encoding ------------------------------------------------------------------


def _encode_delta(delta: ProfileDelta) -> bytes:
    samples = delta.samples
    weighted = bool(samples.weight) and (min(samples.weight) != 1 or max(samples.weight) != 1)
    encoded_strings = [text.encode("utf-8", "surrogatepass") for text in delta.strings]
    parts = [
        _COUNTS.pack(
            delta.string_first,
            len(delta.strings),
            delta.code_first,
            len(delta.codes),
            delta.frame_first,
            len(delta.frames),
            delta.node_first,
            len(delta.stacks),
            delta.thread_first,
            len(delta.threads),
            len(samples),
            (SAMPLES_WEIGHTED if weighted else 0)
            | (THREADS_RENAMED if delta.renamed_thread else 0),
        ),
        _column_bytes(array("I", map(len, encoded_strings))),
        b"".join(encoded_strings),
    ]
    parts.extend(_column_bytes(column) for column in delta.codes.columns().values())
    parts.extend(_column_bytes(column) for column in delta.frames.columns().values())
    node_ids = range(delta.node_first, delta.node_first + len(delta.stacks))
    parts.append(_column_bytes(array("I", map(operator.sub, node_ids, delta.stacks.parent))))
    parts.append(_column_bytes(delta.stacks.frame))
    parts.extend(_column_bytes(column) for column in delta.threads.columns().values())
    parts.append(_column_bytes(_differences(samples.time_ns)))
    parts.append(_column_bytes(samples.thread))
    parts.append(_column_bytes(samples.stack))
    parts.append(_column_bytes(samples.status))
    if weighted:
        parts.append(_column_bytes(samples.weight))
    if delta.renamed_thread:
        parts.append(_column_bytes(array("I", [len(delta.renamed_thread)])))
        parts.append(_column_bytes(delta.renamed_thread))
        parts.append(_column_bytes(delta.renamed_name))
    return b"".join(parts)


def _encode_chunk(kind: int, payload: bytes, *, level: int = 0) -> bytes:
    flags = 0
    if level:
        payload = _RAW_LENGTH.pack(len(payload)) + zlib.compress(payload, level)
        flags |= FLAG_ZLIB
    prefix = _CHUNK_PREFIX.pack(kind, flags, 0, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(prefix))
    return _CHUNK_HEADER.pack(kind, flags, 0, len(payload), crc) + payload


def _encode_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def _info_payload(metadata: ProfileMetadata) -> bytes:
    return _encode_json(_json.to_plain(metadata.info))


# ---- decoding ------------------------------------------------------------------


def _decode_delta(payload: bytes) -> ProfileDelta:
    cursor = _Cursor(payload)
    try:
        (
            string_first,
            string_count,
            code_first,
            code_count,
            frame_first,
            frame_count,
            node_first,
            node_count,
            thread_first,
            thread_count,
            sample_count,
            sample_flags,
        ) = _COUNTS.unpack(cursor.take(_COUNTS.size))
    except struct.error as error:  # pragma: no cover - take() checked the size
        raise _BadChunk(str(error)) from None
    lengths = cursor.column("I", string_count)
    blob = cursor.take(sum(lengths))
    strings = []
    at = 0
    try:
        for length in lengths:
            strings.append(str(blob[at : at + length], "utf-8", "surrogatepass"))
            at += length
    except UnicodeDecodeError as error:
        msg = f"a string is not UTF-8 ({error.reason})"
        raise _BadChunk(msg) from None

    def table(empty: CodeTable | FrameTable | ThreadTable, count: int) -> dict[str, array[int]]:
        """The columns of a table like ``empty``, ``count`` rows each."""
        return {
            name: cursor.column(column.typecode, count) for name, column in empty.columns().items()
        }

    codes = CodeTable(**table(CodeTable(), code_count))
    frames = FrameTable(**table(FrameTable(), frame_count))
    parent_offsets = cursor.column("I", node_count)
    node_frames = cursor.column("I", node_count)
    threads = ThreadTable(**table(ThreadTable(), thread_count))
    time_steps = cursor.column("q", sample_count)
    sample_threads = cursor.column("I", sample_count)
    sample_stacks = cursor.column("I", sample_count)
    status = cursor.column("I", sample_count)
    if sample_flags & SAMPLES_WEIGHTED:
        weight = cursor.column("I", sample_count)
    else:
        weight = array("I", [1]) * sample_count
    renamed_thread, renamed_name = array("I"), array("i")
    if sample_flags & THREADS_RENAMED:
        (renames,) = cursor.column("I", 1)
        renamed_thread = cursor.column("I", renames)
        renamed_name = cursor.column("i", renames)
    cursor.finish()
    try:
        node_ids = range(node_first, node_first + node_count)
        stacks = StackTable(
            parent=array("I", map(operator.sub, node_ids, parent_offsets)), frame=node_frames
        )
        samples = SampleTable(
            time_ns=array("q", accumulate(time_steps)),
            thread=sample_threads,
            stack=sample_stacks,
            status=status,
            weight=weight,
        )
    except OverflowError:
        msg = "a stack node's parent or a sample's time is out of range"
        raise _BadChunk(msg) from None
    return ProfileDelta(
        string_first=string_first,
        strings=tuple(strings),
        code_first=code_first,
        codes=codes,
        frame_first=frame_first,
        frames=frames,
        node_first=node_first,
        stacks=stacks,
        thread_first=thread_first,
        threads=threads,
        samples=samples,
        renamed_thread=renamed_thread,
        renamed_name=renamed_name,
    )


def _decode_json(payload: bytes) -> dict[str, object]:
    try:
        value = json.loads(str(payload, "utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError) as error:
        msg = f"not a JSON document ({error})"
        raise _BadChunk(msg) from None
    if not isinstance(value, dict):
        msg = "not a JSON object"
        raise _BadChunk(msg)
    return value


def _version_1_info(plain: dict[str, Any]) -> dict[str, Any]:
    """Format 1's flat session information in the shape of format 2's."""
    interval_ns = plain.pop("interval_ns", 0)
    plain["config"] = {
        "rate": 1e9 / interval_ns if interval_ns > 0 else 0.0,
        "mode": plain.pop("mode", "wall"),
        "all_threads": plain.pop("all_threads", False),
        "opcodes": plain.pop("opcodes", False),
    }
    for name in ("duration_ns", "taken", "failed", "late", "ended_by", "truncated"):
        plain.pop(name, None)
    return plain


def _decode_metadata(payload: bytes, version: int) -> ProfileMetadata:
    plain = _decode_json(payload)
    if version == 1:
        plain = _version_1_info(plain)
    try:
        return ProfileMetadata(_json.from_plain(plain, SessionInfo))
    except Exception as error:  # cattrs raises validation groups of many kinds
        msg = f"session information does not fit: {error}"
        raise _BadChunk(msg) from None


def _decode_stats(payload: bytes) -> SessionStats:
    try:
        return _json.from_plain(_decode_json(payload), SessionStats)
    except _BadChunk:
        raise
    except Exception as error:  # cattrs raises validation groups of many kinds
        msg = f"session end does not fit: {error}"
        raise _BadChunk(msg) from None


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size and data:
        # a pipe or socket may return less than asked before its end
        parts = [data]
        got = len(data)
        while got < size:
            more = stream.read(size - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def _read_chunk(stream: BinaryIO) -> tuple[int, bytes] | None:
    """The next chunk's kind and (decompressed) payload; None at a clean end."""
    header = _read_exactly(stream, _CHUNK_HEADER.size)
    if not header:
        return None
    if len(header) < _CHUNK_HEADER.size:
        msg = "the file ends inside a chunk header"
        raise _BadChunk(msg)
    kind, flags, _reserved, length, crc = _CHUNK_HEADER.unpack(header)
    if length > MAX_CHUNK_BYTES:
        msg = f"a chunk claims {length} bytes"
        raise _BadChunk(msg)
    payload = _read_exactly(stream, length)
    if len(payload) < length:
        msg = f"the file ends inside a chunk ({len(payload)} of {length} bytes)"
        raise _BadChunk(msg)
    if zlib.crc32(payload, zlib.crc32(header[: _CHUNK_PREFIX.size])) != crc:
        msg = "a chunk's checksum does not match its contents"
        raise _BadChunk(msg)
    if flags & ~FLAG_ZLIB:
        msg = f"a chunk has unknown flags {flags:#x}"
        raise _BadChunk(msg)
    if flags & FLAG_ZLIB:
        payload = _decompress(payload)
    return kind, payload


def _decompress(payload: bytes) -> bytes:
    if len(payload) < _RAW_LENGTH.size:
        msg = "a compressed chunk is too short"
        raise _BadChunk(msg)
    (raw_length,) = _RAW_LENGTH.unpack_from(payload)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(payload[_RAW_LENGTH.size :], raw_length)
    except zlib.error as error:
        msg = f"a compressed chunk does not inflate ({error})"
        raise _BadChunk(msg) from None
    if len(raw) != raw_length or not inflater.eof or inflater.unconsumed_tail:
        msg = "a compressed chunk inflates to the wrong size"
        raise _BadChunk(msg)
    return raw


def _name(source: str | os.PathLike[str] | BinaryIO) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _read_start(stream: BinaryIO, name: str) -> ProfileMetadata:
    """Check the header and read the INFO chunk; ProfileFormatError otherwise."""
    header = _read_exactly(stream, _HEADER.size)
    if not header:
        msg = f"{name} is empty, not a pysampler profile"
        raise ProfileFormatError(msg)
    if header[: len(MAGIC)] != MAGIC and not MAGIC.startswith(header):
        msg = f"{name} is not a pysampler profile (it does not start as one)"
        raise ProfileFormatError(msg)
    if len(header) < _HEADER.size:
        msg = f"{name} is cut short inside its header"
        raise ProfileFormatError(msg)
    _magic, version = _HEADER.unpack(header)
    if version > FORMAT_VERSION:
        msg = (
            f"{name} is in profile format version {version}, newer than this "
            f"pysampler reads ({FORMAT_VERSION}): upgrade pysampler"
        )
        raise ProfileFormatError(msg)
    if version < 1:
        msg = f"{name} has an invalid format version {version}"
        raise ProfileFormatError(msg)
    try:
        chunk = _read_chunk(stream)
        if chunk is None:
            msg = "it ends before its session information"
            raise _BadChunk(msg)
        kind, payload = chunk
        if kind != CHUNK_INFO:
            msg = f"its first chunk is of kind {kind}, not session information"
            raise _BadChunk(msg)
        return _decode_metadata(payload, version)
    except _BadChunk as error:
        msg = f"{name} is a corrupt pysampler profile: {error}"
        raise ProfileFormatError(msg) from None


def _read(stream: BinaryIO, name: str) -> Profile:
    profile = Profile(_read_start(stream, name))
    chunks = 1
    while True:
        try:
            chunk = _read_chunk(stream)
            if chunk is None:
                problem = "it has no end record (the profiler was stopped before it finished)"
                break
            kind, payload = chunk
            if kind == CHUNK_BATCH:
                profile.extend(_decode_delta(payload))
            elif kind == CHUNK_END:
                profile.finish(_decode_stats(payload))
                return profile
            chunks += 1
        except (_BadChunk, CollectorError) as error:
            problem = str(error)
            break
    profile.metadata = attrs.evolve(profile.metadata, truncated=True)
    log.info(
        "%s is incomplete after %d chunks (%s); read %d samples",
        name,
        chunks,
        problem,
        profile.sample_count,
    )
    return profile


def read_profile(source: str | os.PathLike[str] | BinaryIO) -> Profile:
    """Read a profile from a file name or a binary stream.

    A file cut short (a profiler killed mid-session) or damaged after its
    session information reads up to the last good chunk, with
    ``metadata.truncated`` set.

    Raises:
        ProfileFormatError: Not a pysampler profile, a newer format version,
            or corrupt before its first samples.
        OSError: The file cannot be read.
    """
    name = _name(source)
    if isinstance(source, (str, os.PathLike)):
        with Path(source).open("rb") as stream:
            return _read(stream, name)
    return _read(source, name)


def is_profile_file(path: str | os.PathLike[str]) -> bool:
    """The file starts as a pysampler profile does (no further check)."""
    try:
        with Path(path).open("rb") as stream:
            return stream.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


# ---- writing -------------------------------------------------------------------


def _split_samples(delta: ProfileDelta, limit: int) -> Iterator[ProfileDelta]:
    """The delta, with its samples spread over several deltas of at most ``limit``."""
    samples = delta.samples
    if len(samples) <= limit:
        yield delta
        return
    after = delta.lengths_after(
        TableLengths(
            strings=delta.string_first,
            codes=delta.code_first,
            frames=delta.frame_first,
            nodes=delta.node_first,
            threads=delta.thread_first,
        )
    )
    for start in range(0, len(samples), limit):
        part = samples.rows(start, start + limit)
        if start == 0:
            yield attrs.evolve(delta, samples=part)
        else:
            yield _empty_delta(after, samples=part)


def _empty_delta(lengths: TableLengths, **tables: Any) -> ProfileDelta:
    """A delta continuing tables of ``lengths``, holding only ``tables``."""
    empty = ProfileDelta(
        string_first=lengths.strings,
        code_first=lengths.codes,
        frame_first=lengths.frames,
        node_first=lengths.nodes,
        thread_first=lengths.threads,
    )
    return attrs.evolve(empty, **tables)


def _profile_deltas(profile: Profile, rows: int) -> Iterator[ProfileDelta]:
    """A whole profile as deltas of at most ``rows`` rows, referenced rows first."""
    lengths = TableLengths()
    for start in range(0, len(profile.strings), rows):
        delta = _empty_delta(lengths, strings=tuple(profile.strings[start : start + rows]))
        lengths = delta.lengths_after(lengths)
        yield delta
    sections: tuple[
        tuple[str, CodeTable | FrameTable | StackTable | ThreadTable | SampleTable, int], ...
    ] = (
        ("codes", profile.codes, 0),
        ("frames", profile.frames, 0),
        ("stacks", profile.stacks, 1),
        ("threads", profile.threads, 0),
        ("samples", profile.samples, 0),
    )
    for name, table, first_row in sections:
        for start in range(first_row, len(table), rows):
            delta = _empty_delta(lengths, **{name: table.rows(start, start + rows)})
            lengths = delta.lengths_after(lengths)
            yield delta


class ProfileWriter:
    """Writes a profile chunk by chunk, flushing each as it goes.

    Feed it :meth:`begin`, then :meth:`write_batch` (or :meth:`write_delta`)
    per batch, then :meth:`end`.  Ids are checked to continue as they
    must, so the file always reads back.
    """

    def __init__(
        self, stream: BinaryIO, *, level: int = STREAM_LEVEL, owns_stream: bool = False
    ) -> None:
        """Write to ``stream``; close it on :meth:`close` when ``owns_stream``.

        ``level`` is the zlib level of each chunk, 0 for none.
        """
        if not 0 <= level <= 9:
            msg = f"zlib level {level} is not between 0 and 9"
            raise ValueError(msg)
        self._stream = stream
        self._level = level
        self._owns_stream = owns_stream
        self._lengths: TableLengths | None = None
        self._ended = False

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, level: int = STREAM_LEVEL) -> ProfileWriter:
        """A writer to a new file at ``path`` (replacing any file there)."""
        return cls(Path(path).open("wb"), level=level, owns_stream=True)

    def _write(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()

    def begin(self, metadata: ProfileMetadata) -> None:
        """Write the header and the session information."""
        if self._lengths is not None:
            msg = "ProfileWriter.begin() called twice"
            raise CollectorError(msg)
        header = _HEADER.pack(MAGIC, FORMAT_VERSION)
        info = _encode_chunk(CHUNK_INFO, _info_payload(metadata))
        self._write(header + info)
        self._lengths = TableLengths()

    def write_delta(self, delta: ProfileDelta) -> None:
        """Write new table rows and samples as one chunk (or more, when huge).

        Raises:
            CollectorError: Before :meth:`begin` or after :meth:`end`, or the
                delta does not continue what was written.
        """
        if self._lengths is None or self._ended:
            msg = "ProfileWriter takes batches only between begin() and end()"
            raise CollectorError(msg)
        delta = delta.typed()
        delta.validate(self._lengths)
        for part in _split_samples(delta, MAX_SAMPLES_PER_CHUNK):
            self._write(_encode_chunk(CHUNK_BATCH, _encode_delta(part), level=self._level))
        self._lengths = delta.lengths_after(self._lengths)

    def end(self, stats: SessionStats) -> None:
        """Write how the session ended: the file is complete."""
        if self._lengths is None or self._ended:
            msg = "ProfileWriter.end() needs begin() first, and only once"
            raise CollectorError(msg)
        self._write(_encode_chunk(CHUNK_END, _encode_json(_json.to_plain(stats))))
        self._ended = True

    def close(self) -> None:
        """Close the file (if the writer opened it); without :meth:`end` it reads as truncated."""
        if self._owns_stream and not self._stream.closed:
            self._stream.close()

    def __enter__(self) -> ProfileWriter:
        """The writer itself; closed on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the file."""
        self.close()


def write_profile(
    profile: Profile,
    destination: str | os.PathLike[str] | BinaryIO,
    *,
    level: int = FILE_LEVEL,
) -> None:
    """Write a whole profile; ``level`` is the zlib level of each chunk, 0 for none.

    A profile whose session never ended (or that was read from a truncated
    file) is written without an end record, so it reads back as truncated.
    """
    if isinstance(destination, (str, os.PathLike)):
        writer = ProfileWriter.create(destination, level=level)
    else:
        writer = ProfileWriter(destination, level=level)
    with writer:
        writer.begin(profile.metadata)
        for delta in _profile_deltas(profile, ROWS_PER_CHUNK):
            writer.write_delta(delta)
        if profile.metadata.stats is not None:
            writer.end(profile.metadata.stats)
