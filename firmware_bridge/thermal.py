"""Reassembly of fragmented thermal frames (PROTOCOL.md §3, 0x11)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .messages import ThermalFragment


@dataclass
class AssembledFrame:
    frame_id: int
    capture_us: int
    kelvin: np.ndarray  # float32 H×W
    raw: np.ndarray  # uint16 H×W, as sent


@dataclass
class AssemblerStats:
    frames_complete: int = 0
    frames_dropped: int = 0  # incomplete when given up on
    frames_timed_out: int = 0  # of those, given up on because they stayed incomplete too long
    fragments: int = 0
    fragments_inconsistent: int = 0  # geometry disagrees with the frame's first fragment
    fragments_late: int = 0  # arrived after their frame was given up on


class ThermalAssembler:
    """Collects fragments of one frame at a time; a frame is delivered only when complete.

    Fragments are sent in order, frame after frame, so a fragment with a different frame id ends
    the current frame: if it is incomplete it is dropped (only that frame). A frame still
    incomplete ``timeout_s`` after its first fragment arrived is dropped too (PROTOCOL.md §3,
    0x11), by :meth:`expire` or the next :meth:`add`; fragments of it that arrive later are
    ignored. Times are host ``time.monotonic_ns()`` unless passed in. ``dropped_ids`` keeps the ids
    of the most recent dropped frames for diagnostics.
    """

    def __init__(self, keep_dropped_ids: int = 256, timeout_s: float = 2.0) -> None:
        self.stats = AssemblerStats()
        self.dropped_ids: list[int] = []
        self.timeout_ns = int(timeout_s * 1e9)
        self._keep = keep_dropped_ids
        self._cur: ThermalFragment | None = None
        self._started_ns = 0
        self._given_up: int | None = None  # id of the last frame dropped for lateness
        self._pixels: np.ndarray | None = None
        self._have: np.ndarray | None = None

    def _drop_current(self) -> None:
        if self._cur is not None:
            self.stats.frames_dropped += 1
            self.dropped_ids.append(self._cur.frame_id)
            del self.dropped_ids[: -self._keep]
        self._cur = None

    def reset(self) -> None:
        """Give up on the frame in progress (e.g. after a disconnect: frame ids may restart)."""
        self._drop_current()
        self._given_up = None

    def expire(self, now_ns: int | None = None) -> bool:
        """Drops the frame in progress if it has been incomplete for longer than the timeout;
        True if it did."""
        if self._cur is None:
            return False
        now = time.monotonic_ns() if now_ns is None else now_ns
        if now - self._started_ns <= self.timeout_ns:
            return False
        self._given_up = self._cur.frame_id
        self.stats.frames_timed_out += 1
        self._drop_current()
        return True

    def add(self, frag: ThermalFragment, now_ns: int | None = None) -> AssembledFrame | None:
        """Adds a fragment that arrived at ``now_ns``; returns the frame it completed, if any."""
        now = time.monotonic_ns() if now_ns is None else now_ns
        self.stats.fragments += 1
        self.expire(now)
        if frag.frame_id == self._given_up:
            self.stats.fragments_late += 1
            return None
        cur = self._cur
        if cur is None or frag.frame_id != cur.frame_id:
            self._drop_current()
            self._given_up = None
            self._started_ns = now
            n = frag.width * frag.height
            self._cur = cur = frag
            self._pixels = np.zeros(n, dtype=np.uint16)
            self._have = np.zeros(frag.count, dtype=bool)
        elif (frag.width, frag.height, frag.count) != (cur.width, cur.height, cur.count):
            self.stats.fragments_inconsistent += 1
            return None
        end = frag.pixel_offset + len(frag.pixels)
        self._pixels[frag.pixel_offset:end] = frag.pixels
        self._have[frag.index] = True
        if not self._have.all():
            return None
        raw = self._pixels.reshape(cur.height, cur.width)
        kelvin = raw.astype(np.float32) * np.float32(cur.scale) + np.float32(cur.offset)
        self._cur = None
        self.stats.frames_complete += 1
        return AssembledFrame(cur.frame_id, cur.capture_us, kelvin, raw)
