"""Intel RealSense depth through librealsense (``pyrealsense2``): live cameras and recordings.

One :class:`RealSenseDepth` reads the depth stream (librealsense sensors started with callbacks) of

- a live camera: a serial number, ``None`` for the first one, or a ``pyrealsense2`` device
  object (e.g. an ``rs.software_device`` whose frames a program injects: "a camera" to the SDK);
- a recording made by the RealSense SDK (``rs.recorder``, ``realsense-viewer``,
  ``config.enable_record_to_file``): a ROS 1 ``.bag`` (SDK < 2.57) or a rosbag2 ``.db3`` (2.57+).

``align_to="color"`` maps each depth frame into the colour camera's pixel grid with ``rs.align``
(the device must have a colour stream), so depth pixel (u, v) looks at camera pixel (u, v).

Timestamps: each frame's own librealsense timestamp, mapped onto the host monotonic clock per
timestamp domain by :class:`~edgebind.sensors.sources.realsense_clock.RealSenseClock` (the
mapping is written down there).

A recording is played without the SDK's pipeline, whose one-frame queue drops frames whenever
the reader is not waiting (even with ``set_real_time(False)``): the sensors' callbacks hand frames
over through a bounded queue, and when the recording plays as fast as possible
(``realtime=False``) a full queue holds the SDK's reader back, so no frame is lost. A camera, or a
recording played in real time, drops the oldest frame instead and counts it. The end of a
recording (the SDK's playback stopped) ends the stream (``loop`` plays it again); a live camera that
delivers nothing for ``no_frame_s`` (unplugged) is an OSError, so the source reconnects.
"""
from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.sensors.base import EndOfStream
from edgebind.sensors.sources.realsense_clock import RealSenseClock

__all__ = ["ALIGN_TARGETS", "RECORDING_SUFFIXES", "RealSenseClock", "RealSenseDepth",
           "import_pyrealsense2", "is_realsense_recording", "looks_like_realsense"]

RECORDING_SUFFIXES = (".bag", ".db3")
ALIGN_TARGETS = ("color",)


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
    """True when the file is a RealSense SDK recording (sniffed, without librealsense): the
    recording formats' own test (``edgebind.record.formats``), which sends such files here."""
    from edgebind.record.formats import sniff_realsense
    return sniff_realsense(path)


class _Handover:
    """Frames from a librealsense callback thread to the reader, with their arrival times.

    ``block``: the callback waits for room (a recording played as fast as possible: holding the
    SDK's reader back loses nothing); otherwise the oldest frame is dropped and counted (a camera
    cannot be held back). ``close()`` releases a waiting callback so the sensor can stop."""

    def __init__(self, size: int, block: bool) -> None:
        self._q: queue.Queue = queue.Queue(size)
        self.block, self.closed, self.dropped = block, False, 0

    def put(self, frame: Any) -> None:
        item = (frame, time.monotonic_ns(), time.time_ns())
        while not self.closed:
            try:
                if self.block:
                    self._q.put(item, timeout=0.05)
                else:
                    self._q.put_nowait(item)
                return
            except queue.Full:
                if not self.block:
                    try:
                        self._q.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    def get(self, wait_s: float) -> tuple[Any, int, int] | None:
        try:
            return self._q.get(timeout=wait_s) if wait_s > 0 else self._q.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closed = True
        while self.get(0) is not None:  # frames go back to the SDK's pool
            pass


