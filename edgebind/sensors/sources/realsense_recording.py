"""A RealSense SDK recording (``.bag``/``.db3``) read like any other recording: ``streams``,
``metadata``, ``summary()``, ``samples()`` (the interface of ``edgebind.record.RecordingReader``),
so a format registry can hand it to replay, calibration and scoring.

It carries one stream, the depth camera (float32 metres, the recording's own depth scale),
optionally aligned to the colour camera. Times are the recorded spacing from 0 at the first frame
(as a ROS bag's are relative to its first message). Frame counts need one pass through the file,
so the first ``summary()`` plays it once (as fast as it reads).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream
from edgebind.sensors.sources.depth import depth_u16_to_metres
from edgebind.sensors.sources.realsense import RealSenseDepth

UNITS = "float32 metres (NaN = invalid)"


class RealSenseRecording:
    """``RealSenseRecording("walk.bag")``: the depth stream of a RealSense SDK recording, named
    ``name``. ``limits`` and ``topics`` are accepted for the registry's sake and unused."""

    def __init__(self, path: str | os.PathLike, limits: Any = None, topics: Any = None, *,
                 name: str = "depth", align_to: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such recording")
        if topics is not None:
            raise ValueError(f"{self.path}: a topic map applies to ROS bags only; this is a "
                             "RealSense SDK recording (its depth stream is read as is)")
        self.name, self.align_to = name, align_to
        reader = self._reader()
        try:
            reader.open()
        finally:
            reader.close()
        self.metadata: dict[str, Any] = {"format": "realsense", "source": str(self.path),
                                          "clock": "recorded frame time - first frame's"}
        self.calibration = None
        self._info = StreamInfo(name, "depth", reader.rate, reader.shape, UNITS,
                                f"realsense:{self.path.name}", {})
        self._counted: tuple[int, int | None, int | None] | None = None

    def _reader(self) -> RealSenseDepth:
        return RealSenseDepth(path=self.path, align_to=self.align_to, realtime=False)

    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {self.name: self._info}

    def samples(self, streams: Iterable[str] | None = None, speed: float | None = None
                ) -> Iterator[Sample]:
        """Depth samples in recorded order; ``speed`` as ``RecordingReader.samples``."""
        if streams is not None and self.name not in set(streams):
            return
        reader = self._reader()
        scale = reader.open() or 0.001
        first: int | None = None
        start = time.monotonic_ns()
        try:
            while True:
                try:
                    got = reader.read()
                except EndOfStream:
                    return
                if got is None:
                    continue
                raw, t = got
                first = t if first is None else first
                rel = t - first
                if speed:
                    delay = start + rel / speed - time.monotonic_ns()
                    if delay > 0:
                        time.sleep(delay / 1e9)
                yield Sample(self.name, "depth", rel, depth_u16_to_metres(raw, scale))
        finally:
            reader.close()

    def __iter__(self) -> Iterator[Sample]:
        return self.samples()

    def summary(self) -> Any:
        from edgebind.record.reader import ChannelStats, Summary

        count, first, last = self._count()
        ch = ChannelStats(self.name, "/device_0/sensor_0/Depth_0/image/data", "depth",
                          "realsense depth z16", count, first, last)
        return Summary(path=str(self.path), file_size=self.path.stat().st_size, complete=True,
                       truncated_at=None, last_complete_chunk_end=None, chunk_count=0,
                       channels={self.name: ch}, metadata=self.metadata)

    def _count(self) -> tuple[int, int | None, int | None]:
        if self._counted is None:
            n, first, last = 0, None, None
            for s in self.samples():
                n, first, last = n + 1, s.t_ns if first is None else first, s.t_ns
            self._counted = (n, first, last)
        return self._counted

    def close(self) -> None:
        """Nothing stays open between calls (each ``samples()`` opens its own playback)."""

    def __enter__(self) -> RealSenseRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
