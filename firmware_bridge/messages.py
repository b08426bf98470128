"""Message records and their payload layouts (PROTOCOL.md §3).

Every message is a dataclass with keyword-only header fields ``seq`` and ``timestamp_us``; those
are filled in by the decoder and used by :func:`edgebind.firmware_bridge.encode`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from .errors import BridgeError
from .protocol import IMU_MAX_SAMPLES, MAX_PAYLOAD, THERMAL_MAX_PIXELS, ConfigField, MsgType


class MalformedPayload(BridgeError, ValueError):
    """A CRC-valid frame whose payload does not fit its message type."""


def _need(payload: bytes, size: int, name: str) -> None:
    if len(payload) < size:
        raise MalformedPayload(f"{name}: payload {len(payload)} bytes, need at least {size}")


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _pad16(text: str) -> bytes:
    raw = text.encode("ascii", "replace")[:16]
    return raw + b"\0" * (16 - len(raw))


@dataclass
class Message:
    TYPE: ClassVar[int] = -1
    seq: int = field(default=0, kw_only=True)
    timestamp_us: int = field(default=0, kw_only=True)

    def pack(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def unpack(cls, payload: bytes) -> "Message":  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass
class _Fixed(Message):
    """A payload that is one struct ``_S``, field for field in declaration order."""

    _S: ClassVar[struct.Struct]

    def pack(self) -> bytes:
        return self._S.pack(*(getattr(self, f.name) for f in fields(self)[2:]))  # after the header

    @classmethod
    def unpack(cls, payload: bytes) -> "Message":
        _need(payload, cls._S.size, MsgType(cls.TYPE).name)
        return cls(*cls._S.unpack_from(payload))


@dataclass
class DeviceInfo(Message):
    TYPE: ClassVar[int] = MsgType.DEVICE_INFO
    _S: ClassVar[struct.Struct] = struct.Struct("<Q4B16sBBH16sfHHff16sHHfff")
    device_id: int = 0
    fw_version: tuple[int, int, int] = (0, 0, 0)
    board: str = ""
    sensors: int = 0
    enabled: int = 0
    max_payload: int = MAX_PAYLOAD
    imu_model: str = ""
    imu_rate_hz: float = 0.0
    accel_range_g: int = 0
    gyro_range_dps: int = 0
    accel_scale: float = 0.0
    gyro_scale: float = 0.0
    thermal_model: str = ""
    thermal_width: int = 0
    thermal_height: int = 0
    thermal_rate_hz: float = 0.0
    thermal_scale: float = 0.0
    thermal_offset: float = 0.0

    def pack(self) -> bytes:
        return self._S.pack(
            self.device_id, *self.fw_version, 0, _pad16(self.board), self.sensors, self.enabled,
            self.max_payload, _pad16(self.imu_model), self.imu_rate_hz, self.accel_range_g,
            self.gyro_range_dps, self.accel_scale, self.gyro_scale, _pad16(self.thermal_model),
            self.thermal_width, self.thermal_height, self.thermal_rate_hz, self.thermal_scale,
            self.thermal_offset,
        )

    @classmethod
    def unpack(cls, payload: bytes) -> "DeviceInfo":
        _need(payload, cls._S.size, "DEVICE_INFO")
        v = cls._S.unpack_from(payload)
        return cls(
            device_id=v[0], fw_version=(v[1], v[2], v[3]), board=_cstr(v[5]), sensors=v[6],
            enabled=v[7], max_payload=v[8], imu_model=_cstr(v[9]), imu_rate_hz=v[10],
            accel_range_g=v[11], gyro_range_dps=v[12], accel_scale=v[13], gyro_scale=v[14],
            thermal_model=_cstr(v[15]), thermal_width=v[16], thermal_height=v[17],
            thermal_rate_hz=v[18], thermal_scale=v[19], thermal_offset=v[20],
        )


@dataclass
class Heartbeat(_Fixed):
    TYPE: ClassVar[int] = MsgType.HEARTBEAT
    _S: ClassVar[struct.Struct] = struct.Struct("<10IB3x")
    tx_frames: int = 0
    tx_overruns: int = 0
    imu_samples: int = 0
    imu_dropped_samples: int = 0
    imu_fifo_overruns: int = 0
    rx_frames: int = 0
    rx_errors: int = 0
    rx_unknown: int = 0
    thermal_frames: int = 0
    thermal_dropped: int = 0
    enabled: int = 0


@dataclass
class Log(Message):
    TYPE: ClassVar[int] = MsgType.LOG
    _S: ClassVar[struct.Struct] = struct.Struct("<BxH")
    level: int = 1
    code: int = 0
    text: str = ""

    def pack(self) -> bytes:
        raw = self.text.encode("utf-8")[: MAX_PAYLOAD - 4]
        return self._S.pack(self.level, self.code) + raw

    @classmethod
    def unpack(cls, payload: bytes) -> "Log":
        _need(payload, cls._S.size, "LOG")
        level, code = cls._S.unpack_from(payload)
        return cls(level, code, payload[4:].decode("utf-8", "replace"))


@dataclass
class InfoRequest(Message):
    TYPE: ClassVar[int] = MsgType.INFO_REQUEST

    def pack(self) -> bytes:
        return b""

    @classmethod
    def unpack(cls, payload: bytes) -> "InfoRequest":
        return cls()


IMU_SAMPLE_DTYPE = np.dtype([("dt_us", "<u4"), ("raw", "<i2", (6,))])


@dataclass(eq=False)
class ImuBatch(Message):
    """N samples: ``dt_us`` (uint32, N) after ``t0_us``; ``raw`` int16 N×6 [ax ay az gx gy gz]."""

    TYPE: ClassVar[int] = MsgType.IMU_BATCH
    _S: ClassVar[struct.Struct] = struct.Struct("<QffIHH")
    t0_us: int = 0
    accel_scale: float = 0.0
    gyro_scale: float = 0.0
    first_index: int = 0
    dt_us: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), np.int16))

    def __len__(self) -> int:
        return len(self.dt_us)

    def timestamps_us(self) -> np.ndarray:
        """Device time of each sample, int64 µs."""
        return np.int64(self.t0_us) + self.dt_us.astype(np.int64)

    def to_si(self) -> np.ndarray:
        """float32 N×6: accel m/s², gyro rad/s."""
        out = self.raw.astype(np.float32)
        out[:, :3] *= np.float32(self.accel_scale)
        out[:, 3:] *= np.float32(self.gyro_scale)
        return out

    def pack(self) -> bytes:
        n = len(self.dt_us)
        if not 1 <= n <= IMU_MAX_SAMPLES or self.raw.shape != (n, 6):
            raise ValueError(f"IMU batch needs 1..{IMU_MAX_SAMPLES} samples and raw of shape (N, 6)")
        rec = np.empty(n, IMU_SAMPLE_DTYPE)
        rec["dt_us"] = self.dt_us
        rec["raw"] = self.raw
        head = self._S.pack(self.t0_us, self.accel_scale, self.gyro_scale, self.first_index, n, 0)
        return head + rec.tobytes()

    @classmethod
    def unpack(cls, payload: bytes) -> "ImuBatch":
        _need(payload, 24, "IMU_BATCH")
        t0, sa, sg, first, n, _ = cls._S.unpack_from(payload)
        if n == 0 or len(payload) < 24 + 16 * n:
            raise MalformedPayload(f"IMU_BATCH: {n} samples do not fit {len(payload)} bytes")
        rec = np.frombuffer(payload, IMU_SAMPLE_DTYPE, count=n, offset=24)
        return cls(t0, sa, sg, first, rec["dt_us"].copy(), rec["raw"].copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImuBatch):
            return NotImplemented
        return (
            (self.seq, self.timestamp_us, self.t0_us, self.first_index)
            == (other.seq, other.timestamp_us, other.t0_us, other.first_index)
            and np.float32(self.accel_scale) == np.float32(other.accel_scale)
            and np.float32(self.gyro_scale) == np.float32(other.gyro_scale)
            and np.array_equal(self.dt_us, other.dt_us)
            and np.array_equal(self.raw, other.raw)
        )


@dataclass(eq=False)
class ThermalFragment(Message):
    TYPE: ClassVar[int] = MsgType.THERMAL_FRAGMENT
    _S: ClassVar[struct.Struct] = struct.Struct("<QIHHHHIff")
    capture_us: int = 0
    frame_id: int = 0
    width: int = 0
    height: int = 0
    index: int = 0
    count: int = 1
    pixel_offset: int = 0
    scale: float = 0.01
    offset: float = 0.0
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))

    def pack(self) -> bytes:
        if len(self.pixels) > THERMAL_MAX_PIXELS:
            raise ValueError(f"at most {THERMAL_MAX_PIXELS} pixels per fragment")
        head = self._S.pack(
            self.capture_us, self.frame_id, self.width, self.height, self.index, self.count,
            self.pixel_offset, self.scale, self.offset,
        )
        return head + np.asarray(self.pixels, dtype="<u2").tobytes()

    @classmethod
    def unpack(cls, payload: bytes) -> "ThermalFragment":
        _need(payload, 32, "THERMAL_FRAGMENT")
        v = cls._S.unpack_from(payload)
        pixels = np.frombuffer(payload, "<u2", count=(len(payload) - 32) // 2, offset=32)
        frag = cls(*v, pixels=pixels.astype(np.uint16))
        if frag.count == 0 or frag.index >= frag.count or (
            frag.pixel_offset + len(pixels) > frag.width * frag.height
        ):
            raise MalformedPayload("THERMAL_FRAGMENT: inconsistent fragment geometry")
        return frag

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThermalFragment):
            return NotImplemented
        a = (self.seq, self.timestamp_us, self.capture_us, self.frame_id, self.width,
             self.height, self.index, self.count, self.pixel_offset)
        b = (other.seq, other.timestamp_us, other.capture_us, other.frame_id, other.width,
             other.height, other.index, other.count, other.pixel_offset)
        return (
            a == b
            and np.float32(self.scale) == np.float32(other.scale)
            and np.float32(self.offset) == np.float32(other.offset)
            and np.array_equal(self.pixels, other.pixels)
        )


@dataclass
class TimeSyncRequest(_Fixed):
    TYPE: ClassVar[int] = MsgType.TIME_SYNC_REQUEST
    _S: ClassVar[struct.Struct] = struct.Struct("<IQ")
    request_id: int = 0
    t1: int = 0


@dataclass
class TimeSyncResponse(_Fixed):
    TYPE: ClassVar[int] = MsgType.TIME_SYNC_RESPONSE
    _S: ClassVar[struct.Struct] = struct.Struct("<I4xQQQ")
    request_id: int = 0
    t1: int = 0
    t2_us: int = 0
    t3_us: int = 0


@dataclass
class ConfigSet(Message):
    """Fields left as ``None`` are not changed by the device."""

    TYPE: ClassVar[int] = MsgType.CONFIG_SET
    _S: ClassVar[struct.Struct] = struct.Struct("<IBBHHHffH2x")
    config_id: int = 0
    streams: int | None = None
    imu_rate_hz: float | None = None
    accel_range_g: int | None = None
    gyro_range_dps: int | None = None
    imu_batch: int | None = None
    thermal_rate_hz: float | None = None
    heartbeat_ms: int | None = None

    _BITS: ClassVar[tuple[tuple[str, int], ...]] = (
        ("imu_rate_hz", ConfigField.IMU_RATE), ("accel_range_g", ConfigField.ACCEL_RANGE),
        ("gyro_range_dps", ConfigField.GYRO_RANGE), ("imu_batch", ConfigField.IMU_BATCH),
        ("thermal_rate_hz", ConfigField.THERMAL_RATE), ("heartbeat_ms", ConfigField.HEARTBEAT),
        ("streams", ConfigField.STREAMS),
    )

    def pack(self) -> bytes:
        mask = 0
        for name, bit in self._BITS:
            if getattr(self, name) is not None:
                mask |= bit

        def v(x, default=0):
            return default if x is None else x

        return self._S.pack(
            self.config_id, v(self.streams), mask, v(self.accel_range_g), v(self.gyro_range_dps),
            v(self.imu_batch), v(self.imu_rate_hz, 0.0), v(self.thermal_rate_hz, 0.0),
            v(self.heartbeat_ms),
        )

    @classmethod
    def unpack(cls, payload: bytes) -> "ConfigSet":
        _need(payload, cls._S.size, "CONFIG_SET")
        cid, streams, mask, ar, gr, batch, ir, tr, hb = cls._S.unpack_from(payload)
        vals = {"streams": streams, "imu_rate_hz": ir, "accel_range_g": ar, "gyro_range_dps": gr,
                "imu_batch": batch, "thermal_rate_hz": tr, "heartbeat_ms": hb}
        kw = {name: (vals[name] if mask & bit else None) for name, bit in cls._BITS}
        return cls(config_id=cid, **kw)


@dataclass
class ConfigAck(_Fixed):
    TYPE: ClassVar[int] = MsgType.CONFIG_ACK
    _S: ClassVar[struct.Struct] = struct.Struct("<IBBHHHHff2x")
    OK: ClassVar[int] = 0
    ADJUSTED: ClassVar[int] = 1
    REJECTED: ClassVar[int] = 2
    config_id: int = 0
    status: int = 0
    streams: int = 0
    accel_range_g: int = 0
    gyro_range_dps: int = 0
    imu_batch: int = 0
    heartbeat_ms: int = 0
    imu_rate_hz: float = 0.0
    thermal_rate_hz: float = 0.0


MESSAGE_CLASSES: dict[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (DeviceInfo, Heartbeat, Log, InfoRequest, ImuBatch, ThermalFragment,
                TimeSyncRequest, TimeSyncResponse, ConfigSet, ConfigAck)
}
