"""What each topic of a bag becomes: its stream, modality, scale, time source and StreamInfo.

Built from the opening pass over the bag (``TopicStats`` per topic: counts, receive and header
times, the first message) and the topic map (``topics.py``)."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from edgebind.record.ros import convert as C
from edgebind.record.ros.topics import TopicRule, stream_name
from edgebind.sample import StreamInfo

NS = 1_000_000_000
# A header stamp further than this from the bag's receive time is on another clock (a device
# clock, an unset or simulated stamp): the topic then uses receive times (and says so).
MAX_SKEW_NS = 10 * NS
UNITS = {"vision": "uint8 RGB", "depth": "float32 metres (NaN = invalid)",
         "thermal": "float32 kelvin", "audio": "float32 [-1, 1] frames×channels",
         "imu": "float32 [ax ay az gx gy gz] m/s², rad/s"}


def header_stamp(raw: bytes | memoryview, ros2: bool) -> int:
    """header.stamp in ns read straight from the serialised bytes (0 when unset): a std_msgs
    Header first field puts sec/nanosec at bytes 4..12 in both CDR (after the 4-byte
    encapsulation) and ROS 1 (after ``seq``), so the opening pass deserialises nothing."""
    if len(raw) < 12:
        return 0
    endian = ">" if ros2 and raw[1] == 0 else "<"
    sec, nsec = struct.unpack_from(endian + ("iI" if ros2 else "II"), raw, 4)
    return sec * NS + nsec if sec >= 0 else 0


@dataclass
class TopicStats:
    topic: str
    msgtype: str
    conns: list[Any] = field(default_factory=list)
    has_header: bool = False
    count: int = 0
    first_r: int | None = None
    last_r: int | None = None
    first_h: int | None = None
    last_h: int | None = None
    lag: int = 0               # largest receive - header time
    bad_stamps: int = 0        # unset or on another clock
    first: Any = None          # first message, deserialised (images and audio only)

    def add(self, r: int, h: int | None) -> None:
        self.count += 1
        self.first_r = r if self.first_r is None else min(self.first_r, r)
        self.last_r = r if self.last_r is None else max(self.last_r, r)
        if h is None:
            return
        if h == 0 or abs(h - r) > MAX_SKEW_NS:
            self.bad_stamps += 1
            return
        self.first_h = h if self.first_h is None else min(self.first_h, h)
        self.last_h = h if self.last_h is None else max(self.last_h, h)
        self.lag = max(self.lag, r - h)


@dataclass
class Plan:
    """One topic mapped to one EdgeBind stream."""
    stats: TopicStats
    stream: str
    modality: str
    use_header: bool
    scale: float | None = None
    offset: float = 0.0
    audio: C.AudioFormat | None = None
    info: StreamInfo | None = None

    def first_t(self) -> int | None:
        return self.stats.first_h if self.use_header else self.stats.first_r

    def last_t(self) -> int | None:
        return self.stats.last_h if self.use_header else self.stats.last_r

    def convert(self, msg: Any) -> np.ndarray:
        t = self.stats.msgtype
        if t == C.IMAGE:
            return C.image(msg, self.modality, self.scale, self.offset)
        if t == C.COMPRESSED:
            return C.compressed(msg, self.modality, self.scale, self.offset)
        if t == C.IMU:
            return C.imu(msg)
        return C.audio(msg, self.audio)


def make_plan(st: TopicStats, rule: TopicRule | None, infos: dict[str, C.AudioFormat],
              note: Callable[[str], None]) -> Plan | None:
    """The plan of one topic, or None (skipped, with the reason noted)."""
    what = f"topic {st.topic} ({st.msgtype}, {st.count} messages)"
    if rule is not None and rule.skip:
        note(f"{what}: skipped (topic map)")
        return None
    enc = ""
    if st.first is not None:
        enc = str(getattr(st.first, "encoding", "") or getattr(st.first, "format", ""))
    modality = (rule.modality if rule and rule.modality else
                C.guess_modality(st.topic, st.msgtype, enc))
    if modality is None or st.msgtype not in C.SUPPORTED:
        note(f"{what}: unsupported message type; skipped")
        return None
    use_header = st.has_header and st.first_h is not None and not st.bad_stamps
    if rule is not None and rule.stamp is not None:
        use_header = rule.stamp == "header" and st.first_h is not None
    elif st.has_header and st.bad_stamps:
        note(f"{what}: {st.bad_stamps} header stamps unset or over {MAX_SKEW_NS // NS} s from "
             f"the bag's receive time; this topic uses receive times")
    plan = Plan(st, (rule.name if rule and rule.name else stream_name(st.topic)), modality,
                use_header, rule.scale if rule else None,
                float(rule.offset) if rule and rule.offset is not None else 0.0)
    if st.msgtype in (C.AUDIO_DATA, C.AUDIO_DATA_STAMPED):
        plan.audio = _audio_format(st, rule, infos, note, what)
    try:
        plan.info = _stream_info(plan)
    except (ValueError, TypeError, AttributeError) as exc:
        note(f"{what}: {exc}; skipped")
        return None
    return plan


def _audio_format(st: TopicStats, rule: TopicRule | None, infos: dict[str, C.AudioFormat],
                  note: Callable[[str], None], what: str) -> C.AudioFormat:
    if rule is not None and rule.info_topic:
        if rule.info_topic in infos:
            return infos[rule.info_topic]
        note(f"{what}: info_topic {rule.info_topic} has no AudioInfo message")
    if rule is not None and rule.sample_rate:
        return C.AudioFormat(rule.sample_rate, rule.channels or 1,
                             rule.sample_format or "S16LE")
    base = st.topic.rsplit("/", 1)[0]
    for cand in (st.topic + "_info", base + "/audio_info", base + "/info"):
        if cand in infos:
            return infos[cand]
    if len(infos) == 1:
        return next(iter(infos.values()))
    note(f"{what}: no AudioInfo topic pairs with it; assumed 16000 Hz mono S16LE (set "
         f"info_topic or sample_rate/channels/sample_format in the topic map)")
    return C.AudioFormat(16000, 1, "S16LE", assumed=True)


def _stream_info(plan: Plan) -> StreamInfo:
    st = plan.stats
    extra = {"ros_topic": st.topic, "ros_type": st.msgtype,
             "time": "header.stamp" if plan.use_header else "bag receive time"}
    if plan.modality == "audio":
        if plan.audio is not None:
            rate, ch = plan.audio.sample_rate, plan.audio.channels
        else:
            first = plan.convert(st.first)
            rate, ch = int(st.first.audio.info.rate), first.shape[1]
        return StreamInfo(plan.stream, "audio", float(rate), (-1, ch), UNITS["audio"],
                          f"ros:{st.topic}", extra)
    first, last = plan.first_t(), plan.last_t()
    rate = (st.count - 1) * NS / (last - first) if st.count > 1 and last > first else 0.0
    if plan.modality == "imu":
        shape: tuple[int, ...] = (-1, 6)
    else:
        shape = tuple(plan.convert(st.first).shape)
        if plan.scale is not None or plan.modality in ("depth", "thermal"):
            extra["scale"] = plan.scale
            extra["encoding"] = str(getattr(st.first, "encoding", "")
                                    or getattr(st.first, "format", ""))
    return StreamInfo(plan.stream, plan.modality, round(rate, 3), shape, UNITS[plan.modality],
                      f"ros:{st.topic}", extra)
