"""The binary profile format: streaming, whole-profile round trips, cut and corrupt files."""

from __future__ import annotations

import marshal
import os
import signal
import struct
import subprocess
import sys
import textwrap
from array import array
from pathlib import Path

import pytest
from batches import MAIN, PARSE, RUN, BatchBuilder, changed, session_info, session_stats

from pysampler.collectors import BinaryCollector, StackCollector
from pysampler.errors import CollectorError, ProfileFormatError, PySamplerError
from pysampler.profile import Profile, ProfileDelta, ProfileMetadata
from pysampler.profile import _format as _binary

UNIT_TESTS = Path(__file__).parent


def assert_same_profile(read: Profile, written: Profile) -> None:
    assert read.strings == written.strings
    assert read.codes == written.codes
    assert read.frames == written.frames
    assert read.stacks == written.stacks
    assert read.threads == written.threads
    assert read.samples == written.samples
    assert read.metadata == written.metadata


def stream(path: Path, batches: list[ProfileDelta], *, level: int = 1) -> None:
    collector = BinaryCollector(path, level=level)
    collector.start(session_info())
    for batch in batches:
        collector.add(batch)
    assert collector.finish(session_stats()) == path


def chunk_ends(data: bytes) -> list[int]:
    """Where each chunk of a well-formed file ends."""
    ends = []
    at = _binary._HEADER.size
    while at < len(data):
        _kind, _flags, _reserved, length, _crc = _binary._CHUNK_HEADER.unpack_from(data, at)
        at += _binary._CHUNK_HEADER.size + length
        ends.append(at)
    return ends


@pytest.mark.parametrize("level", [0, 1, 9])
def test_streamed_file_reads_back_as_the_collected_profile(
    tmp_path: Path, batches: list[ProfileDelta], profile: Profile, level: int
) -> None:
    path = tmp_path / "session.bin"
    stream(path, batches, level=level)
    assert _binary.is_profile_file(path)
    assert_same_profile(Profile.load(path), profile)


