"""Protocol constants (PROTOCOL.md is the normative description)."""
from __future__ import annotations

import struct
from enum import IntEnum

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBHQ")  # version, type, seq, timestamp_us
HEADER_SIZE = HEADER.size  # 12
CRC_SIZE = 4
MAX_PAYLOAD = 1024
MAX_BODY = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE  # 1040
MAX_ENCODED = MAX_BODY + MAX_BODY // 254 + 1  # 1045: worst-case COBS size of a body
MAX_WIRE = MAX_ENCODED + 1  # 1046 with the 0x00 delimiter
MIN_BODY = HEADER_SIZE + CRC_SIZE

IMU_MAX_SAMPLES = 62
THERMAL_MAX_PIXELS = 496


class MsgType(IntEnum):
    DEVICE_INFO = 0x01
    HEARTBEAT = 0x02
    LOG = 0x03
    INFO_REQUEST = 0x04
    IMU_BATCH = 0x10
    THERMAL_FRAGMENT = 0x11
    TIME_SYNC_REQUEST = 0x20
    TIME_SYNC_RESPONSE = 0x21
    CONFIG_SET = 0x30
    CONFIG_ACK = 0x31


class Stream(IntEnum):
    """Bits of the stream masks."""

    IMU = 1 << 0
    THERMAL = 1 << 1
    HEARTBEAT = 1 << 2


class ConfigField(IntEnum):
    """Bits of CONFIG_SET's field mask."""

    IMU_RATE = 1 << 0
    ACCEL_RANGE = 1 << 1
    GYRO_RANGE = 1 << 2
    IMU_BATCH = 1 << 3
    THERMAL_RATE = 1 << 4
    HEARTBEAT = 1 << 5
    STREAMS = 1 << 6
