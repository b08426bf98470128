"""librealsense frame timestamps -> the host monotonic clock (pure; see
:mod:`edgebind.sensors.sources.realsense` for where it is used).

librealsense stamps frames in milliseconds (a double) in one of three domains:

- ``system_time`` (host wall clock when the driver got the frame) and ``global_time`` (device clock
  translated by the SDK onto the host wall clock): the frame's age on the wall clock is subtracted
  from its monotonic arrival time; an age outside 0..1 s (wall clock stepped, bogus stamp) falls
  back to the arrival time;
- ``hardware_clock`` (device clock, arbitrary epoch, may wrap or reset): monotonic = device time +
  offset, the offset being the smallest ``arrival - device time`` seen (the frame that waited
  least), allowed to grow by 0.1 % of elapsed device time to follow clock drift, and re-anchored on
  arrival when it jumps by more than 1 s (device reset or wrap);
- recordings (any domain): the first frame is stamped with its monotonic read time and later ones
  keep the recorded spacing, like every file source; a looped recording starts again one frame
  interval after its last stamp.

Stamps never go backwards (a tie or step back becomes last + 1 ns).
"""
from __future__ import annotations

_HOST_DOMAINS = ("system_time", "global_time")


class RealSenseClock:
    """librealsense frame timestamps (ms, per domain) -> host monotonic ns (module docstring)."""

    def __init__(self, playback: bool, *, max_age_ns: int = 1_000_000_000,
                 reanchor_ns: int = 1_000_000_000) -> None:
        self.playback = playback
        self.max_age_ns, self.reanchor_ns = max_age_ns, reanchor_ns
        self._last: int | None = None       # last stamp handed out
        self._prev_ts: int | None = None    # previous frame's device/recorded time, ns
        self._step = 1                      # last recorded frame interval, ns
        self._t0 = self._ts0 = 0            # recording anchor
        self._offset: int | None = None     # hardware clock -> monotonic

    def stamp(self, ts_ms: float, domain: str, arrival_ns: int, wall_ns: int) -> int:
        """Monotonic ns for a frame stamped ``ts_ms`` in ``domain`` (a ``timestamp_domain`` name)
        that arrived at monotonic ``arrival_ns`` / wall-clock ``wall_ns``."""
        ts_ns = round(ts_ms * 1e6)
        if self.playback:
            t = self._recorded(ts_ns, arrival_ns)
        elif domain in _HOST_DOMAINS:
            age = wall_ns - ts_ns
            t = arrival_ns - age if 0 <= age <= self.max_age_ns else arrival_ns
        else:
            t = self._device_clock(ts_ns, arrival_ns)
        if self._last is not None and t <= self._last:
            t = self._last + 1
        self._last, self._prev_ts = t, ts_ns
        return t

    def _recorded(self, ts_ns: int, arrival_ns: int) -> int:
        prev = self._prev_ts
        if prev is None or ts_ns < prev:  # first frame, or the recording started over
            self._t0 = arrival_ns if self._last is None else self._last + self._step
            self._ts0 = ts_ns
        elif ts_ns > prev:
            self._step = ts_ns - prev
        return self._t0 + (ts_ns - self._ts0)

    def _device_clock(self, ts_ns: int, arrival_ns: int) -> int:
        lag = arrival_ns - ts_ns
        if self._offset is None or self._prev_ts is None or abs(lag - self._offset) > \
                self.reanchor_ns:
            self._offset = lag
        else:  # the least-delayed frame sets the offset; 0.1 % slack follows clock drift
            slack = max(0, ts_ns - self._prev_ts) // 1000
            self._offset = min(self._offset + slack, lag)
        return ts_ns + self._offset