def test_whole_profile_round_trips_with_weights_and_thread_names(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    profile = Profile(ProfileMetadata(session_info()))
    profile.extend(changed(batches[0], samples__weight=array("I", [1, 7, 1, 1, 3])))
    profile.extend(batches[1])
    profile.threads.name[0] = profile.strings.index("run")
    profile.finish(session_stats())
    path = profile.save(tmp_path / "whole.bin")
    loaded = Profile.load(path)
    assert_same_profile(loaded, profile)
    assert loaded.thread_name(0) == "run"
    assert loaded.total_weight == profile.total_weight == 13 + 5


def test_whole_profile_is_split_into_chunks_that_reference_earlier_ones(
    tmp_path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_binary, "ROWS_PER_CHUNK", 2)
    path = profile.save(tmp_path / "split.bin")
    assert len(chunk_ends(path.read_bytes())) > 10
    assert_same_profile(Profile.load(path), profile)


def test_a_huge_batch_is_streamed_as_several_chunks(
    tmp_path: Path, batches: list[ProfileDelta], profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_binary, "MAX_SAMPLES_PER_CHUNK", 2)
    path = tmp_path / "huge.bin"
    stream(path, batches)
    assert (
        len(chunk_ends(path.read_bytes())) == 1 + 3 + 3 + 2 + 1
    )  # info, 5 + 5 + 3 samples by 2, end
    assert_same_profile(Profile.load(path), profile)


def test_odd_strings_survive(tmp_path: Path) -> None:
    names = ["λ.<locals>.f", "bad\udcffbytes", "semi;colon", "", "x" * 5000]
    builder = BatchBuilder()
    for index, name in enumerate(names):
        builder.sample([("/tmp/ünïcode.py", name, index + 1, index + 2)])
    collector = StackCollector()
    collector.start(session_info(command_line=("python", "-c", "print('\u2603')")))
    collector.add(builder.batch())
    profile = collector.finish(session_stats())
    loaded = Profile.load(profile.save(tmp_path / "odd.bin"))
    assert_same_profile(loaded, profile)
    assert set(names) <= set(loaded.strings)


def test_a_profile_without_samples_round_trips(tmp_path: Path) -> None:
    profile = Profile(ProfileMetadata(session_info()))
    profile.finish(session_stats(ended_by="exited", taken=0))
    assert_same_profile(Profile.load(profile.save(tmp_path / "empty.bin")), profile)


def test_a_file_cut_at_any_chunk_boundary_reads_up_to_it(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = path.read_bytes()
    ends = chunk_ends(data)
    samples_after = [0, 5, 10, 13]  # after the info chunk, then after each batch
    for end, samples in zip(ends[:-1], samples_after, strict=True):
        cut = tmp_path / f"cut{end}.bin"
        cut.write_bytes(data[:end])
        profile = Profile.load(cut)
        assert profile.metadata.truncated
        assert profile.metadata.ended_by is None
        assert not profile.metadata.complete
        assert profile.sample_count == samples
        assert profile.metadata.pid == 4242


def test_a_file_cut_at_any_byte_reads_or_says_it_cannot(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = path.read_bytes()
    info_end = chunk_ends(data)[0]
    previous = 0
    cut = tmp_path / "cut.bin"
    for size in range(len(data)):
        cut.write_bytes(data[:size])
        if size < info_end:
            with pytest.raises(ProfileFormatError):
                Profile.load(cut)
            continue
        profile = Profile.load(cut)
        assert profile.metadata.truncated
        assert profile.sample_count >= previous
        previous = profile.sample_count
    assert previous == 13
    assert Profile.load(path).metadata.complete


def test_a_damaged_chunk_ends_the_profile_there(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = bytearray(path.read_bytes())
    ends = chunk_ends(bytes(data))
    data[ends[1] + 20] ^= 0x40  # inside the second batch chunk
    damaged = tmp_path / "damaged.bin"
    damaged.write_bytes(bytes(data))
    profile = Profile.load(damaged)
    assert profile.metadata.truncated
    assert profile.sample_count == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty, not a pysampler profile"),
        (b"hello, world\n" * 10, "is not a pysampler profile"),
        (b"TACH\x01\x00\x00\x00" + bytes(100), "is not a pysampler profile"),
        (marshal.dumps({("a.py", 1, "f"): (1, 1, 0.1, 0.1, {})}), "is not a pysampler profile"),
        (os.urandom(64), "is not a pysampler profile"),
        (_binary.MAGIC[:5], "cut short inside its header"),
        (_binary.MAGIC + b"\x07", "cut short inside its header"),
        (_binary._HEADER.pack(_binary.MAGIC, 99), "format version 99, newer than"),
        (_binary._HEADER.pack(_binary.MAGIC, 1), "ends before its session information"),
        (_binary._HEADER.pack(_binary.MAGIC, 1) + b"\x01\x00", "ends inside a chunk header"),
    ],
)
def test_foreign_or_broken_files_raise_one_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(content)
    with pytest.raises(ProfileFormatError, match=message) as caught:
        Profile.load(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, PySamplerError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.__cause__ is None


def test_damaged_session_information_is_a_format_error(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = bytearray(path.read_bytes())
    data[_binary._HEADER.size + _binary._CHUNK_HEADER.size + 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ProfileFormatError, match="checksum does not match"):
        Profile.load(path)


def test_well_formed_chunk_with_bad_information_is_a_format_error(tmp_path: Path) -> None:
    header = _binary._HEADER.pack(_binary.MAGIC, 1)
    for payload, message in [
        (b"[1, 2]", "not a JSON object"),
        (b"{not json", "not a JSON document"),
        (b'{"pid": "abc"}', "session information does not fit"),
    ]:
        path = tmp_path / "info.bin"
        path.write_bytes(header + _binary._encode_chunk(_binary.CHUNK_INFO, payload))
        with pytest.raises(ProfileFormatError, match=message):
            Profile.load(path)


def test_unknown_chunk_kinds_are_skipped(tmp_path: Path, batches: list[ProfileDelta]) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = path.read_bytes()
    ends = chunk_ends(data)
    extra = _binary._encode_chunk(200, b"a future addition")
    path.write_bytes(data[: ends[1]] + extra + data[ends[1] :])
    profile = Profile.load(path)
    assert profile.metadata.complete
    assert profile.sample_count == 13


def test_a_truncated_profile_saved_again_stays_truncated(
    tmp_path: Path, batches: list[ProfileDelta]
) -> None:
    path = tmp_path / "whole.bin"
    stream(path, batches)
    data = path.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[: chunk_ends(data)[2]])
    again = Profile.load(Profile.load(cut).save(tmp_path / "again.bin"))
    assert again.metadata.truncated
    assert again.sample_count == 10


def test_the_writer_checks_ids_continue(tmp_path: Path, batches: list[ProfileDelta]) -> None:
    collector = BinaryCollector(tmp_path / "out.bin")
    with pytest.raises(CollectorError, match="needs start"):
        collector.add(batches[0])
    collector.start(session_info())
    with pytest.raises(CollectorError, match="ids start at"):
        collector.add(batches[1])
    collector.add(batches[0])
    collector.close()  # abandoned: reads as truncated
    profile = Profile.load(tmp_path / "out.bin")
    assert profile.metadata.truncated
    assert profile.sample_count == 5


def test_a_profiler_killed_mid_session_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.bin"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(UNIT_TESTS)!r})
        from batches import MAIN, PARSE, RUN, BatchBuilder, session_info
        from pysampler.collectors import BinaryCollector

        collector = BinaryCollector(sys.argv[1])
        collector.start(session_info())
        builder = BatchBuilder()
        batches = 0
        while True:
            builder.sample([MAIN, RUN, PARSE], count=10)
            builder.sample([MAIN, RUN, ("/srv/app/gen.py", f"f{{batches}}", 1, 2)], count=10)
            collector.add(builder.batch())
            batches += 1
            print(batches, flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if int(line) >= 50:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    profile = Profile.load(path)
    assert profile.metadata.truncated
    assert profile.sample_count >= 50 * 20
    assert profile.sample_count % 20 == 0
    assert {profile.frame_qualname(f) for f in range(len(profile.frames))} >= {"run", "f49"}
    assert PARSE[1] in profile.strings


def test_struct_layout_is_as_documented() -> None:
    assert len(_binary.MAGIC) == 14
    assert _binary._HEADER.size == 16
    assert _binary._CHUNK_HEADER.size == 12
    assert struct.calcsize("<12I") == _binary._COUNTS.size
    assert (MAIN, RUN) != ()  # the shared stacks import cleanly


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        _binary._COUNTS.pack(0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xFFFF_FFFF, 0),  # claims 4G samples
        _binary._COUNTS.pack(0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0) + bytes(20),  # stack 0, thread 0?
        _binary._COUNTS.pack(5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0),  # skips string ids
        _binary._COUNTS.pack(0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0) + b"\x02\x00\x00\x00\xff\xfe",
    ],
    ids=["empty", "huge-count", "missing-thread", "gap", "bad-utf8"],
)
def test_a_checksummed_but_invalid_batch_ends_the_profile(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.bin"
    with _binary.ProfileWriter.create(path) as writer:
        writer.begin(ProfileMetadata(session_info()))
    path.write_bytes(
        path.read_bytes() + _binary._encode_chunk(_binary.CHUNK_BATCH, payload, level=1)
    )
    profile = Profile.load(path)
    assert profile.metadata.truncated
    assert profile.sample_count == 0


def test_a_version_1_file_still_reads(tmp_path: Path, batches: list[ProfileDelta]) -> None:
    """Format 1 kept the session information flat; it is read into today's shape."""
    path = tmp_path / "new.bin"
    stream(path, batches)
    data = path.read_bytes()
    first_end = chunk_ends(data)[0]
    flat = {
        "pid": 4242,
        "command_line": ["python", "app.py"],
        "python_version": "3.11.7",
        "interval_ns": 250_000,
        "mode": "cpu",
        "all_threads": True,
        "opcodes": False,
        "start_time": 1.5,
        "opcode_names": [],
    }
    header = _binary._HEADER.pack(_binary.MAGIC, 1)
    info = _binary._encode_chunk(_binary.CHUNK_INFO, _binary._encode_json(flat))
    old = tmp_path / "old.bin"
    old.write_bytes(header + info + data[first_end:])
    profile = Profile.load(old)
    assert profile.metadata.complete
    assert profile.sample_count == 13
    meta = profile.metadata
    assert (meta.interval_ns, meta.mode, meta.all_threads, meta.python_version) == (
        250_000,
        "cpu",
        True,
        "3.11.7",
    )


def test_the_failure_reason_is_saved(tmp_path: Path, batches: list[ProfileDelta]) -> None:
    collector = BinaryCollector(tmp_path / "failed.bin")
    collector.start(session_info())
    collector.add(batches[0])
    collector.finish(session_stats(ended_by="failed", error="process 1: out of memory"))
    meta = Profile.load(tmp_path / "failed.bin").metadata
    assert meta.ended_by == "failed"
    assert meta.stats is not None
    assert meta.stats.error == "process 1: out of memory"
