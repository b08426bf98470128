"""Frame encoding and the stream decoder (PROTOCOL.md §2, §5)."""
from __future__ import annotations

import struct
from dataclasses import asdict, dataclass

import numpy as np

from .cobs import CobsError, cobs_decode, cobs_encode
from .crc import crc_backend, crc32c_many
from .messages import MESSAGE_CLASSES, MalformedPayload, Message
from .protocol import (
    HEADER, HEADER_SIZE, MAX_BODY, MAX_ENCODED, MAX_PAYLOAD, MIN_BODY, PROTOCOL_VERSION,
)

_CRC = struct.Struct("<I")


def encode_frame(msg_type: int, payload: bytes, *, seq: int = 0, timestamp_us: int = 0,
                 version: int = PROTOCOL_VERSION) -> bytes:
    """Wire bytes (COBS body + 0x00) for a raw payload of any type."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(version, msg_type, seq & 0xFFFF, timestamp_us) + payload
    body += _CRC.pack(int(crc32c_many([body])[0]))
    return cobs_encode(body) + b"\0"


def encode(message: Message) -> bytes:
    """Wire bytes for ``message`` using its ``seq`` and ``timestamp_us``."""
    return encode_frame(message.TYPE, message.pack(), seq=message.seq,
                        timestamp_us=message.timestamp_us)


@dataclass
class DecoderStats:
    """Counters of a :class:`FrameDecoder`; none of these conditions ever raises."""

    bytes_in: int = 0
    frames_ok: int = 0  # delivered
    crc_errors: int = 0
    framing_errors: int = 0  # invalid COBS
    oversize: int = 0  # longer than the largest legal frame
    runts: int = 0  # shorter than header + CRC
    bad_version: int = 0
    unknown_type: int = 0
    malformed: int = 0  # CRC-valid but payload does not fit its type
    # Sequence numbers of every CRC-valid frame of this version, delivered or skipped (an unknown
    # type or a malformed payload is a frame received, not one missed).
    seq_gaps: int = 0  # places where the sequence jumped
    frames_missed: int = 0  # frames those jumps skipped

    @property
    def errors(self) -> int:
        return (self.crc_errors + self.framing_errors + self.oversize + self.runts
                + self.bad_version + self.malformed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class FrameDecoder:
    """Turns arbitrary byte chunks into CRC-valid messages.

    ``feed(chunk)`` returns the messages completed by that chunk, in order. Garbage, partial and
    corrupted frames are counted in :attr:`stats` and skipped; nothing is raised for bad input.
    ``crc`` is ``"auto"``, ``"numpy"``, ``"python"`` or ``"crc32c"`` (see :mod:`.crc`).
    """

    def __init__(self, *, crc: str = "auto") -> None:
        self.stats = DecoderStats()
        self._crc = crc_backend(crc)
        self._partial = b""
        self._discarding = False  # inside an oversize run: drop until the next delimiter
        self._last_seq: int | None = None

    def reset(self) -> None:
        """Forget any partial frame and the last sequence number (e.g. after reconnecting: the
        device may have rebooted); counters are kept."""
        self._partial = b""
        self._discarding = False
        self._last_seq = None

    def _track_seq(self, seq: int) -> None:
        last, self._last_seq = self._last_seq, seq
        if last is not None:
            gap = (seq - last - 1) & 0xFFFF
            if gap:
                self.stats.seq_gaps += 1
                self.stats.frames_missed += gap

    def feed(self, data: bytes) -> list[Message]:
        stats = self.stats
        stats.bytes_in += len(data)
        if not data:
            return []
        bodies = self._bodies(self._frames(bytes(data)))
        if not bodies:
            return []
        out = self._messages(bodies)
        stats.frames_ok += len(out)
        return out

    def _frames(self, data: bytes) -> list[bytes]:
        """The encoded frames that ``data`` completes; the unfinished tail waits for the next
        chunk, unless it is already too long to be a frame (then it is dropped up to the next
        delimiter and counted once)."""
        parts = (self._partial + data).split(b"\0") if self._partial else data.split(b"\0")
        tail = parts.pop()
        if self._discarding and parts:
            parts[0] = b""  # the rest of the oversize run; already counted
            self._discarding = False
        if len(tail) > MAX_ENCODED:
            if not self._discarding:
                self.stats.oversize += 1
            self._discarding = True
            tail = b""
        self._partial = tail
        return parts

    def _bodies(self, frames: list[bytes]) -> list[bytes]:
        """COBS-decoded frames of a plausible size (header + payload + CRC)."""
        stats = self.stats
        bodies = []
        for enc in frames:
            n = len(enc)
            if n == 0:
                continue
            if n > MAX_ENCODED:
                stats.oversize += 1
                continue
            if enc[0] == n:  # no zero byte inside: the body is the rest, as is
                body = enc[1:]
            else:
                try:
                    body = cobs_decode(enc)
                except CobsError:
                    stats.framing_errors += 1
                    continue
            if len(body) < MIN_BODY:
                stats.runts += 1
                continue
            if len(body) > MAX_BODY:  # e.g. two frames merged by a lost delimiter
                stats.oversize += 1
                continue
            bodies.append(body)
        return bodies

    def _messages(self, bodies: list[bytes]) -> list[Message]:
        """The messages of the bodies whose CRC, version, type and payload are all valid (the
        CRCs are checked in one batch)."""
        stats = self.stats
        crcs = self._crc([b[:-4] for b in bodies])
        stored = np.frombuffer(b"".join(b[-4:] for b in bodies), dtype="<u4")
        good = crcs == stored
        out: list[Message] = []
        classes = MESSAGE_CLASSES
        unpack_header = HEADER.unpack_from
        for body, ok in zip(bodies, good.tolist()):
            if not ok:
                stats.crc_errors += 1
                continue
            version, mtype, seq, ts = unpack_header(body)
            if version != PROTOCOL_VERSION:
                stats.bad_version += 1
                continue
            self._track_seq(seq)
            cls = classes.get(mtype)
            if cls is None:
                stats.unknown_type += 1
                continue
            try:
                msg = cls.unpack(body[HEADER_SIZE:-4])
            except (MalformedPayload, ValueError, struct.error):
                stats.malformed += 1
                continue
            msg.seq = seq
            msg.timestamp_us = ts
            out.append(msg)
        return out
