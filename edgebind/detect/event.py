"""The event record and its versioned JSON form, ``"schema": "edgebind.event/1"``
(JSON Schema: edgebind/detect/event.schema.json; prose: docs/detection.md)."""
from __future__ import annotations

import datetime as _dt
import math
import time
from dataclasses import dataclass, field
from typing import Any

EVENT_SCHEMA = "edgebind.event/1"
STATES = ("start", "end", "instant")


def monotonic_to_wall_ns(t_ns: int, now_mono_ns: int | None = None, now_wall_ns: int | None = None) -> int:
    """Map a host-monotonic time to wall-clock ns through the current offset between the clocks."""
    mono = time.monotonic_ns() if now_mono_ns is None else now_mono_ns
    wall = time.time_ns() if now_wall_ns is None else now_wall_ns
    return wall - (mono - int(t_ns))


def iso_utc(wall_ns: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.123Z (for people, not for math)."""
    t = _dt.datetime.fromtimestamp(wall_ns / 1e9, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


@dataclass
class Event:
    """One detection. ``start`` opens an interval, ``end`` closes it (with ``end_ns`` and the peak
    score), ``instant`` is an onset reported once. Times are host-monotonic ns; ``wall_*`` are
    the same instants on the wall clock for people."""

    name: str
    state: str
    start_ns: int
    end_ns: int | None
    t_ns: int                       # the window end at which the detector decided this
    score: float                    # decision value (start/instant: at onset; end: the peak)
    threshold: float                # the on-level it was compared against
    decision: str                   # threshold | margin | softmax
    evidence: dict[str, float]      # per-modality cosine to the anchor
    streams: tuple[str, ...]
    space_id: str
    seq: int                        # per-detector counter; start and end of one interval share it
    similarity: float = float("nan")  # fused cosine (the decision value's raw input)
    wall_start_ns: int | None = None
    wall_end_ns: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}#{self.seq}"

    @property
    def duration_s(self) -> float | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        d = {
            "schema": EVENT_SCHEMA, "id": self.id, "name": self.name, "state": self.state,
            "start_ns": int(self.start_ns), "end_ns": None if self.end_ns is None else int(self.end_ns),
            "t_ns": int(self.t_ns),
            "start_time": None if self.wall_start_ns is None else iso_utc(self.wall_start_ns),
            "end_time": None if self.wall_end_ns is None else iso_utc(self.wall_end_ns),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
            "score": _num(self.score), "threshold": _num(self.threshold), "decision": self.decision,
            "similarity": _num(self.similarity),
            "evidence": {m: _num(v) for m, v in self.evidence.items()},
            "streams": list(self.streams), "space_id": self.space_id,
        }
        if self.extra:
            d["extra"] = dict(self.extra)
        return d
