"""Damaged recordings: one bad length field must cost one record, not the rest of the file.

Files are written with the project's Recorder, located with the `mcap` package's summary, then
damaged byte by byte (issue 14, item 6)."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.record import RecordingError, open_recording
from tests.record.helpers import (chunks, data_end, message_record, same, set_length,
                                  sixteen_chunks)


@pytest.fixture(scope="module")
def sixteen(tmp_path_factory):
    path = tmp_path_factory.mktemp("damage") / "sixteen.mcap"
    samples = sixteen_chunks(path)
    spans = chunks(path)
    assert len(spans) == 16 and sum(c.messages for c in spans) == len(samples) == 179
    return path.read_bytes(), samples, spans, data_end(path)


def read_back(tmp_path: Path, data: bytes):
    p = tmp_path / "damaged.mcap"
    p.write_bytes(data)
    with open_recording(p) as rec:
        got = list(rec.samples())
        return got, rec.summary()


def flip(data: bytes, at: int, bit: int) -> bytes:
    b = bytearray(data)
    b[at + bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def assert_written(got, samples) -> None:
    by_key = {(s.stream, s.t_ns): s for s in samples}
    assert all(same(g, by_key[(g.stream, g.t_ns)]) for g in got)
    assert [g.t_ns for g in got] == sorted(g.t_ns for g in got)


@pytest.mark.parametrize("bit", [0, 5, 12, 30, 47, 63])
@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
def test_bit_flip_in_chunk_length_loses_nothing(tmp_path, sixteen, bit, closed):
    # The review: one flipped bit in chunk 2's length left 10 of 179 messages, "truncated".
    # The chunk's own fields still say where it ends, and its CRC proves them right.
    data, samples, spans, end = sixteen
    bad = flip(data if closed else data[:end], spans[1].offset + 1, bit)
    got, s = read_back(tmp_path, bad)
    assert len(got) == s.message_count == 179
    assert_written(got, samples)
    assert s.complete is closed and not s.lost
    assert any(f"chunk at byte {spans[1].offset}: its length field says" in x
               for x in s.skipped)


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
def test_unusable_chunk_costs_only_that_chunk(tmp_path, sixteen, closed):
    # Chunk 2's length and its data both damaged: nothing can vouch for it, so it is lost,
    # and the walk resumes at chunk 3 (from the summary's index, or by scanning for a chunk
    # whose CRC checks out when the file was never closed).
    data, samples, spans, end = sixteen
    c2 = spans[1]
    bad = flip(flip(data if closed else data[:end], c2.offset + 1, 20), c2.end - 30, 3)
    got, s = read_back(tmp_path, bad)
    assert len(got) == s.message_count == 179 - c2.messages
    assert_written(got, samples)
    [lost] = s.lost
    assert (lost.start, lost.end) == (c2.offset, spans[2].offset)
    assert f"resynchronised at the chunk at byte {spans[2].offset}" in lost.reason
    assert any(x.startswith(f"bytes {c2.offset}..{spans[2].offset} ") for x in s.skipped)
    if closed:   # the summary says how many chunks and messages there were
        assert lost.chunks == 1 and s.messages_expected == 179
        assert s.messages_expected - s.message_count == c2.messages
    else:
        assert s.truncated_at == len(bad) and s.messages_expected is None


def test_crc_failure_reports_the_messages_it_held(tmp_path, sixteen):
    # A chunk whose framing is intact but whose data fails the CRC: the message index records
    # written after it say how many messages were lost.
    data, samples, spans, _ = sixteen
    c5 = spans[4]
    got, s = read_back(tmp_path, flip(data, c5.end - 40, 6))
    assert len(got) == 179 - c5.messages
    [lost] = s.lost
    assert (lost.start, lost.end, lost.chunks, lost.messages) == (c5.offset, c5.end, 1,
                                                                  c5.messages)
    assert "CRC" in lost.reason or "damaged" in lost.reason


def test_message_declaring_2_pow_63_bytes(tmp_path, sixteen):
    # The review: an (unchunked) message declaring 2^63 bytes left no message at all.
    data, samples, spans, _ = sixteen
    at = 8 + 9 + struct.unpack_from("<Q", data, 9)[0]    # just after the header record
    record = set_length(message_record(1, samples[0].t_ns, b"{}"), 0, 2 ** 63)
    got, s = read_back(tmp_path, data[:at] + record + data[at:])
    assert len(got) == 179
    assert_written(got, samples)
    [lost] = s.lost
    assert lost.start == at and lost.end == spans[0].offset + len(record)
    assert "MESSAGE record declares 9223372036854775808 bytes" in lost.reason


def test_metadata_declaring_2_pow_63_bytes_costs_that_record(tmp_path, sixteen):
    # With the footer intact the summary's metadata index says where the next record starts.
    data, samples, spans, _ = sixteen
    at = 8 + 9 + struct.unpack_from("<Q", data, 9)[0]
    got, s = read_back(tmp_path, set_length(data, at, 2 ** 63))
    assert len(got) == 179
    assert_written(got, samples)
    [lost] = s.lost
    assert lost.start == at and lost.end < spans[0].offset and lost.chunks == 0
    assert "wall_time_start" not in s.metadata   # that record was the one lost...
    p = tmp_path / "damaged.mcap"
    with open_recording(p) as rec:                # ...and the calibration after it is kept
        assert rec.calibration == {"imu0": {"bias": [0.1, 0.0, -0.2]}}


def test_damaged_summary_is_not_trusted(tmp_path, sixteen):
    # A flipped bit in a chunk index: the summary fails its CRC and is ignored; the data
    # section alone still gives every message.
    data, samples, spans, _ = sixteen
    summary_start = struct.unpack_from("<Q", data, len(data) - 8 - 20)[0]
    got, s = read_back(tmp_path, flip(data, summary_start + 40, 2))
    assert len(got) == 179 and s.complete and not s.lost
    assert any("summary not used" in x for x in s.skipped)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)),
                      max_size=4),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_fuzz_bit_flips_and_cuts(tmp_path, sixteen, flips, cut):
    # Any bits anywhere, and the file possibly cut: either RecordingError (not MCAP at all),
    # or a reader that yields only messages that were written, never more than were written,
    # reports every loss, and serialises its summary.
    data, samples, _, _ = sixteen
    bad = bytearray(data)
    for frac, bit in flips:
        bad[int(frac * len(bad))] ^= 1 << bit
    if cut is not None:
        bad = bad[:int(cut * len(bad))]
    p = tmp_path / "fuzz.mcap"
    p.write_bytes(bytes(bad))
    try:
        rec = open_recording(p)
    except RecordingError:
        return
    with rec:
        got = list(rec.samples())
        s = rec.summary()
    json.dumps(s.to_dict())
    assert len(got) <= s.message_count <= 179
    assert_written(got, samples)
    if len(got) < 179:
        assert s.skipped, "messages were lost without a word"


def test_lying_length_inside_a_crc_valid_chunk(tmp_path):
    # A writer bug or a forger: a message inside a chunk declares 2^63 bytes and the CRC was
    # recomputed to match. The messages before it are kept, counted and replayed alike.
    import zlib
    from tests.record.helpers import make_samples, write
    path = write(tmp_path / "none.mcap", make_samples(12, seed=4), compression="none",
                 chunk_size=4000)
    spans = chunks(path)
    c = spans[2]
    data = bytearray(path.read_bytes())
    records_at = c.offset + 9 + 32 + 8                     # no compression name
    at, k = records_at, 0
    while k < 2:                                           # step over two messages
        at += 9 + struct.unpack_from("<Q", data, at + 1)[0]
        k += 1
    data[at + 1:at + 9] = struct.pack("<Q", 2 ** 63)
    struct.pack_into("<I", data, c.offset + 9 + 24, zlib.crc32(data[records_at:c.end]))
    got, s = read_back(tmp_path, bytes(data))
    total = sum(x.messages for x in spans)
    assert len(got) == s.message_count == total - (c.messages - 2)
    [lost] = s.lost
    assert (lost.start, lost.end) == (c.offset, c.end)
    assert "declares 9223372036854775808 bytes" in lost.reason


def test_a_message_index_turned_message_is_not_counted(tmp_path, sixteen):
    # Found by the fuzz test above: one flipped bit turns the MESSAGE_INDEX record after a chunk
    # (opcode 0x07) into a MESSAGE (0x05) of a real channel. No CRC covers it: it must not be
    # counted (the summary said 180 of 179) nor replayed.
    data, samples, spans, _ = sixteen
    at = spans[3].end
    assert data[at] == 0x07
    got, s = read_back(tmp_path, flip(data, at, 1))
    assert len(got) == s.message_count == 179
    assert_written(got, samples)
    assert any(f"MESSAGE record at byte {at}" in x for x in s.skipped)
