"""Codec: CRC variants, COBS, every message type, shared vectors in both directions."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from edgebind.firmware_bridge import (
    ConfigAck, ConfigSet, DeviceInfo, FrameDecoder, Heartbeat, ImuBatch, InfoRequest, Log,
    MAX_WIRE, ThermalFragment, TimeSyncRequest, TimeSyncResponse, encode, encode_frame,
)
from edgebind.firmware_bridge.cobs import CobsError, cobs_decode, cobs_encode
from edgebind.firmware_bridge.crc import crc32c, crc32c_many, crc32c_reference, crc_backend
from edgebind.firmware_bridge.messages import MESSAGE_CLASSES
from edgebind.firmware_bridge.protocol import HEADER, MAX_PAYLOAD

CHECKS = [(b"123456789", 0xE3069283), (b"", 0), (bytes(32), 0x8A9136AA), (b"\xff" * 32, 0x62A8AB43)]


@pytest.mark.parametrize("data,want", CHECKS)
def test_crc32c_check_values_all_backends(data, want):
    assert crc32c_reference(data) == want
    assert crc32c(data) == want
    assert int(crc_backend("numpy")([data])[0]) == want
    assert int(crc_backend("python")([data])[0]) == want


def test_crc32c_optional_accelerator_agrees():
    pytest.importorskip("crc32c", reason="optional accelerator 'crc32c' not installed")
    fn = crc_backend("crc32c")
    for data, want in CHECKS:
        assert int(fn([data])[0]) == want


def test_crc32c_batch_matches_reference():
    rng = np.random.default_rng(1)
    msgs = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in [0, 1, 2, 17, 300, 1036] * 3]
    assert crc32c_many(msgs).tolist() == [crc32c_reference(m) for m in msgs]
    with pytest.raises(ValueError):
        crc32c_many([bytes(1037)])


def test_cobs_canonical_and_errors():
    assert cobs_encode(b"") == b"\x01"
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11" * 254) == b"\xff" + b"\x11" * 254 + b"\x01"
    assert cobs_encode(b"\x11\x00\x22") == b"\x02\x11\x02\x22"
    for data in [b"", b"\x00" * 300, b"\x11" * 253, b"\x11" * 255, b"\x11" * 508 + b"\x00"]:
        assert cobs_decode(cobs_encode(data)) == data
    for bad in [b"", b"\x05\x11", b"\x00"]:
        with pytest.raises(CobsError):
            cobs_decode(bad)


def _all_messages():
    rng = np.random.default_rng(2)
    return [
        DeviceInfo(device_id=7, fw_version=(1, 0, 2), board="b", sensors=3, imu_model="ICM",
                   imu_rate_hz=1000.0, accel_scale=0.5, thermal_width=32, thermal_height=24),
        Heartbeat(*range(10), 7),
        Log(3, 9, "héllo"),
        InfoRequest(),
        ImuBatch(10, 0.25, 0.125, 3, np.arange(62, dtype=np.uint32),
                 rng.integers(-32768, 32767, (62, 6)).astype(np.int16)),
        ThermalFragment(5, 1, 160, 120, 38, 39, 38 * 496, 0.01, 0.0,
                        rng.integers(0, 65535, 19200 - 38 * 496).astype(np.uint16)),
        TimeSyncRequest(1, 2**63), TimeSyncResponse(1, 2, 3, 4),
        ConfigSet(1, streams=3, heartbeat_ms=100), ConfigSet(2),
        ConfigAck(1, 0, 3, 16, 2000, 10, 500, 1000.0, 8.0),
    ]


@pytest.mark.parametrize("msg", _all_messages(), ids=lambda m: type(m).__name__)
def test_roundtrip_every_type(msg):
    msg.seq, msg.timestamp_us = 65535, 2**64 - 1
    wire = encode(msg)
    assert wire.endswith(b"\0") and b"\0" not in wire[:-1] and len(wire) <= MAX_WIRE
    dec = FrameDecoder()
    (out,) = dec.feed(wire)
    assert type(out) is type(msg) and out == msg
    assert dec.stats.frames_ok == 1 and dec.stats.errors == 0


def test_imu_to_si_and_timestamps():
    b = ImuBatch(1000, 0.5, 0.25, 0, np.array([0, 5], np.uint32), np.array([[2, 4, -6, 4, 8, 1]] * 2, np.int16))
    si = b.to_si()
    assert si.dtype == np.float32 and si.shape == (2, 6)
    assert si[0].tolist() == [1.0, 2.0, -3.0, 1.0, 2.0, 0.25]
    assert b.timestamps_us().tolist() == [1000, 1005]


def test_max_payload_and_oversize():
    wire = encode_frame(0x03, b"\x01\x00\x00\x00" + b"x" * (MAX_PAYLOAD - 4))
    assert len(wire) <= MAX_WIRE
    with pytest.raises(ValueError):
        encode_frame(0x03, bytes(MAX_PAYLOAD + 1))
    dec = FrameDecoder()
    assert dec.feed(b"\x55" * 3000) == [] and dec.stats.oversize == 1
    assert len(dec.feed(b"\x55" * 10 + b"\0" + wire)) == 1
    assert dec.stats.oversize == 1 and dec.stats.crc_errors == 0


def test_body_longer_than_max_is_counted_not_raised():
    """Regression (found by the fuzzer): a block within the COBS size limit that decodes to more
    than the largest body, as when a lost delimiter merges two frames."""
    body = bytes((i % 100) + 1 if i % 100 else 0 for i in range(1044))
    enc = cobs_encode(body)
    assert len(enc) <= 1045
    dec = FrameDecoder()
    assert dec.feed(enc + b"\0") == [] and dec.stats.oversize == 1


def test_versioning_rules():
    dec = FrameDecoder()
    unknown = encode_frame(0x7F, b"future stuff", seq=1)
    v2 = encode_frame(0x10, b"", version=2, seq=2)
    short = encode_frame(0x21, b"\x01\x02", seq=3)
    longer = encode_frame(0x20, TimeSyncRequest(5, 6).pack() + b"appended-field", seq=4)
    out = dec.feed(unknown + v2 + short + longer)
    assert [type(m) for m in out] == [TimeSyncRequest] and out[0].t1 == 6
    s = dec.stats
    assert (s.unknown_type, s.bad_version, s.malformed, s.frames_ok) == (1, 1, 1, 1)


def test_header_layout():
    wire = encode(TimeSyncRequest(1, 2, seq=0x1234, timestamp_us=0x0102030405060708))
    body = cobs_decode(wire[:-1])
    assert HEADER.unpack_from(body) == (1, 0x20, 0x1234, 0x0102030405060708)
    assert len(body) == 12 + 12 + 4
    assert int.from_bytes(body[-4:], "little") == crc32c_reference(body[:-4])


def _vectors(vectors_dir):
    return json.loads((vectors_dir / "frames.json").read_text())


def _rebuild(v):
    cls = {c.__name__: c for c in MESSAGE_CLASSES.values()}[v["type"]]
    f = dict(v["fields"])
    if "dt_us" in f:
        f["dt_us"] = np.array(f["dt_us"], np.uint32)
        f["raw"] = np.array(f["raw"], np.int16)
    if "pixels" in f:
        f["pixels"] = np.array(f["pixels"], np.uint16)
    if "fw_version" in f:
        f["fw_version"] = tuple(f["fw_version"])
    for k, val in f.items():  # f32 on the wire: compare with the rounded value
        if isinstance(val, float):
            f[k] = float(np.float32(val))
    return cls(**f)


def test_shared_vectors_python(vectors_dir):
    doc = _vectors(vectors_dir)
    assert doc["crc"]["check_123456789"] == "0xE3069283"
    txt = dict(line.split() for line in (vectors_dir / "frames.txt").read_text().splitlines())
    assert len(doc["vectors"]) == len(txt) >= 12
    for v in doc["vectors"]:
        wire = bytes.fromhex(v["frame_hex"])
        assert txt[v["name"]] == v["frame_hex"]
        dec = FrameDecoder()
        out = dec.feed(wire)
        if v["type"] is None:
            assert out == [] and dec.stats.unknown_type == 1
            f = v["fields"]
            assert encode_frame(v["msg_type"], bytes.fromhex(f["payload_hex"]), seq=f["seq"],
                                timestamp_us=f["timestamp_us"]) == wire
            continue
        msg = _rebuild(v)
        assert encode(msg) == wire, v["name"]
        assert len(out) == 1 and out[0] == msg, v["name"]


def test_shared_vectors_from_c(firmware_build, vectors_dir):
    """C → Python: what the C encoder emits decodes in Python to the vectors' fields."""
    emitted = subprocess.run([str(firmware_build / "fb_emit_vectors")], check=True,
                             capture_output=True, text=True).stdout
    c_frames = dict(line.split() for line in emitted.splitlines())
    for v in _vectors(vectors_dir)["vectors"]:
        assert c_frames[v["name"]] == v["frame_hex"], v["name"]
        if v["type"] is not None:
            (out,) = FrameDecoder().feed(bytes.fromhex(c_frames[v["name"]]))
            assert out == _rebuild(v)


