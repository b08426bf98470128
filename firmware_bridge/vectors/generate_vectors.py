"""Generates the shared test vectors: frames.json (fields + wire hex) and frames.txt (name hex).

Run from the repository root:  .venv/bin/python firmware_bridge/vectors/generate_vectors.py
The C side (firmware/tests/test_vectors_common.c) builds the same messages independently; its
unit tests and the Python tests both check every vector.
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np

from edgebind.firmware_bridge import (
    ConfigAck, ConfigSet, DeviceInfo, Heartbeat, ImuBatch, InfoRequest, Log, Message,
    ThermalFragment, TimeSyncRequest, TimeSyncResponse, encode, encode_frame,
)

HERE = Path(__file__).resolve().parent


def vector_messages() -> list[tuple[str, Message]]:
    long_n = 62
    idx = np.arange(long_n * 6).reshape(long_n, 6)
    return [
        ("device_info", DeviceInfo(
            device_id=0x0123456789ABCDEF, fw_version=(1, 2, 3), board="rp2040-ref", sensors=3,
            enabled=7, max_payload=1024, imu_model="ICM-42688-P", imu_rate_hz=1000.0,
            accel_range_g=16, gyro_range_dps=2000, accel_scale=0.0048828125,
            gyro_scale=0.0009765625, thermal_model="MLX90640", thermal_width=32,
            thermal_height=24, thermal_rate_hz=8.0, thermal_scale=0.01, thermal_offset=0.0,
            seq=1, timestamp_us=1_000_000)),
        ("heartbeat", Heartbeat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 7, seq=2, timestamp_us=1_500_000)),
        ("log", Log(2, 42, "IMU FIFO overflow", seq=3, timestamp_us=1_600_000)),
        ("info_request", InfoRequest(seq=0, timestamp_us=5)),
        ("imu_batch", ImuBatch(
            123456789, 0.0048828125, 0.0009765625, 1000, np.array([0, 1000, 2000], np.uint32),
            np.array([[1, -2, 2048, 0, -1, 32767], [-32768, 0, 2049, 5, 6, 7], [0] * 6], np.int16),
            seq=4, timestamp_us=123460000)),
        ("imu_batch_long", ImuBatch(
            0x0807060504030201, 1.5, 0.25, 0x01020304,
            (0x01010101 + np.arange(long_n)).astype(np.uint32),
            (0x0101 + idx % 200).astype(np.int16), seq=0x0A0B, timestamp_us=0x0102030405060708)),
        ("thermal_fragment", ThermalFragment(
            5_000_000, 7, 4, 3, 1, 2, 6, 0.01, 0.0,
            np.array([29315, 0, 65535, 256, 1, 30000], np.uint16), seq=5, timestamp_us=5_000_100)),
        ("time_sync_request", TimeSyncRequest(9, 123456789012345, seq=6, timestamp_us=123456789012)),
        ("time_sync_response", TimeSyncResponse(9, 123456789012345, 1000, 1050, seq=7, timestamp_us=1050)),
        ("config_set", ConfigSet(3, streams=1, imu_rate_hz=500.0, accel_range_g=8, imu_batch=20,
                                 seq=8, timestamp_us=77)),
        ("config_ack", ConfigAck(3, 1, 1, 8, 2000, 20, 500, 500.0, 4.0, seq=9, timestamp_us=2_000_000)),
    ]


def _jsonable(msg: Message) -> dict:
    out = {}
    for f in fields(msg):
        v = getattr(msg, f.name)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def main() -> None:
    vectors = []
    for name, msg in vector_messages():
        vectors.append({"name": name, "type": type(msg).__name__, "fields": _jsonable(msg),
                        "frame_hex": encode(msg).hex()})
    unknown = encode_frame(0x7F, b"future", seq=10, timestamp_us=99)
    vectors.append({"name": "unknown_type", "type": None, "msg_type": 0x7F,
                    "fields": {"payload_hex": b"future".hex(), "seq": 10, "timestamp_us": 99},
                    "frame_hex": unknown.hex()})
    doc = {
        "protocol_version": 1,
        "crc": {"name": "CRC-32C (Castagnoli)", "poly_reflected": "0x82F63B78",
                "init": "0xFFFFFFFF", "xorout": "0xFFFFFFFF", "check_123456789": "0xE3069283"},
        "note": "frame_hex is the exact wire encoding: COBS(header|payload|crc32c) followed by 00",
        "vectors": vectors,
    }
    (HERE / "frames.json").write_text(json.dumps(doc, indent=1) + "\n")
    (HERE / "frames.txt").write_text("".join(f"{v['name']} {v['frame_hex']}\n" for v in vectors))


if __name__ == "__main__":
    main()
