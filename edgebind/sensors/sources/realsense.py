"""Intel RealSense depth through librealsense (``pyrealsense2``): live cameras and recordings.

One :class:`RealSenseDepth` reads the depth stream of a librealsense pipeline opened on

- a live camera: a serial number, ``None`` for the first one, or a ``pyrealsense2`` device
  object (e.g. an ``rs.software_device`` whose frames a program injects: "a camera" to the SDK);
- a recording made by the RealSense SDK (``rs.recorder``, ``realsense-viewer``,
  ``config.enable_record_to_file``): a ROS 1 ``.bag`` (SDK < 2.57) or a rosbag2 ``.db3`` (2.57+).

``align_to="color"`` maps each depth frame into the colour camera's pixel grid with ``rs.align``
(the device must have a colour stream), so depth pixel (u, v) looks at camera pixel (u, v).

Timestamps. librealsense stamps frames in milliseconds in one of three domains; EdgeBind stamps on
the host monotonic clock (:class:`RealSenseClock`):

- ``system_time`` (host wall clock when the driver got the frame) and ``global_time`` (device clock
  translated by the SDK onto the host wall clock): the frame's age on the wall clock is subtracted
  from the monotonic arrival time; an age outside 0..1 s (wall clock stepped, bogus stamp) falls
  back to the arrival time;
- ``hardware_clock`` (device clock, arbitrary epoch, may wrap or reset): monotonic = device time +
  offset, the offset being the smallest ``arrival − device time`` seen (the frame that waited least),
  allowed to grow by 0.1 % of elapsed time to follow clock drift and re-anchored when it jumps by
  more than 1 s (device reset or wrap);
- recordings: the first frame is stamped with its monotonic read time and later ones keep the
  recorded spacing (like every file source); a loop starts again one frame interval later.

Stamps never go backwards. A recording's end (the SDK's playback stopped) ends the stream; a live
camera that delivers nothing for ``no_frame_s`` (unplugged) is an OSError, so the source reconnects.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.sensors.base import EndOfStream

RECORDING_SUFFIXES = (".bag", ".db3")
ALIGN_TARGETS = ("color",)
_HOST_DOMAINS = ("system_time", "global_time")


def import_pyrealsense2() -> Any:
    """The ``pyrealsense2`` module, or an OSError that says how to install it."""
    try:
        import pyrealsense2 as rs
    except ImportError as exc:
        hint = (" (its libusb-1.0 library is missing: apt-get install libusb-1.0-0)"
                if "libusb" in str(exc) else "")
        raise OSError("backend 'realsense' needs the pyrealsense2 package "
                      f"(pip install pyrealsense2){hint}") from None
    return rs


def is_realsense_recording(path: str | os.PathLike) -> bool:
    """True for a path that names a RealSense SDK recording by its suffix (.bag or .db3)."""
    return Path(path).suffix.lower() in RECORDING_SUFFIXES


def looks_like_realsense(path: str | os.PathLike) -> bool:
    """True when the file is a RealSense SDK recording (sniffed, without librealsense): a ROS 1
    bag or rosbag2 sqlite file whose topics are the SDK's ``/device_0/...``. Cheap enough for a
    format registry to ask of every ``.bag``/``.db3`` it is given."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    if head.startswith(b"#ROSBAG V2.0"):
        return b"/device_0/" in head
    if head.startswith(b"SQLite format 3\x00"):
        import sqlite3

        try:
            with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as db:
                names = [r[0] for r in db.execute("SELECT name FROM topics")]
        except sqlite3.Error:
            return False
        return any(n.startswith("/device_0/") for n in names)
    return False


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


