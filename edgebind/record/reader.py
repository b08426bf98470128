"""Read EdgeBind MCAP recordings back as Samples, including damaged and cut-off files.

Opening walks the whole file once (``scan.py``): every record that checks out is kept, damage
is stepped over and reported in ``Summary.skipped`` / ``Summary.lost`` instead of raised, and
every chunk is held to the caps in ``ReadLimits``. Reading then takes chunks again as it goes,
merging them on their time ranges, so samples come out in log-time order with memory bounded
by how much chunks overlap in time (and by ``ReadLimits.max_buffered_bytes``).
"""
from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from mcap.records import Channel, Message, Metadata

from edgebind.errors import EdgeBindError
from edgebind.record import schemas as S
from edgebind.record.framing import MAGIC, chunk_records, load_chunk
from edgebind.record.limits import ReadLimits
from edgebind.record.scan import Lost, Unit, scan
from edgebind.sample import Sample, StreamInfo


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
    intact chunk ends; ``skipped`` says in words what was left out and why, ``lost`` lists the
    skipped byte ranges with the chunks and messages in them where the file says.
    ``messages_expected`` is how many messages the writer recorded (from a closed file's
    statistics; None when the file has none to trust).
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
    lost: list[Lost] = field(default_factory=list)
    messages_expected: int | None = None

    @property
    def message_count(self) -> int:
        return sum(c.message_count for c in self.channels.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["message_count"] = self.message_count
        return d


class RecordingReader:
    """An opened recording: ``streams``, ``metadata``, ``calibration``, ``summary()`` and
    ``samples()``. Use as a context manager or call ``close()``. ``limits`` caps what any one
    chunk may cost (see ``ReadLimits``)."""

    def __init__(self, path: str | os.PathLike, limits: ReadLimits | None = None):
        self.path = Path(path)
        self.limits = limits or ReadLimits()
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such recording")
        if self.path.is_dir():
            raise RecordingError(f"{self.path}: is a directory, not an MCAP file")
        self._fd = os.open(self.path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._notes: list[str] = []      # problems found past the scan (metadata, replay)
        self.metadata: dict[str, Any] = {}
        self.calibration: dict[str, Any] | None = None
        self._infos_by_stream: dict[str, StreamInfo | None] = {}
        self._meta_infos: dict[str, StreamInfo] = {}   # from edgebind.stream_info records
        try:
            self._check_magic()
            self._scan = scan(self._read, self._size, self.limits)
            self._units: list[Unit] = self._scan.units
            self._schemas, self._channels = self._scan.schemas, self._scan.channels
            for pos, md in self._scan.metadata:
                self._metadata(pos, md)
            self._offset_ns = self._log_offset()   # read once; replay subtracts it per message
            self._stats = self._count()
        except BaseException:
            os.close(self._fd)
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
        sc = self._scan
        skipped = [x.sentence() if isinstance(x, Lost) else x for x in sc.report]
        return Summary(path=str(self.path), file_size=self._size, complete=sc.complete,
                       truncated_at=sc.truncated_at, last_complete_chunk_end=sc.last_chunk_end,
                       chunk_count=sum(1 for u in self._units if u.chunk is not None),
                       channels=self._stats, metadata=self.metadata,
                       skipped=skipped + self._notes, lost=sc.lost,
                       messages_expected=sc.expected)

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
                sample = S.decode(msg.data, schema, info, msg.log_time - self._offset_ns)
            except Exception as exc:  # any malformed payload: report, keep going
                self._notes.append(f"message on {ch.topic} at t_ns={msg.log_time}: "
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
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -------------------------------------------------------------------------------
    def _read(self, offset: int, n: int) -> bytes:
        return os.pread(self._fd, n, offset) if n > 0 else b""

    def _check_magic(self) -> None:
        if self._size == 0:
            raise RecordingError(f"{self.path}: empty file (0 bytes), not an MCAP recording")
        head = self._read(0, 8)
        if head != MAGIC[:len(head)]:
            raise RecordingError(f"{self.path}: not an MCAP file (starts with {head!r}, "
                                 f"expected {MAGIC!r})")

    def _metadata(self, pos: int, md: Metadata) -> None:
        try:
            self._add_metadata(md)
        except Exception as exc:  # noqa: BLE001 - metadata has no CRC: damage is expected
            self._notes.append(f"METADATA record at byte {pos} ({md.name!r}) is malformed: "
                               f"{type(exc).__name__}: {exc}")

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
                self._notes.append("edgebind.calibration metadata is damaged (sha256 "
                                   "mismatch); the calibration profile is ignored")
                return
            self.calibration = json.loads(text)
        elif md.name == S.META_RECORDING:
            self.metadata = dict(md.metadata)
        else:
            self.metadata.setdefault("other", {})[md.name] = dict(md.metadata)

    def _log_offset(self) -> int:
        """What to subtract from a message's log time to get its sample time: the wall-clock
        offset of files written with ``log_time="wall"`` (sample times stay host-monotonic)."""
        if self.metadata.get("log_time") != "wall":
            return 0
        try:
            return int(self.metadata.get("log_time_offset_ns", 0))
        except (TypeError, ValueError):
            return 0   # damaged metadata: times keep the offset, order and spacing stay right

    def _count(self) -> dict[str, ChannelStats]:
        stats: dict[str, ChannelStats] = {}
        counts = self._scan.counts
        off = self._offset_ns
        for cid, (n, first, last) in counts.items():
            first = first - off if first is not None else None
            last = last - off if last is not None else None
            ch = self._channels.get(cid)
            if ch is None:
                self._notes.append(f"{n} messages on channel id {cid}, whose channel record "
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
                self._notes.append(f"channel {ch.topic}: stream info unreadable ({exc}); its "
                                     "messages are skipped")
                self._infos_by_stream[sid] = None  # type: ignore[assignment]  # report once
                return None
            info = meta   # the channel copy is damaged: the metadata record still says it
        else:
            if meta is not None and meta != info:
                self._notes.append(f"stream {sid!r}: the edgebind.stream_info metadata record "
                                     "disagrees with the channel's copy (damaged?); using the "
                                     "channel's")
        self._infos_by_stream[sid] = info
        return info

    # -- replay --------------------------------------------------------------------------------
    def _messages(self, unit: Unit) -> list[Message]:
        """The messages of one unit; the scan checked it, so failing now means the file changed
        since it was opened."""
        if unit.chunk is None:
            return [unit.message] if unit.message is not None else []
        try:
            data = load_chunk(self._read, unit.chunk, self.limits)
        except ValueError as exc:
            self._notes.append(f"chunk at byte {unit.offset} unreadable during replay (the file "
                               f"changed since it was opened?): {exc}")
            return []
        out = []
        try:
            for r in chunk_records(data):
                if isinstance(r, Message):
                    out.append(r)
        except ValueError:
            pass  # a malformed record inside: the scan reported it, keep what came before
        return out

    def _merged(self) -> Iterator[tuple[Channel, Message]]:
        """k-way merge: a unit is loaded only once no pending message is earlier than its start,
        so output is in log-time order for any overlap between chunks. Loaded units hold at most
        ``max_buffered_bytes`` between them (any single one may be loaded alone)."""
        units = self._units
        order = sorted(range(len(units)), key=lambda i: (units[i].start_time, i))
        heap: list[tuple[int, int, int, Message]] = []
        pending: dict[int, int] = {}   # unit -> its messages still in the heap
        held, i = 0, 0
        while i < len(order) or heap:
            if i < len(order) and (not heap or units[order[i]].start_time <= heap[0][0]):
                u, i = order[i], i + 1
                if heap and held + units[u].size > self.limits.max_buffered_bytes:
                    self._notes.append(
                        f"chunk at byte {units[u].offset} skipped in replay: it overlaps in time "
                        f"{len(pending)} chunks already held ({held} bytes); with it they would "
                        f"exceed {self.limits.max_buffered_bytes} bytes "
                        f"(ReadLimits.max_buffered_bytes)")
                    continue
                msgs = self._messages(units[u])
                if msgs:
                    held, pending[u] = held + units[u].size, len(msgs)
                for j, m in enumerate(msgs):
                    heapq.heappush(heap, (m.log_time, u, j, m))
                continue
            _, u, _, msg = heapq.heappop(heap)
            pending[u] -= 1
            if not pending[u]:
                del pending[u]
                held -= units[u].size
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


def open_recording(path: str | os.PathLike, limits: ReadLimits | None = None,
                   topics: Any = None) -> RecordingReader:
    """Open a recording for summary and replay: an EdgeBind MCAP file, or a ROS bag (rosbag2
    folder, ROS 2 ``.mcap``/``.db3``, ROS 1 ``.bag``; see ``edgebind.record.formats``). Raises
    FileNotFoundError or RecordingError if the file is missing or not a recording at all; a
    damaged or truncated file opens and reports what it lost. ``limits``: caps on chunk sizes
    (``ReadLimits``; defaults suit any real file). ``topics``: a ROS bag's topic map (a TOML
    file or its parsed mapping, see ``edgebind.record.ros.topics``)."""
    from edgebind.record.formats import open_any
    return open_any(path, limits, topics)


Replay = RecordingReader   # its name before it matched RecordingWriter; still exported
