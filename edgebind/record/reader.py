"""Read EdgeBind MCAP recordings back as Samples, including files cut off by a power loss.

The reader never trusts the summary section: it walks the data section record by record, checks
each record's length against the file size and each chunk's CRC, and keeps every complete chunk
(and complete unchunked message). What it could not use is reported in ``Summary.skipped``
instead of raised. Messages come out in log-time order by merging chunks on their time ranges,
so memory stays bounded by how much chunks overlap in time, not by file size.
"""
from __future__ import annotations

import hashlib
import heapq
import io
import json
import os
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from mcap.data_stream import ReadDataStream
from mcap.opcode import Opcode
from mcap.records import Channel, Chunk, Message, Metadata, Schema
from mcap.stream_reader import breakup_chunk

from edgebind.errors import EdgeBindError
from edgebind.record import schemas as S
from edgebind.sample import Sample, StreamInfo

MAGIC = b"\x89MCAP0\r\n"
_CHUNK_FIXED = 8 + 8 + 8 + 4 + 4  # start, end, uncompressed size, crc, compression length


class RecordingError(EdgeBindError, ValueError):
    """The file is not a readable MCAP recording at all (empty, wrong magic)."""


@dataclass
class ChannelStats:
    stream: str
    topic: str
    modality: str
    schema: str
    message_count: int = 0
    first_t_ns: int | None = None
    last_t_ns: int | None = None