class RealSenseDepth:
    """The depth stream of one RealSense camera or recording (see the module docstring).

    ``open()`` starts the SDK pipeline and returns the depth scale (metres per raw unit, from the
    device; None when the device has none); ``read(wait_s)`` returns ``(uint16 H×W, monotonic ns)`` or None when no new depth
    frame came within ``wait_s``; ``close()`` stops the pipeline."""

    def __init__(self, *, device: Any = None, path: str | None = None, width: int | None = None,
                 height: int | None = None, rate_hz: float | None = None,
                 align_to: str | None = None, realtime: bool = True, loop: bool = False,
                 no_frame_s: float = 1.0) -> None:
        if align_to is not None and align_to not in ALIGN_TARGETS:
            raise ValueError(f"align_to must be one of {ALIGN_TARGETS} or None, got {align_to!r}")
        self.device, self.path = device, path
        self.width, self.height, self.rate_hz = width, height, rate_hz
        self.align_to, self.realtime, self.loop = align_to, realtime, loop
        self.no_frame_s = no_frame_s
        self.rate = 0.0
        self._pipe: Any = None
        self._playback: Any = None
        self._align: Any = None
        self._rs: Any = None
        self._last_frame: tuple[int, float] | None = None
        self._clock = RealSenseClock(path is not None)
        self._silent_since = 0.0

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        if self.device is None or isinstance(self.device, (str, int)):
            return f"realsense:{self.device if self.device is not None else '(first)'}"
        return f"realsense:{_serial(self._rs, self.device)}"

    def open(self) -> float | None:
        rs = self._rs = import_pyrealsense2()
        if self.path is not None and not os.path.isfile(self.path):
            raise FileNotFoundError(f"{self.path}: no such RealSense recording")
        pipe, cfg = rs.pipeline(), rs.config()
        if self.path is not None:
            cfg.enable_device_from_file(self.path, repeat_playback=self.loop)
            cfg.enable_stream(rs.stream.depth)
        else:
            if isinstance(self.device, (str, int)):
                cfg.enable_device(str(self.device))
            elif self.device is not None:  # a device object: software device, or from a context
                pipe.set_device(self.device)
            cfg.enable_stream(rs.stream.depth, int(self.width or 0), int(self.height or 0),
                              rs.format.z16, int(self.rate_hz or 0))
        if self.align_to:
            cfg.enable_stream(rs.stream.color)
        try:
            profile = pipe.start(cfg)
        except RuntimeError as exc:
            raise OSError(f"RealSense {self.describe()}: {exc}") from None
        self._pipe = pipe
        dev = profile.get_device()
        if self.path is not None:
            self._playback = dev.as_playback()
            self._playback.set_real_time(bool(self.realtime))
        self._align = rs.align(rs.stream.color) if self.align_to else None
        depth = profile.get_stream(rs.stream.depth)
        self.rate = float(depth.fps())
        self._silent_since = time.monotonic()
        try:
            return float(dev.first_depth_sensor().get_depth_scale())
        except RuntimeError:  # a device without the depth-units option: the caller's scale stands
            return None

    def read(self, wait_s: float = 0.1) -> tuple[np.ndarray, int] | None:
        ok, frames = self._pipe.try_wait_for_frames(max(1, int(wait_s * 1000)))
        arrival, wall = time.monotonic_ns(), time.time_ns()
        if not ok:
            self._no_frame()
            return None
        if self._align is not None:
            if not frames.get_color_frame():  # a set from before colour started: nothing to map to
                return None
            frames = self._align.process(frames)
        depth = frames.get_depth_frame()
        if not depth:
            return None
        key = (depth.get_frame_number(), depth.get_timestamp())
        if key == self._last_frame:  # the syncer repeats the latest depth with each colour frame
            return None
        self._last_frame = key
        self._silent_since = time.monotonic()
        domain = depth.get_frame_timestamp_domain().name
        t_ns = self._clock.stamp(key[1], domain, arrival, wall)
        return np.asanyarray(depth.get_data()).copy(), t_ns

    def _no_frame(self) -> None:
        if self._playback is not None:
            if self._playback.current_status() == self._rs.playback_status.stopped:
                raise EndOfStream()
            return
        silent = time.monotonic() - self._silent_since
        if silent > self.no_frame_s:
            raise OSError(f"RealSense {self.describe()}: no frame for {silent:.1f} s (unplugged?)")

    def close(self) -> None:
        pipe, self._pipe = self._pipe, None
        self._playback = self._align = None
        if pipe is not None:
            try:
                pipe.stop()
            except RuntimeError:  # never started or the device is gone: nothing to stop
                pass


def _serial(rs: Any, device: Any) -> str:
    try:
        return str(device.get_info(rs.camera_info.serial_number))
    except (RuntimeError, AttributeError):
        return "device"
