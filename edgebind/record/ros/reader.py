"""Read a ROS bag as EdgeBind Samples: what ``open_recording`` returns for ROS 2 bags (a rosbag2
folder with MCAP or sqlite3 storage, a bare ``.mcap`` with the ``ros2`` profile, a ``.db3``) and
ROS 1 ``.bag`` files. Offers what ``RecordingReader`` offers its users: ``streams``,
``samples()``, ``summary()``, ``metadata``, ``calibration`` (always None), context manager.

Opening reads the whole bag once without deserialising (counts, header stamps read from the
bytes, the first message of image and audio topics), then plans each topic (``plan.py``).
``samples()`` reads again in bag order and re-orders by sample time through a heap that holds at
most the bag's largest receive-minus-stamp lag, so samples come out in time order.
"""
from __future__ import annotations

import heapq
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from edgebind.record.reader import ChannelStats, RecordingError, Summary
from edgebind.record.ros import convert as C
from edgebind.record.ros import msgdefs
from edgebind.record.ros import writer as W
from edgebind.record.ros.plan import Plan, TopicStats, header_stamp, make_plan
from edgebind.record.ros.topics import TopicRule, load_topics
from edgebind.sample import NS, Sample, StreamInfo

_MAX_NOTES_PER_TOPIC = 5


def _bag_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