class RealSenseDepth:
    """The depth stream of one RealSense camera or recording (see the module docstring).

    ``open()`` starts the sensors and returns the depth scale (metres per raw unit, from the
    device; None when the device has none); ``read(wait_s)`` returns ``(uint16 H×W, monotonic
    ns)`` or None when no depth frame came within ``wait_s``; ``close()`` stops the sensors.
    ``dropped`` counts frames a camera delivered faster than they were read."""

    def __init__(self, *, device: Any = None, path: str | os.PathLike | None = None,
                 width: int | None = None, height: int | None = None,
                 rate_hz: float | None = None, align_to: str | None = None,
                 realtime: bool = True, loop: bool = False, no_frame_s: float = 1.0) -> None:
        if align_to is not None and align_to not in ALIGN_TARGETS:
            raise ValueError(f"align_to must be one of {ALIGN_TARGETS} or None, got {align_to!r}")
        self.device, self.path = device, None if path is None else str(path)
        self.width, self.height, self.rate_hz = width, height, rate_hz
        self.align_to, self.realtime, self.loop = align_to, realtime, loop
        self.no_frame_s = no_frame_s
        self.rate = 0.0
        self.shape: tuple[int, int] = (-1, -1)  # frames' H×W, known once open
        self._rs: Any = None
        self._ctx = self._dev = self._playback = self._align = self._combine = None
        self._sensors: list[Any] = []
        self._depth_q = self._colour_q = _Handover(1, False)
        self._colour: tuple[Any, float] | None = None  # latest colour frame and its timestamp
        self._clock = RealSenseClock(path is not None)
        self._silent_since = 0.0
        self._dropped_before = 0

    @property
    def dropped(self) -> int:
        return self._dropped_before + self._depth_q.dropped

    def describe(self) -> str:
        if self.path is not None:
            return self.path
        if self.device is None or isinstance(self.device, (str, int)):
            return f"realsense:{self.device if self.device is not None else '(first)'}"
        return f"realsense:{_serial(self._rs, self.device)}"

    # ---- opening --------------------------------------------------------------------------------
    def open(self) -> float | None:
        rs = self._rs = import_pyrealsense2()
        try:
            dev = self._dev = self._find_device(rs)
            depth_sensor, depth = _pick(rs, dev, rs.stream.depth, self.width, self.height,
                                        self.rate_hz, rs.format.z16)
            self.rate = float(depth.fps())
            self.shape = _shape(depth)
            block = self.path is not None and not self.realtime
            self._depth_q, self._colour_q = _Handover(4, block), _Handover(4, block)
            plan = [(depth_sensor, depth, self._depth_q)]
            if self.align_to:
                plan.append(_pick_colour(rs, dev, depth.fps()) + (self._colour_q,))
                self.shape = _shape(plan[-1][1])  # aligned depth takes the colour frame's size
                self._start_combiner(rs)
            self._start(plan)
        except RuntimeError as exc:  # the SDK's own errors, and a stream the device lacks
            self.close()
            raise OSError(f"RealSense {self.describe()}: {exc}") from None
        except OSError:
            self.close()
            raise
        self._silent_since = time.monotonic()
        try:
            return float(depth_sensor.as_depth_sensor().get_depth_scale())
        except RuntimeError:  # a device without the depth-units option: the caller's scale stands
            return None

    def _find_device(self, rs: Any) -> Any:
        if self.path is not None:
            if not os.path.isfile(self.path):
                raise FileNotFoundError(f"{self.path}: no such RealSense recording")
            self._ctx = rs.context()
            dev = self._ctx.load_device(self.path)
            self._playback = dev.as_playback()
            self._playback.set_real_time(bool(self.realtime))
            return dev
        if self.device is not None and not isinstance(self.device, (str, int)):
            return self.device  # a pyrealsense2 device object (software device, or from a context)
        self._ctx = rs.context()
        devices = list(self._ctx.query_devices())
        serials = [_serial(rs, d) for d in devices]
        if self.device is None and devices:
            return devices[0]
        if str(self.device) in serials:
            return devices[serials.index(str(self.device))]
        raise OSError(f"RealSense {self.describe()}: not connected (cameras found: "
                      f"{', '.join(serials) or 'none'})")

    def _start(self, plan: list[tuple[Any, Any, _Handover]]) -> None:
        by_sensor: dict[int, list[tuple[Any, Any, _Handover]]] = {}
        for item in plan:  # one sensor may serve both streams (then it is opened once)
            by_sensor.setdefault(id(item[0]), []).append(item)
        for items in by_sensor.values():
            sensor = items[0][0]
            sensor.open([p for _, p, _ in items] if len(items) > 1 else items[0][1])
            self._sensors.append(sensor)
            routes = {p.unique_id(): q for _, p, q in items}
            sensor.start(lambda f, routes=routes: routes[f.get_profile().unique_id()].put(f))

    def _start_combiner(self, rs: Any) -> None:
        # rs.align works on framesets; a processing block builds one from a depth frame and the
        # colour frame chosen for it (the SDK's syncer pairs recorded frames unreliably)
        self._pairs = rs.frame_queue(1)
        self._pending: Any = None

        def combine(frame: Any, source: Any) -> None:
            source.frame_ready(source.allocate_composite_frame([frame, self._pending]))

        self._combine = rs.processing_block(combine)
        self._combine.start(self._pairs)
        self._align = rs.align(rs.stream.color)

    # ---- reading --------------------------------------------------------------------------------
    def read(self, wait_s: float = 0.1) -> tuple[np.ndarray, int] | None:
        got = self._depth_q.get(wait_s)
        if got is None and self._at_end():
            got = self._depth_q.get(0.05)  # the last frames may still be on their way
            if got is None:
                self._end()
                return None
        if got is None:
            self._no_frame()
            return None
        frame, arrival, wall = got
        ts = frame.get_timestamp()
        domain = frame.get_frame_timestamp_domain().name
        depth = self._aligned(frame, ts) if self._align is not None else frame.as_depth_frame()
        if depth is None:
            return None
        self._silent_since = time.monotonic()
        raw = np.asanyarray(depth.get_data()).copy()
        return raw, self._clock.stamp(ts, domain, arrival, wall)

    def _aligned(self, frame: Any, ts: float) -> Any:
        colour = self._colour_for(ts)
        if colour is None:
            return None  # no colour frame yet: nothing to map this depth frame onto
        self._pending = colour
        self._combine.invoke(frame)
        pair = self._pairs.wait_for_frame(1000).as_frameset()
        self._pending = None
        return self._align.process(pair).get_depth_frame()

    def _colour_for(self, ts: float) -> Any:
        """The first colour frame stamped at or after ``ts`` (the latest one when none is)."""
        while self._colour is None or self._colour[1] < ts:
            got = self._colour_q.get(0.05)
            if got is None:
                break
            self._colour = (got[0], got[0].get_timestamp())
        return None if self._colour is None else self._colour[0]

    def _at_end(self) -> bool:
        return (self._playback is not None
                and self._playback.current_status() == self._rs.playback_status.stopped)

    def _end(self) -> None:
        if not self.loop:
            raise EndOfStream()
        dropped = self.dropped
        self.close()
        self.open()
        self._dropped_before = dropped

    def _no_frame(self) -> None:
        silent = time.monotonic() - self._silent_since
        if self._playback is None and silent > self.no_frame_s:
            raise OSError(f"RealSense {self.describe()}: no frame for {silent:.1f} s (unplugged?)")

    def close(self) -> None:
        self._depth_q.close()
        self._colour_q.close()
        for sensor in self._sensors:
            for step in (sensor.stop, sensor.close):
                try:
                    step()
                except RuntimeError:  # not streaming, or the device is gone
                    pass
        self._sensors = []
        self._colour = None
        self._ctx = self._dev = self._playback = self._align = self._combine = None