@dataclass
class Summary:
    """What a recording holds and what could not be read.

    ``complete`` is True when the footer and closing magic are present. For a cut-off file
    ``truncated_at`` is the file size and ``last_complete_chunk_end`` the byte where the last
    intact chunk ends; ``skipped`` says in words what was left out and why.
    """

    path: str
    file_size: int
    complete: bool
    truncated_at: int | None
    last_complete_chunk_end: int | None
    chunk_count: int
    channels: dict[str, ChannelStats]
    metadata: dict[str, Any]
    skipped: list[str] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        return sum(c.message_count for c in self.channels.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["message_count"] = self.message_count
        return d


@dataclass
class _Unit:
    """A chunk, or one unchunked message, in file order."""

    offset: int
    end: int
    start_time: int
    end_time: int
    message: Message | None = None
    bad: bool = False


class Replay:
    """An opened recording: ``streams``, ``metadata``, ``calibration``, ``summary()`` and
    ``samples()``. Use as a context manager or call ``close()``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such recording")
        if self.path.is_dir():
            raise RecordingError(f"{self.path}: is a directory, not an MCAP file")
        self._f = open(self.path, "rb")
        self._size = os.fstat(self._f.fileno()).st_size
        self._units: list[_Unit] = []
        self._schemas: dict[int, str] = {}
        self._channels: dict[int, Channel] = {}
        self._skipped: list[str] = []
        self._complete = False
        self._truncated_at: int | None = None
        self._last_chunk_end: int | None = None
        self.metadata: dict[str, Any] = {}
        self.calibration: dict[str, Any] | None = None
        self._infos_by_stream: dict[str, StreamInfo] = {}
        self._meta_infos: dict[str, StreamInfo] = {}   # from edgebind.stream_info records
        try:
            self._scan()
            self._stats = self._count()
        except BaseException:
            self._f.close()
            raise

    # -- public --------------------------------------------------------------------------------
    @property
    def streams(self) -> dict[str, StreamInfo]:
        """Stream id → StreamInfo for every channel written by EdgeBind."""
        out = {}
        for ch in self._channels.values():
            info = self._info(ch)
            if info is not None:
                out[info.stream] = info
        return out

    def summary(self) -> Summary:
        return Summary(path=str(self.path), file_size=self._size, complete=self._complete,
                       truncated_at=self._truncated_at,
                       last_complete_chunk_end=self._last_chunk_end,
                       chunk_count=sum(1 for u in self._units if u.message is None),
                       channels=self._stats, metadata=self.metadata,
                       skipped=list(self._skipped))

    def samples(self, streams: Iterable[str] | None = None, speed: float | None = None
                ) -> Iterator[Sample]:
        """Samples in log-time order (ties keep write order).

        ``speed=None`` or ``0``: as fast as possible; ``speed=1``: real time (sleeps to keep the
        recorded spacing); ``2``: twice as fast. Undecodable messages are skipped and reported in
        ``summary().skipped``.
        """
        want = set(streams) if streams is not None else None
        t0: tuple[int, int] | None = None
        for ch, msg in self._merged():
            info = self._info(ch)
            if info is None or (want is not None and info.stream not in want):
                continue
            schema = self._schemas.get(ch.schema_id, "")
            try:
                sample = S.decode(msg.data, schema, info, msg.log_time)
            except Exception as exc:  # any malformed payload: report, keep going
                self._skipped.append(f"message on {ch.topic} at t_ns={msg.log_time}: "
                                     f"undecodable ({type(exc).__name__}: {exc})")
                continue
            if speed:
                now = time.monotonic_ns()
                if t0 is None:
                    t0 = (sample.t_ns, now)
                delay = t0[1] + (sample.t_ns - t0[0]) / speed - now
                if delay > 0:
                    time.sleep(delay / 1e9)
            yield sample

    def __iter__(self) -> Iterator[Sample]:
        return self.samples()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scanning ------------------------------------------------------------------------------
    def _truncated(self, pos: int, what: str) -> None:
        self._truncated_at = self._size
        last = (f"last complete chunk ended at byte {self._last_chunk_end}"
                if self._last_chunk_end is not None else "no complete chunk")
        self._skipped.append(f"truncated at byte {self._size}: {what} starting at byte {pos} is "
                             f"incomplete ({self._size - pos} bytes skipped); {last}")

    def _scan(self) -> None:
        f, size = self._f, self._size
        if size == 0:
            raise RecordingError(f"{self.path}: empty file (0 bytes), not an MCAP recording")
        head = f.read(8)
        if head != MAGIC[:len(head)]:
            raise RecordingError(f"{self.path}: not an MCAP file (starts with {head!r}, "
                                 f"expected {MAGIC!r})")
        if len(head) < 8:
            self._truncated(0, "the file magic")
            return
        pos = 8
        while True:
            if pos == size:
                self._truncated_at = size
                last = (f"last complete chunk ended at byte {self._last_chunk_end}"
                        if self._last_chunk_end is not None else "no complete chunk")
                self._skipped.append(f"truncated at byte {size}: no footer (recording was not "
                                     f"closed); {last}")
                return
            if size - pos < 9:
                self._truncated(pos, "a record header")
                return
            f.seek(pos)
            op, length = struct.unpack("<BQ", f.read(9))
            end = pos + 9 + length
            name = _op_name(op)
            if end > size:
                self._truncated(pos, f"a {name} record")
                return
            try:
                if op == Opcode.CHUNK:
                    self._scan_chunk(pos, end, length)
                elif op in (Opcode.MESSAGE, Opcode.CHANNEL, Opcode.SCHEMA, Opcode.METADATA):
                    self._top_level(op, f.read(length), pos, end)
            except Exception as exc:  # a complete but malformed record: skip just that one
                self._skipped.append(f"{name} record at byte {pos} ({length} bytes) is "
                                     f"malformed: {type(exc).__name__}: {exc}")
            pos = end
            if op == Opcode.FOOTER:
                f.seek(pos)
                if f.read(8) == MAGIC:
                    self._complete = True
                else:
                    self._truncated_at = size
                    self._skipped.append(f"truncated at byte {size}: closing magic missing "
                                         f"after the footer (all data is complete)")
                return

    def _scan_chunk(self, pos: int, end: int, length: int) -> None:
        # Only the header now; the (compressed) records are read when counted or replayed.
        fixed = self._f.read(_CHUNK_FIXED)
        start_t, end_t, _, _, clen = struct.unpack("<QQQII", fixed)
        if _CHUNK_FIXED + clen + 8 > length:
            raise ValueError("chunk header longer than the record")
        self._units.append(_Unit(offset=pos, end=end, start_time=start_t, end_time=end_t))
        self._last_chunk_end = end

    def _top_level(self, op: int, body: bytes, pos: int, end: int) -> None:
        stream = ReadDataStream(io.BytesIO(body))
        if op == Opcode.MESSAGE:
            m = Message.read(stream, len(body))
            self._units.append(_Unit(pos, end, m.log_time, m.log_time, message=m))
        elif op == Opcode.CHANNEL:
            self._add_record(Channel.read(stream))
        elif op == Opcode.SCHEMA:
            self._add_record(Schema.read(stream))
        elif op == Opcode.METADATA:
            self._add_metadata(Metadata.read(stream))

    def _add_record(self, r: Any) -> None:
        if isinstance(r, Schema):
            self._schemas[r.id] = r.name
        elif isinstance(r, Channel):
            self._channels[r.id] = r

    def _add_metadata(self, md: Metadata) -> None:
        if md.name == S.META_STREAM_INFO and "info" in md.metadata:
            # Kept aside: metadata records carry no CRC, the channel's copy (inside a CRC-checked
            # chunk) is preferred when both exist (see _info).
            info = _valid_info(json.loads(md.metadata["info"]))
            self._meta_infos[info.stream] = info
        elif md.name == S.META_CALIBRATION and "profile" in md.metadata:
            text = md.metadata["profile"]
            want = md.metadata.get("sha256")
            if want is not None and hashlib.sha256(text.encode()).hexdigest() != want:
                self._skipped.append("edgebind.calibration metadata is damaged (sha256 "
                                     "mismatch); the calibration profile is ignored")
                return
            self.calibration = json.loads(text)
        elif md.name == S.META_RECORDING:
            self.metadata = dict(md.metadata)
        else:
            self.metadata.setdefault("other", {})[md.name] = dict(md.metadata)

    def _records(self, unit: _Unit) -> list[Any]:
        """The records of one unit; a chunk that fails to read or its CRC is marked bad."""
        if unit.message is not None:
            return [unit.message]
        if unit.bad:
            return []
        self._f.seek(unit.offset + 9)
        body = self._f.read(unit.end - unit.offset - 9)
        try:
            chunk = Chunk.read(ReadDataStream(io.BytesIO(body)))
            return breakup_chunk(chunk, validate_crc=True)
        except Exception as exc:  # CRC, decompression, framing: drop this chunk only
            unit.bad = True
            self._skipped.append(f"chunk at byte {unit.offset} ({unit.end - unit.offset} bytes) "
                                 f"unreadable: {type(exc).__name__}: {exc}")
            return []

    def _count(self) -> dict[str, ChannelStats]:
        # One pass in file order: learns channels defined inside chunks, and counts messages.
        counts: dict[int, list[int]] = {}
        for unit in self._units:
            for r in self._records(unit):
                if isinstance(r, Message):
                    c = counts.setdefault(r.channel_id, [0, r.log_time, r.log_time])
                    c[0] += 1
                    c[1] = min(c[1], r.log_time)
                    c[2] = max(c[2], r.log_time)
                else:
                    self._add_record(r)
        stats: dict[str, ChannelStats] = {}
        for cid, (n, first, last) in counts.items():
            ch = self._channels.get(cid)
            if ch is None:
                self._skipped.append(f"{n} messages on channel id {cid}, whose channel record "
                                     f"is missing")
                continue
            info = self._info(ch)
            key = info.stream if info else ch.topic
            stats[key] = ChannelStats(stream=key, topic=ch.topic,
                                      modality=info.modality if info else "",
                                      schema=self._schemas.get(ch.schema_id, ""),
                                      message_count=n, first_t_ns=first, last_t_ns=last)
        # A stream that never delivered (a camera that was unplugged all along) is still a
        # channel of the recording: listed with 0 messages, so its absence is visible.
        for cid, ch in self._channels.items():
            if cid in counts:
                continue
            info = self._info(ch)
            key = info.stream if info else ch.topic
            stats.setdefault(key, ChannelStats(stream=key, topic=ch.topic,
                                               modality=info.modality if info else "",
                                               schema=self._schemas.get(ch.schema_id, "")))
        return stats

    def _info(self, ch: Channel) -> StreamInfo | None:
        sid = ch.metadata.get("edgebind.stream")
        if sid is None:
            return None  # not written by EdgeBind
        if sid in self._infos_by_stream:
            return self._infos_by_stream[sid]
        meta = self._meta_infos.get(sid)
        try:
            info = _valid_info(json.loads(ch.metadata["edgebind.stream_info"]))
            if info.stream != sid:
                raise ValueError(f"names stream {info.stream!r}")
        except Exception as exc:  # noqa: BLE001 - damaged channel metadata
            if meta is None:
                self._skipped.append(f"channel {ch.topic}: stream info unreadable ({exc}); its "
                                     "messages are skipped")
                self._infos_by_stream[sid] = None  # type: ignore[assignment]  # report once
                return None
            info = meta   # the channel copy is damaged: the metadata record still says it
        else:
            if meta is not None and meta != info:
                self._skipped.append(f"stream {sid!r}: the edgebind.stream_info metadata record "
                                     "disagrees with the channel's copy (damaged?); using the "
                                     "channel's")
        self._infos_by_stream[sid] = info
        return info

    def _merged(self) -> Iterator[tuple[Channel, Message]]:
        """k-way merge: a unit is loaded only once no pending message is earlier than its start,
        so output is in log-time order for any overlap between chunks."""
        units = sorted(range(len(self._units)), key=lambda i: (self._units[i].start_time, i))
        heap: list[tuple[int, int, int, Message]] = []
        i = 0
        while i < len(units) or heap:
            if i < len(units) and (not heap or self._units[units[i]].start_time <= heap[0][0]):
                u = units[i]
                i += 1
                for j, r in enumerate(self._records(self._units[u])):
                    if isinstance(r, Message):
                        heapq.heappush(heap, (r.log_time, u, j, r))
                continue
            _, _, _, msg = heapq.heappop(heap)
            ch = self._channels.get(msg.channel_id)
            if ch is not None:
                yield ch, msg


def _valid_info(d: Any) -> StreamInfo:
    """StreamInfo from its JSON form, checked enough that damage cannot pass as data."""
    from edgebind.modality import MODALITIES

    if not isinstance(d, dict):
        raise ValueError(f"stream info must be an object, got {type(d).__name__}")
    info = StreamInfo.from_dict(d)
    if not isinstance(info.stream, str) or not info.stream:
        raise ValueError(f"stream id must be a non-empty string, got {info.stream!r}")
    if info.modality not in MODALITIES:
        raise ValueError(f"stream info of {info.stream!r}: unknown modality {info.modality!r}")
    return info


def open_recording(path: str | os.PathLike) -> Replay:
    """Open a recording for summary and replay. Raises FileNotFoundError or RecordingError if
    the file is missing or not MCAP at all; a truncated file opens and reports what it lost."""
    return Replay(path)


def _op_name(op: int) -> str:
    try:
        return Opcode(op).name
    except ValueError:
        return f"unknown (opcode {op:#x})"
