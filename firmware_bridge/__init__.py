"""Host side of the microcontroller link (imported as ``edgebind.firmware_bridge``).

A framed (COBS, 0x00-delimited), checksummed (CRC-32C), time-synchronised serial protocol for
IMUs and small thermal arrays on microcontrollers; see ``PROTOCOL.md``. Needs only numpy and
pyserial.

- :class:`FrameDecoder` / :func:`encode`: the codec (bytes in, messages out, and back).
- :class:`BridgeClient`: a port by pyserial URL, a reader thread, time sync, health, reconnects;
  delivers :class:`ImuSamples` (m/s², rad/s) and :class:`ThermalImage` (kelvin) stamped in host
  ``time.monotonic_ns()``.
"""
from .client import BridgeClient, Health, LinkState, SyncSchedule
from .codec import DecoderStats, FrameDecoder, encode, encode_frame
from .crc import CHECK_VALUE as CRC32C_CHECK_VALUE
from .crc import crc32c
from .errors import BridgeError
from .messages import (
    ConfigAck, ConfigSet, DeviceInfo, Heartbeat, ImuBatch, InfoRequest, Log, MalformedPayload,
    Message, ThermalFragment, TimeSyncRequest, TimeSyncResponse,
)
from .protocol import MAX_PAYLOAD, MAX_WIRE, PROTOCOL_VERSION, MsgType, Stream
from .samples import ImuSamples, ThermalImage
from .thermal import ThermalAssembler
from .timesync import ClockEstimator, ClockMapping, SyncExchange

__all__ = [
    "BridgeClient", "BridgeError", "Health", "LinkState", "SyncSchedule",
    "FrameDecoder", "DecoderStats", "encode", "encode_frame", "crc32c", "CRC32C_CHECK_VALUE",
    "Message", "DeviceInfo", "Heartbeat", "Log", "InfoRequest", "ImuBatch", "ThermalFragment",
    "TimeSyncRequest", "TimeSyncResponse", "ConfigSet", "ConfigAck", "MalformedPayload",
    "MsgType", "Stream", "PROTOCOL_VERSION", "MAX_PAYLOAD", "MAX_WIRE",
    "ImuSamples", "ThermalImage", "ThermalAssembler",
    "ClockEstimator", "ClockMapping", "SyncExchange",
]