def _pick(rs: Any, dev: Any, stream: Any, width: int | None, height: int | None,
          fps: float | None, fmt: Any) -> tuple[Any, Any]:
    """(sensor, profile) of ``dev`` for ``stream``, matching what is given (0/None: any) and
    preferring the device's default profile."""
    found, offered = [], set()
    for sensor in dev.query_sensors():
        for p in sensor.get_stream_profiles():
            if p.stream_type() != stream or not p.is_video_stream_profile():
                continue
            v = p.as_video_stream_profile()
            offered.add(f"{v.width()}x{v.height()}@{p.fps()} {p.format().name}")
            if (fmt is None or p.format() == fmt) and (not width or v.width() == width) and \
                    (not height or v.height() == height) and (not fps or p.fps() == round(fps)):
                found.append((not p.is_default(), len(found), sensor, p))
    if not found:
        want = f"{width or '*'}x{height or '*'}@{fps or '*'}"
        raise RuntimeError(f"no {stream.name} stream {want} (offered: "
                      f"{', '.join(sorted(offered)) or 'none'})")
    _, _, sensor, profile = min(found, key=lambda f: f[:2])
    return sensor, profile


def _pick_colour(rs: Any, dev: Any, fps: int) -> tuple[Any, Any]:
    """The colour stream at the depth stream's rate, else at the device's default."""
    try:
        return _pick(rs, dev, rs.stream.color, None, None, fps, None)
    except RuntimeError:
        return _pick(rs, dev, rs.stream.color, None, None, None, None)


def _shape(profile: Any) -> tuple[int, int]:
    v = profile.as_video_stream_profile()
    return (v.height(), v.width())


def _serial(rs: Any, device: Any) -> str:
    try:
        return str(device.get_info(rs.camera_info.serial_number))
    except (RuntimeError, AttributeError):
        return "device"