def test_c_unit_tests(firmware_build, vectors_dir):
    """The C unit tests (CRC, COBS, frames, rx stream, vectors, device core, board logic)."""
    proc = subprocess.run([str(firmware_build / "fb_unit_tests"), str(vectors_dir / "frames.txt")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failures" in proc.stdout


def test_sequence_gaps_count_every_crc_valid_frame():
    """A frame of an unknown type or with a malformed payload was received, not missed: it is
    skipped, but its sequence number counts (PROTOCOL.md §4, §5)."""
    dec = FrameDecoder()
    wire = (encode(TimeSyncRequest(1, 2, seq=10)) + encode_frame(0x7E, b"a newer type", seq=11)
            + encode_frame(0x02, b"\x01", seq=12) + encode(TimeSyncRequest(3, 4, seq=13)))
    out = dec.feed(wire)
    s = dec.stats
    assert [m.seq for m in out] == [10, 13] and (s.unknown_type, s.malformed) == (1, 1)
    assert (s.seq_gaps, s.frames_missed) == (0, 0)
    dec.feed(encode(TimeSyncRequest(5, 6, seq=17)))  # 14, 15 and 16 never arrived
    assert (s.seq_gaps, s.frames_missed) == (1, 3)
    corrupt = bytearray(encode(TimeSyncRequest(7, 8, seq=18)))
    corrupt[5] ^= 0x01 if corrupt[5] != 0x01 else 0x02
    dec.feed(bytes(corrupt) + encode(TimeSyncRequest(9, 9, seq=19)))  # a CRC error is a miss
    assert (s.crc_errors, s.seq_gaps, s.frames_missed) == (1, 2, 4)
    dec.feed(encode(TimeSyncRequest(1, 1, seq=65535)) + encode(TimeSyncRequest(1, 1, seq=0)))
    assert s.frames_missed == 4 + (65535 - 19 - 1)  # the jump to 65535, then a clean wrap
    dec.reset()  # a reconnect: the device may have rebooted and restarted at 0
    dec.feed(encode(TimeSyncRequest(1, 1, seq=500)))
    assert s.seq_gaps == 3


def test_c_unit_tests_under_sanitizers(firmware_build):
    """The C unit tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer
    (float-to-integer overflow included): any finding aborts the run."""
    from .conftest import FIRMWARE

    proc = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "sanitize"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " 0 failures" in proc.stdout
