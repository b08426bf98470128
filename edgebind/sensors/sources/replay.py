"""Replay of a recording (``edgebind.record``: EdgeBind MCAP or a ROS bag, ``topics`` = its
topic map) as a live-looking, multi-stream source.

``speed``: 1 = real time (the recorded spacing, paced on the monotonic clock), 2 = twice as fast,
0 = as fast as possible. ``rebase``: False keeps the recorded timestamps (bit-exact replays,
offline evaluation); True shifts every stream by one constant so the first sample is stamped
"now" (for consumers that compare stamps with ``time.monotonic_ns()``, as live pipelines do).
Spacing between samples is preserved either way. ``loop`` plays the file again at its end
(with ``rebase`` the stamps keep increasing). A recording cut off by a power loss plays up to
its last complete chunk; ``skipped`` (and the health's ``last_error``) say what was left out.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream, Source


class ReplaySource(Source):
    kind = "replay"

    def __init__(self, path: str | os.PathLike, *, name: str = "replay", speed: float = 1.0,
                 streams: list[str] | None = None, rebase: bool = False, loop: bool = False,
                 topics: str | os.PathLike | None = None, **kw) -> None:
        super().__init__(**kw)
        if not speed >= 0:
            raise ValueError(f"replay {name!r}: speed must be >= 0 (0 = as fast as possible), "
                             f"got {speed!r}")
        if loop and not rebase:
            raise ValueError(f"replay {name!r}: loop needs rebase=true (timestamps would repeat)")
        self.path, self.name, self.speed = Path(path), name, float(speed)
        self.want = list(streams) if streams is not None else None
        self.rebase, self.loop = rebase, loop
        self.topics = topics   # a ROS bag's topic map (edgebind.record.ros.topics)
        self._rep = None
        self._it: Iterator[Sample] | None = None
        self._infos: list[StreamInfo] = []
        self._t0: tuple[int, int] | None = None  # (recorded t of the first sample, monotonic then)
        self._base = 0  # recorded ns already played in earlier loops
        self._last_rel = 0
        self.skipped: list[str] = []  # what the reader could not use (a cut-off file, ...)
        # Learn the streams now so `streams` is right before start. Opening scans the whole
        # file, so the open reader is kept for the first start instead of scanning twice.
        self._fresh = False
        try:
            self._open()
            self._fresh = True
        except Exception:  # noqa: BLE001  (errors surface again, with health, in start)
            self._close()

    def _stream_infos(self) -> list[StreamInfo]:
        return list(self._infos)

    def _open(self) -> None:
        from edgebind.record import open_recording

        if self._fresh and self._rep is not None:  # opened by the constructor, not yet played
            self._fresh = False
            return
        self._fresh = False
        rep = open_recording(self.path, topics=self.topics)
        try:
            infos = rep.streams
            if self.want is not None:
                missing = [s for s in self.want if s not in infos]
                if missing:
                    raise ValueError(f"{self.path}: no stream(s) {missing}; it has "
                                     f"{sorted(infos)}")
                infos = {k: v for k, v in infos.items() if k in self.want}
            self._infos = list(infos.values())
            self.skipped = rep.summary().skipped
            if self.skipped:  # still plays everything readable; the health says what is not
                self._note_problem(None, f"{self.path}: {self.skipped[0]}")
            self._it = rep.samples(streams=list(infos), speed=None)
            self._t0, self._base, self._last_rel = None, 0, 0
        except BaseException:
            rep.close()
            raise
        self._rep = rep

    def _close(self) -> None:
        self._fresh = False
        rep, self._rep, self._it = self._rep, None, None
        if rep is not None:
            rep.close()

    def _read(self) -> list[Sample]:
        if self._it is None:
            raise OSError(f"{self.path}: not open")
        s = next(self._it, None)
        if s is None:
            if self._rep is not None:   # undecodable messages are found while playing
                self.skipped = self._rep.summary().skipped
            if not self.loop:
                raise EndOfStream()
            # Play again, continuing just after the last sample so stamps keep increasing.
            keep = (self._t0, self._last_rel + 1_000_000, self._last_rel)
            self._close()
            self._open()
            self._t0, self._base, self._last_rel = keep
            s = next(self._it, None)
            if s is None:
                raise EndOfStream()
        if self._t0 is None:
            self._t0 = (s.t_ns, time.monotonic_ns())
        rec_first, mono_first = self._t0
        rel = s.t_ns - rec_first + self._base  # recorded time since the first sample played
        self._last_rel = max(self._last_rel, rel)
        if self.speed > 0 and not self._wait_until(mono_first + round(rel / self.speed)):
            return []
        if self.rebase:
            shift = mono_first + rel - s.t_ns
            s.t_ns = int(s.t_ns + shift)
            if s.row_t_ns is not None:
                s.row_t_ns = s.row_t_ns + shift
        return [s]
