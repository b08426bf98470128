"""Property-based fuzzing of FrameDecoder: nothing raises, nothing corrupted is delivered, and every
intact frame after a corruption is recovered.

"Intact" means the frame's bytes and its delimiter arrive unchanged and the delimiter before it
(the previous frame's) is intact too: with one delimiter per frame, a corruption that destroys a
delimiter merges two frames into one bad one (PROTOCOL.md §2).
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.firmware_bridge import (
    FrameDecoder, ImuBatch, Log, ThermalFragment, TimeSyncResponse, encode,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def messages(draw):
    kind = draw(st.sampled_from(["imu", "thermal", "sync", "log"]))
    seq = draw(st.integers(0, 65535))
    ts = draw(st.integers(0, 2**64 - 1))
    if kind == "imu":
        n = draw(st.integers(1, 62))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        raw = rng.integers(-40, 40, (n, 6)).astype(np.int16)  # small values: many zero bytes
        return ImuBatch(ts // 2, 0.01, 0.001, seed, np.arange(n, dtype=np.uint32) * 1000, raw,
                        seq=seq, timestamp_us=ts)
    if kind == "thermal":
        n = draw(st.integers(0, 496))
        px = np.frombuffer(draw(st.binary(min_size=2 * n, max_size=2 * n)), np.uint16)
        return ThermalFragment(1, 2, 160, 120, 0, 39, 0, 0.01, 0.0, px.copy(), seq=seq, timestamp_us=ts)
    if kind == "sync":
        return TimeSyncResponse(draw(st.integers(0, 2**32 - 1)), 1, 2, 3, seq=seq, timestamp_us=ts)
    return Log(1, 2, draw(st.text(max_size=50)), seq=seq, timestamp_us=ts)


def _chunks(data: bytes, cuts: list[int]):
    pos = 0
    for c in sorted(set(c % (len(data) + 1) for c in cuts)):
        yield data[pos:c]
        pos = c
    yield data[pos:]


@SETTINGS
@given(st.binary(max_size=4000), st.lists(st.integers(0, 10**6), max_size=20))
def test_random_bytes_never_raise(data, cuts):
    dec = FrameDecoder()
    for chunk in _chunks(data, cuts):
        dec.feed(chunk)  # must not raise
    assert dec.stats.bytes_in == len(data)


CORRUPTIONS = ["none", "bitflip", "truncate", "insert_zero", "extra_delimiter", "garbage_before",
               "drop_byte"]


@SETTINGS
@given(
    st.lists(st.tuples(messages(), st.sampled_from(CORRUPTIONS), st.integers(0, 10**6),
                       st.integers(0, 7)), min_size=1, max_size=12),
    st.lists(st.integers(0, 10**6), max_size=12),
    st.binary(max_size=64),
)
def test_corruption_is_contained(items, cuts, prefix):
    stream = bytearray(prefix + b"\0")  # arbitrary junk, then a delimiter: decoding starts clean
    expected = []
    for msg, how, pos, bit in items:
        wire = bytearray(encode(msg))
        body_len = len(wire) - 1  # the delimiter stays intact in every corruption below
        p = pos % body_len
        if how == "none":
            expected.append(bytes(wire))
        elif how == "bitflip":
            wire[p] ^= 1 << bit
        elif how == "truncate":
            wire = wire[: p] + b"\0"
        elif how == "insert_zero":  # a delimiter inside the frame splits it into two bad ones
            wire.insert(1 + pos % (body_len - 1), 0)
        elif how == "extra_delimiter":  # an extra delimiter before a frame is harmless
            wire.insert(0, 0)
            expected.append(bytes(wire[1:]))
        elif how == "garbage_before":
            wire[0:0] = bytes([(pos >> 8) % 255 + 1] * (bit + 1))
        elif how == "drop_byte":
            del wire[p]
        stream += wire
    dec = FrameDecoder()
    out = []
    for chunk in _chunks(bytes(stream), cuts):
        out += dec.feed(chunk)
    got = [encode(m) for m in out]
    # Nothing corrupted is delivered and every intact frame is recovered, in order.
    assert got == expected
    assert dec.stats.frames_ok == len(expected)


@SETTINGS
@given(messages(), st.integers(1, 2000))
def test_stream_truncated_at_the_end(msg, cut):
    wire = encode(msg)
    dec = FrameDecoder()
    assert dec.feed(wire + wire[: cut % len(wire)]) != []
    assert dec.stats.frames_ok == 1 and dec.stats.errors == 0
