"""What the Foxglove bridge publishes: one topic per view of a stream, its schema and its
rate cap. Pure data (no SDK import), shared by the bridge, the layout and the docs.

Images use Foxglove's own ``foxglove.RawImage`` (protobuf, as the SDK encodes it); the
plot-friendly values are JSON with the JSON schemas below, so any Plot panel path reads
them (``/mic/level.rms_dbfs``, ``/edgebind/scores.scores.door_knock``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgebind.sample import StreamInfo

IMAGE_MODALITIES = ("vision", "depth", "thermal")
VIEWABLE = ("depth", "thermal")       # float images that also get an 8-bit preview

# Rate caps (messages per second per topic): images are the expensive ones.
IMAGE_FPS = 10.0
LEVEL_HZ = 20.0
IMU_HZ = 50.0
HEALTH_S = 1.0

SCORES = "/edgebind/scores"
EVENTS = "/edgebind/events"
LOG = "/edgebind/log"
HEALTH = "/edgebind/health"

_TIME = {"type": "object", "properties": {"sec": {"type": "integer"},
                                          "nsec": {"type": "integer"}}}
_XYZ = {"type": "object", "properties": {k: {"type": "number"} for k in "xyz"}}
_MAP = {"type": "object", "additionalProperties": {"type": "number"}}

JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "edgebind.AudioLevel": {
        "type": "object", "title": "edgebind.AudioLevel",
        "description": "Level of the audio since the previous message (all channels)",
        "properties": {"timestamp": _TIME, "rms": {"type": "number"},
                       "peak": {"type": "number"}, "rms_dbfs": {"type": "number"},
                       "peak_dbfs": {"type": "number"}, "frames": {"type": "integer"}}},
    "edgebind.Imu": {
        "type": "object", "title": "edgebind.Imu",
        "description": "Mean of the IMU rows since the previous message: linear acceleration "
                       "m/s², angular velocity rad/s (REP 103 axes when the source follows it)",
        "properties": {"timestamp": _TIME, "frame_id": {"type": "string"},
                       "linear_acceleration": _XYZ, "angular_velocity": _XYZ,
                       "rows": {"type": "integer"}}},
    "edgebind.Scores": {
        "type": "object", "title": "edgebind.Scores",
        "description": "One window's decision value per anchor, its on-level and whether the "
                       "anchor's event is active (1) or not (0)",
        "properties": {"timestamp": _TIME, "t_start_ns": {"type": "integer"},
                       "t_end_ns": {"type": "integer"}, "scores": _MAP, "levels": _MAP,
                       "active": _MAP}},
    "edgebind.Event": {
        "type": "object", "title": "edgebind.Event",
        "description": "A detection as the sinks get it (edgebind.event/1; docs/sinks.md)"},
    "edgebind.Health": {
        "type": "object", "title": "edgebind.Health",
        "description": "The daemon's /healthz document (docs/daemon.md)"},
}


@dataclass(frozen=True)
class Topic:
    """One published topic: ``kind`` is ``raw_image``, ``preview``, ``level``, ``imu`` (per
    stream) or ``scores``, ``events``, ``log``, ``health``; ``schema`` a Foxglove schema name or
    a key of ``JSON_SCHEMAS``; ``max_hz`` its rate cap (None: every message)."""

    topic: str
    kind: str
    schema: str
    stream: str = ""
    max_hz: float | None = None


def stream_topics(info: StreamInfo, image_fps: float = IMAGE_FPS) -> list[Topic]:
    """The topics of one stream; none for a modality the bridge does not show."""
    base = info.stream if info.stream.startswith("/") else "/" + info.stream
    m = info.modality
    if m in IMAGE_MODALITIES:
        out = [Topic(f"{base}/image", "raw_image", "foxglove.RawImage", info.stream, image_fps)]
        if m in VIEWABLE:
            out.append(Topic(f"{base}/preview", "preview", "foxglove.RawImage", info.stream,
                             image_fps))
        return out
    if m == "audio":
        return [Topic(f"{base}/level", "level", "edgebind.AudioLevel", info.stream, LEVEL_HZ)]
    if m == "imu":
        return [Topic(f"{base}/imu", "imu", "edgebind.Imu", info.stream, IMU_HZ)]
    return []


def pipeline_topics() -> list[Topic]:
    return [Topic(SCORES, "scores", "edgebind.Scores"),
            Topic(EVENTS, "events", "edgebind.Event"),
            Topic(LOG, "log", "foxglove.Log"),
            Topic(HEALTH, "health", "edgebind.Health", max_hz=1.0 / HEALTH_S)]


def all_topics(infos: list[StreamInfo], image_fps: float = IMAGE_FPS) -> list[Topic]:
    return [t for i in infos for t in stream_topics(i, image_fps)] + pipeline_topics()


def frame_id(info: StreamInfo) -> str:
    """The stream's frame (``edgebind.record.schemas.frame_id_for``: REP 103/105 names)."""
    from edgebind.record.schemas import frame_id_for
    return frame_id_for(info)
