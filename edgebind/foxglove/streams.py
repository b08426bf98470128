"""Per-stream publishers of the Foxglove bridge: what one sensor sample becomes on its topics.

Each ``offer(sample)`` runs on the capture thread that delivered the sample, so it is cheap
unless a client is watching: a topic nobody subscribes to costs one ``has_sinks()`` call and
nothing is encoded; a watched one is published at most ``max_hz`` times a second (images:
the newest frame when due; audio level and IMU: aggregates of every sample since the last
message, so no peak is missed between two messages).
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable

import numpy as np

from edgebind.foxglove.topics import Topic
from edgebind.record.preview import colourise
from edgebind.sample import Sample, StreamInfo

# sample t_ns (host monotonic) -> wall-clock ns for Foxglove's timeline
Clock = Callable[[int], int]


def stamp(t_ns: int) -> dict[str, int]:
    return {"sec": t_ns // 1_000_000_000, "nsec": t_ns % 1_000_000_000}


class Due:
    """At most ``max_hz`` passes a second (monotonic clock); None lets everything through."""

    def __init__(self, max_hz: float | None):
        self.period_ns = 0 if not max_hz else int(1e9 / max_hz)
        self.next_ns = 0

    def __call__(self) -> bool:
        if not self.period_ns:
            return True
        now = time.monotonic_ns()
        if now < self.next_ns:
            return False
        # Keeps the cap on average for a source slightly faster than it (15 fps → 10, not
        # 7.5); after a pause at most one extra message, never a catch-up burst.
        self.next_ns = max(self.next_ns + self.period_ns, now)
        return True


class Publisher:
    """One topic of one stream: its SDK channel, rate cap and counters."""

    def __init__(self, topic: Topic, channel: Any, info: StreamInfo, clock: Clock,
                 frame: str):
        self.topic, self.channel, self.info, self.clock = topic, channel, info, clock
        self.frame = frame
        self.due = Due(topic.max_hz)
        self.lock = threading.Lock()
        self.published = 0
        self.limited = 0
        self.reset()

    def watched(self) -> bool:
        return bool(self.channel.has_sinks())

    def offer(self, sample: Sample) -> None:
        if not self.watched():
            self.reset()
            return
        with self.lock:
            self.add(sample)
            if not self.due():
                self.limited += 1
                return
            self.publish(sample)
            self.published += 1

    # -- what each kind overrides ----------------------------------------------------------
    def reset(self) -> None:
        """Drop any aggregate (nobody is watching)."""

    def add(self, sample: Sample) -> None:
        """Fold a sample into the aggregate (every sample, watched or rate-limited)."""

    def publish(self, sample: Sample) -> None:
        raise NotImplementedError


class ImagePublisher(Publisher):
    """``foxglove.RawImage``: the raw values (rgb8, mono8, 16UC1 millimetres, 32FC1 metres or
    kelvin), or with ``topic.kind == "preview"`` the colour-mapped RGB8 view of a depth or
    thermal frame."""

    def publish(self, sample: Sample) -> None:
        from foxglove.messages import RawImage, Timestamp
        from edgebind.record.schemas import IMAGE_ENCODINGS, image_encoding
        data = sample.data
        if self.topic.kind == "preview":
            data = colourise(data, self.info.modality)
        enc = image_encoding(data)
        dt, ch = IMAGE_ENCODINGS[enc]
        data = np.ascontiguousarray(data, dtype=np.dtype(dt))
        h, w = data.shape[:2]
        t = self.clock(sample.t_ns)
        self.channel.log(RawImage(timestamp=Timestamp(t // 1_000_000_000, t % 1_000_000_000),
                                  frame_id=self.frame, width=w, height=h, encoding=enc,
                                  step=w * ch * data.itemsize, data=data.tobytes()),
                         log_time=t)


class LevelPublisher(Publisher):
    """``edgebind.AudioLevel``: RMS and peak (linear and dBFS) of every frame since the last
    message."""

    def reset(self) -> None:
        self.sq, self.peak, self.frames = 0.0, 0.0, 0

    def add(self, sample: Sample) -> None:
        a = np.asarray(sample.data, dtype=np.float32)
        if a.size:
            self.sq += float(np.dot(a.ravel(), a.ravel()))
            self.peak = max(self.peak, float(np.max(np.abs(a))))
            self.frames += a.shape[0]

    def publish(self, sample: Sample) -> None:
        n = max(1, self.frames * (sample.data.shape[1] if sample.data.ndim == 2 else 1))
        rms = math.sqrt(self.sq / n)
        db = (lambda x: round(20 * math.log10(x), 2) if x > 1e-10 else -200.0)
        t = self.clock(sample.t_ns)
        self.channel.log({"timestamp": stamp(t), "rms": rms, "peak": self.peak,
                          "rms_dbfs": db(rms), "peak_dbfs": db(self.peak),
                          "frames": self.frames}, log_time=t)
        self.reset()


class ImuPublisher(Publisher):
    """``edgebind.Imu``: the mean of the rows since the last message."""

    def reset(self) -> None:
        self.total, self.rows = np.zeros(6, dtype=np.float64), 0

    def add(self, sample: Sample) -> None:
        a = np.asarray(sample.data, dtype=np.float64).reshape(-1, 6)
        self.total += a.sum(axis=0)
        self.rows += a.shape[0]

    def publish(self, sample: Sample) -> None:
        m = self.total / max(1, self.rows)
        t = self.clock(sample.t_ns)
        self.channel.log({"timestamp": stamp(t), "frame_id": self.frame,
                          "linear_acceleration": dict(zip("xyz", map(float, m[:3]))),
                          "angular_velocity": dict(zip("xyz", map(float, m[3:]))),
                          "rows": self.rows}, log_time=t)
        self.reset()


PUBLISHERS: dict[str, type[Publisher]] = {"raw_image": ImagePublisher,
                                           "preview": ImagePublisher,
                                           "level": LevelPublisher, "imu": ImuPublisher}