class RosBagReader:
    """An opened ROS bag. ``topics``: a topic map (file path or parsed mapping, see
    ``topics.py``); default ``<bag>.topics.toml`` beside the bag when it exists."""

    def __init__(self, path: str | os.PathLike, limits: Any = None, topics: Any = None,
                 kind: str = "rosbag2"):
        self.path, self.kind = Path(path), kind
        self.calibration: dict[str, Any] | None = None
        self._notes: list[str] = []
        self._bad_topics: dict[str, int] = {}
        self._damaged = self._cut_noted = False
        self._rules = load_topics(topics, self.path)
        try:
            from rosbags.highlevel import AnyReader
        except ImportError:
            raise RecordingError(f"{self.path}: reading ROS bags needs the rosbags package "
                                 f"(pip install 'edgebind[ros]' or pip install rosbags)") from None
        self._ros2 = kind == "rosbag2"
        try:
            self._bag = AnyReader([self.path],
                                  default_typestore=msgdefs.typestore(ros1=not self._ros2))
            self._bag.open()
        except Exception as exc:  # noqa: BLE001 - rosbags raises many kinds on a damaged bag
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no such recording") from None
            self._bag = self._salvage(exc)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # -- public --------------------------------------------------------------------------------
    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {p.stream: p.info for p in self._plans.values() if p.info is not None}

    def summary(self) -> Summary:
        channels: dict[str, ChannelStats] = {}
        for st in self._stats.values():
            p = self._plans.get(st.topic)
            if p is not None:
                first, last = p.first_t(), p.last_t()
                channels[p.stream] = ChannelStats(p.stream, st.topic, p.modality, st.msgtype,
                                                  st.count, self._rel(first), self._rel(last))
            else:   # listed so that nothing in the bag is invisible; never replayed
                channels[st.topic] = ChannelStats(st.topic, st.topic, "", st.msgtype, st.count,
                                                  self._rel(st.first_r), self._rel(st.last_r))
        return Summary(path=str(self.path), file_size=_bag_size(self.path),
                       complete=not self._damaged, truncated_at=None,
                       last_complete_chunk_end=None, chunk_count=0, channels=channels,
                       metadata=self.metadata, skipped=list(self._notes), lost=[],
                       messages_expected=self._expected)

    def samples(self, streams: Iterable[str] | None = None, speed: float | None = None
                ) -> Iterator[Sample]:
        """Samples in time order (see the module docstring); ``speed`` as RecordingReader."""
        want = set(streams) if streams is not None else None
        plans = {p.stats.topic: p for p in self._plans.values()
                 if p.info is not None and (want is None or p.stream in want)}
        conns = [c for p in plans.values() for c in p.stats.conns]
        if not conns:
            return
        heap: list[tuple[int, int, Any, Any]] = []
        pace = _Pacer(speed)
        seq = 0
        for conn, r, raw in self._read(conns):
            p = plans[conn.topic]
            t = header_stamp(raw, self._ros2) if p.use_header else 0
            heapq.heappush(heap, ((t or r) - self._origin, seq, conn, raw))
            seq += 1
            ready = r - self._origin - self._lag   # no later message can be stamped earlier
            while heap and heap[0][0] <= ready:
                s = self._sample(plans, *heapq.heappop(heap))
                if s is not None:
                    pace.wait(s.t_ns)
                    yield s
        while heap:
            s = self._sample(plans, *heapq.heappop(heap))
            if s is not None:
                pace.wait(s.t_ns)
                yield s

    def __iter__(self) -> Iterator[Sample]:
        return self.samples()

    def close(self) -> None:
        bag, self._bag = getattr(self, "_bag", None), None
        if bag is not None and getattr(bag, "stack", 1) is not None:
            bag.close()

    def __enter__(self) -> RosBagReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -------------------------------------------------------------------------------
    def _salvage(self, exc: Exception) -> Any:
        """A ROS 2 MCAP bag rosbags cannot open (cut off: no summary, footer or metadata.yaml)
        is read up to its last complete record; anything else is a RecordingError."""
        why = f"{type(exc).__name__}: {exc}"
        from edgebind.record.ros.salvage import SalvagedMcap, mcap_file
        f = mcap_file(self.path) if self._ros2 else None
        if f is not None:
            try:
                bag = SalvagedMcap(f)
            except Exception as exc2:  # noqa: BLE001
                why += f"; reading it record by record: {exc2}"
            else:
                self._damaged = True
                self._notes.append(f"rosbags cannot open it ({why}); reading {f.name} record "
                                   f"by record up to its last complete record")
                return bag
        raise RecordingError(f"{self.path}: not a readable {self.kind} bag; it may be cut off "
                             f"or damaged ({why})") from None

    def _open(self) -> None:
        self._stats: dict[str, TopicStats] = {}
        for conn in self._bag.connections:
            st = self._stats.setdefault(conn.topic, TopicStats(conn.topic, conn.msgtype))
            st.conns.append(conn)
            fields = self._bag.typestore.fielddefs.get(conn.msgtype, ([], []))[1]
            st.has_header = bool(fields) and fields[0][0] == "header"
        try:   # what the bag's index/metadata declares (None where it has none)
            self._expected = sum(int(r.message_count) for r in self._bag.readers) or None
        except Exception:  # noqa: BLE001
            self._expected = None
        infos: dict[str, C.AudioFormat] = {}
        for conn, r, raw in self._read(self._bag.connections):
            st = self._stats[conn.topic]
            st.add(r, header_stamp(raw, self._ros2) if st.has_header else None)
            if st.first is None and st.msgtype in (C.IMAGE, C.COMPRESSED, C.AUDIO_STAMPED,
                                                   C.AUDIO_INFO):
                st.first = self._deserialize(raw, conn.msgtype, conn.topic)
                if st.msgtype == C.AUDIO_INFO and st.first is not None:
                    try:
                        infos[conn.topic] = C.audio_info(st.first)
                    except (ValueError, AttributeError) as exc:
                        self._note(conn.topic, f"AudioInfo on {conn.topic}: {exc}")
        own = self._own_streams()
        self._plans: dict[str, Plan] = {}
        names: set[str] = set()
        for st in self._stats.values():
            if st.msgtype == C.AUDIO_INFO:
                continue   # read into the audio topics' format
            p = make_plan(st, self._rules.get(st.topic), infos, self._notes.append)
            if p is None:
                continue
            if p.stream in names:
                self._notes.append(f"topic {st.topic}: stream name {p.stream!r} is taken by "
                                   f"another topic; skipped (name it in the topic map)")
                continue
            names.add(p.stream)
            if p.stream in own and own[p.stream].modality == p.modality:
                p.info = own[p.stream]
            self._plans[st.topic] = p
        firsts = [p.first_t() for p in self._plans.values() if p.first_t() is not None]
        self._origin = min(firsts) if firsts else 0
        if self._custom.get(W.CLOCK_KEY) == W.CLOCK:
            self._origin = 0   # written by EdgeBind: already host monotonic, keep the times
        self._lag = max([p.stats.lag for p in self._plans.values() if p.use_header] + [0])
        self.metadata = self._metadata()

    def _own_streams(self) -> dict[str, StreamInfo]:
        """StreamInfos that EdgeBind's writer kept in ``custom_data``; their topics map back to
        the original stream names (unless the topic map says otherwise)."""
        self._custom: dict[str, str] = {}
        for r in self._bag.readers:
            meta = getattr(getattr(r, "storage", None), "metadata", None)
            self._custom.update(getattr(meta, "custom", None) or {})
        out: dict[str, StreamInfo] = {}
        for key, value in self._custom.items():
            try:
                if key.startswith(W.INFO_PREFIX):
                    info = StreamInfo.from_dict(json.loads(value))
                    out[info.stream] = info
                    self._rules.setdefault(W.topic_for(info), TopicRule(
                        W.topic_for(info), name=info.stream, modality=info.modality))
                elif key == "edgebind.calibration":
                    self.calibration = json.loads(value)["profile"]
            except (ValueError, KeyError, TypeError) as exc:
                self._notes.append(f"metadata.yaml custom_data {key!r} unreadable ({exc}); "
                                   f"ignored")
        return out

    def _metadata(self) -> dict[str, Any]:
        import datetime as dt
        md: dict[str, Any] = {
            "format": self.kind,
            "clock": "bag time - time_origin_ns: header.stamp where set, else receive time",
            "time_origin_ns": str(self._origin)}
        if self._origin > 10 ** 17:   # an epoch time, not a simulated clock from 0
            md["wall_time_start"] = dt.datetime.fromtimestamp(
                self._origin / NS, dt.timezone.utc).isoformat()
        readers = self._bag.readers
        distro = getattr(readers[0], "ros_distro", None) if self._ros2 and readers else None
        if distro:
            md["ros_distro"] = str(distro)
        return md

    # -- reading -------------------------------------------------------------------------------
    def _read(self, conns: list[Any]) -> Iterator[tuple[Any, int, bytes]]:
        """The bag's messages in receive order, up to the first damage (noted once)."""
        if self._bag is None:
            raise ValueError(f"{self.path}: reader is closed")
        it = self._bag.messages(connections=conns)
        n = 0
        while True:
            try:
                item = next(it)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - damaged storage: keep the prefix
                self._damaged = True
                if not self._cut_noted:   # the same place is met again by every reading
                    self._cut_noted = True
                    self._notes.append(f"bag unreadable after {n} messages "
                                       f"({type(exc).__name__}: {exc}); the messages before "
                                       f"it are kept")
                return
            n += 1
            yield item

    def _deserialize(self, raw: bytes, msgtype: str, topic: str) -> Any:
        try:
            return self._bag.deserialize(raw, msgtype)
        except Exception as exc:  # noqa: BLE001 - one malformed message: report, go on
            self._note(topic, f"message on {topic}: undecodable ({type(exc).__name__}: {exc})")
            return None

    def _sample(self, plans: dict[str, Plan], t: int, _seq: int, conn: Any, raw: bytes
                ) -> Sample | None:
        p = plans[conn.topic]
        msg = self._deserialize(raw, conn.msgtype, conn.topic)
        if msg is None:
            return None
        try:
            data = p.convert(msg)
        except (ValueError, TypeError, AttributeError) as exc:
            self._note(conn.topic, f"message on {conn.topic} at t_ns={t}: {exc}")
            return None
        rows = np.array([t], dtype=np.int64) if p.modality == "imu" else None
        return Sample(p.stream, p.modality, int(t), data, {}, rows)

    def _note(self, topic: str, line: str) -> None:
        n = self._bad_topics[topic] = self._bad_topics.get(topic, 0) + 1
        if n <= _MAX_NOTES_PER_TOPIC:
            self._notes.append(line)
        elif n == _MAX_NOTES_PER_TOPIC + 1:
            self._notes.append(f"more problems on {topic} are not listed")

    def _rel(self, t: int | None) -> int | None:
        return None if t is None else t - self._origin


class _Pacer:
    """Sleeps to keep the recorded spacing at ``speed`` (None/0: no pacing)."""

    def __init__(self, speed: float | None) -> None:
        self.speed, self.t0 = speed, None

    def wait(self, t_ns: int) -> None:
        if not self.speed:
            return
        now = time.monotonic_ns()
        if self.t0 is None:
            self.t0 = (t_ns, now)
        delay = self.t0[1] + (t_ns - self.t0[0]) / self.speed - now
        if delay > 0:
            time.sleep(delay / 1e9)
