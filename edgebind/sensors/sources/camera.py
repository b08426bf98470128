"""Cameras through OpenCV: a device index, a video file, an image sequence, a URL (RTSP/HTTP) or a
GStreamer pipeline (Jetson CSI cameras: :func:`jetson_csi_pipeline`). Frames are uint8 H×W×3 RGB.

Timestamps: live devices are stamped with ``time.monotonic_ns()`` right after ``grab()`` returns
(the moment the driver handed the frame over). Files and image sequences are stamped
``t0 + i / rate_hz`` (``t0`` = when the first frame was read): with ``realtime=True`` they are also
delivered at that pace, with ``realtime=False`` as fast as possible.
"""
from __future__ import annotations

import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream, Source, with_shape
from edgebind.sensors.sources._files import FramePacer, is_sequence_pattern, list_sequence
from edgebind.sensors.sources._renamed import renamed

DEFAULT_FILE_FPS = 30.0

BACKENDS = ("auto", "v4l2", "ffmpeg", "gstreamer", "images")


def jetson_csi_pipeline(sensor_id: int = 0, width: int = 1280, height: int = 720,
                        rate_hz: float | None = None, flip_method: int = 0,
                        capture_width: int | None = None, capture_height: int | None = None,
                        sensor_mode: int | None = None, *, fps: float | None = None) -> str:
    """The GStreamer pipeline string for a MIPI CSI camera on a Jetson (``nvarguscamerasrc``).

    The ISP captures at ``capture_width×capture_height`` (default: the output size) in NVMM
    memory, ``nvvidconv`` scales/flips (``flip_method`` 0-7: 0 none, 2 rotate 180°, 4 flip
    horizontally, ...) and converts to BGRx, ``videoconvert`` to BGR for OpenCV, and ``appsink``
    keeps only the newest frame (``drop=true max-buffers=1``) so a slow reader never builds up
    latency. Open it with ``CameraSource(pipeline=...)`` (OpenCV must be built with GStreamer, as
    JetPack's ``python3-opencv`` is). ``rate_hz`` defaults to 30 (``fps``: its old name).
    """
    rate_hz = renamed(rate_hz, fps, "rate_hz", "fps", "jetson_csi_pipeline")
    rate_hz = 30.0 if rate_hz is None else rate_hz
    for key, val in (("sensor_id", sensor_id), ("width", width), ("height", height),
                     ("flip_method", flip_method)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 0:
            raise ValueError(f"jetson_csi_pipeline: {key} must be a non-negative integer, got {val!r}")
    if not 0 <= flip_method <= 7:
        raise ValueError(f"jetson_csi_pipeline: flip_method must be 0..7, got {flip_method}")
    if not rate_hz > 0:
        raise ValueError(f"jetson_csi_pipeline: rate_hz must be positive, got {rate_hz!r}")
    rate = Fraction(rate_hz).limit_denominator(1001)
    cw, ch = capture_width or width, capture_height or height
    mode = f" sensor-mode={sensor_mode}" if sensor_mode is not None else ""
    return (f"nvarguscamerasrc sensor-id={sensor_id}{mode} ! "
            f"video/x-raw(memory:NVMM), width=(int){cw}, height=(int){ch}, "
            f"framerate=(fraction){rate.numerator}/{rate.denominator}, format=(string)NV12 ! "
            f"nvvidconv flip-method={flip_method} ! "
            f"video/x-raw, width=(int){width}, height=(int){height}, format=(string)BGRx ! "
            "videoconvert ! video/x-raw, format=(string)BGR ! "
            "appsink drop=true max-buffers=1 sync=false")


def opencv_has_gstreamer() -> bool:
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line.split(":", 1)[1]
    return False


def request_format(cap, width: int | None, height: int | None, rate_hz: float | None) -> None:
    """Ask a live cv2.VideoCapture for a frame size and rate (the driver may round them)."""
    import cv2

    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                        (cv2.CAP_PROP_FPS, rate_hz)):
        if value:
            cap.set(prop, value)


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV's BGR / BGRA / gray frame -> uint8 H×W×3 RGB (a new, contiguous array)."""
    import cv2

    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    if frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    raise ValueError(f"unexpected camera frame shape {frame.shape}")


class CameraSource(Source):
    """One camera stream. Give exactly one of ``device`` (index or ``/dev/videoN``), ``path``
    (video file, ``frames/%04d.png`` or ``frames/*.png``), ``url`` or ``pipeline``.

    ``width``/``height``/``rate_hz`` (frames per second) are requested from live devices (what
    the driver grants is reported in :attr:`streams` after opening); for image sequences
    ``rate_hz`` sets the frame rate (default 30), for video files it overrides the file's.
    ``loop`` restarts files at their end. ``fps`` is the old name of ``rate_hz``.
    """

    kind = "camera"

    def __init__(self, name: str = "camera", *, device: int | str | None = None,
                 path: str | os.PathLike | None = None, url: str | None = None,
                 pipeline: str | None = None, width: int | None = None,
                 height: int | None = None, rate_hz: float | None = None, realtime: bool = True,
                 loop: bool = False, backend: str = "auto", fps: float | None = None,
                 **kw) -> None:
        super().__init__(**kw)
        rate_hz = renamed(rate_hz, fps, "rate_hz", "fps", f"camera {name!r}")
        given = [k for k, v in (("device", device), ("path", path), ("url", url),
                                ("pipeline", pipeline)) if v is not None]
        if len(given) != 1:
            raise ValueError(f"camera {name!r}: give exactly one of device, path, url, pipeline "
                             f"(got {', '.join(given) or 'none'})")
        if backend not in BACKENDS:
            raise ValueError(f"camera {name!r}: backend must be one of {BACKENDS}, got {backend!r}")
        self.name = name
        self.device, self.url, self.pipeline = device, url, pipeline
        self.path = None if path is None else str(path)
        self.width, self.height, self.rate_hz = width, height, rate_hz
        self.realtime, self.loop, self.backend = realtime, loop, backend
        self.live = self.path is None
        self._cap = None
        self._files: list[Path] | None = None  # glob / directory sequences, read with imread
        self._file_pos = 0
        self._since_open = 0
        self._pacer: FramePacer | None = None
        self._info = StreamInfo(name, "vision", float(rate_hz or 0.0),
                                (height or -1, width or -1, 3), "RGB uint8", self._describe(),
                                {"source": given[0]})

    @property
    def fps(self) -> float | None:
        """The old name of :attr:`rate_hz`."""
        return self.rate_hz

    def _describe(self) -> str:
        if self.device is not None:
            return f"opencv:{self.device}"
        return str(self.path or self.url or "gstreamer")

    def _stream_infos(self) -> list[StreamInfo]:
        return [self._info]

    # ---- open ---------------------------------------------------------------------------------
    def _api(self, default: int) -> int:
        import cv2

        return {"auto": default, "v4l2": cv2.CAP_V4L2, "ffmpeg": cv2.CAP_FFMPEG,
                "gstreamer": cv2.CAP_GSTREAMER, "images": cv2.CAP_IMAGES}[self.backend]

    def _open(self) -> None:
        import cv2

        self._files = None
        self._since_open = 0
        if self.pipeline is not None:
            if not opencv_has_gstreamer():
                raise RuntimeError("this OpenCV build has no GStreamer support (see "
                                   "cv2.getBuildInformation()); a GStreamer pipeline needs an "
                                   "OpenCV built with it, e.g. JetPack's python3-opencv")
            cap = cv2.VideoCapture(self.pipeline, self._api(cv2.CAP_GSTREAMER))
        elif self.url is not None:
            cap = cv2.VideoCapture(self.url, self._api(cv2.CAP_FFMPEG))
        elif self.device is not None:
            cap = cv2.VideoCapture(self.device, self._api(cv2.CAP_ANY))
        else:
            assert self.path is not None
            if is_sequence_pattern(self.path) or Path(self.path).is_dir():
                files = list_sequence(self.path)  # FileNotFoundError names the pattern
                if "%" not in self.path:
                    self._files, self._file_pos = files, 0
                    self._start_pacer(self.rate_hz or DEFAULT_FILE_FPS)
                    return
                cap = cv2.VideoCapture(self.path, self._api(cv2.CAP_IMAGES))
            else:
                if not Path(self.path).is_file():
                    raise FileNotFoundError(f"{self.path}: no such video file")
                cap = cv2.VideoCapture(self.path, self._api(cv2.CAP_ANY))
        if not cap.isOpened():
            cap.release()
            raise OSError(f"OpenCV could not open {self._describe()}")
        if self.live:
            request_format(cap, self.width, self.height, self.rate_hz)
        self._cap = cap
        rate = float(self.rate_hz or cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not self.live:
            if "%" in (self.path or "") and not self.rate_hz:
                rate = DEFAULT_FILE_FPS  # image sequences have no frame rate of their own
            self._start_pacer(rate if rate > 0 else DEFAULT_FILE_FPS)
        elif rate > 0:
            self._info = StreamInfo(self._info.stream, "vision", rate, self._info.shape,
                                    self._info.units, self._info.device, self._info.extra)

    def _start_pacer(self, rate: float) -> None:
        if self._pacer is None or self._pacer.fps != rate:
            self._pacer = FramePacer(rate, self.realtime)
        self._info = StreamInfo(self._info.stream, "vision", rate, self._info.shape,
                                self._info.units, self._info.device, self._info.extra)

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    # ---- read ---------------------------------------------------------------------------------
    def _read(self) -> list[Sample]:
        if self._files is not None:
            frame = self._next_file()
            t_ns = None
        else:
            cap = self._cap
            if cap is None:
                raise OSError("camera is not open")
            if not cap.grab():
                if self.live:
                    raise OSError(f"{self._describe()}: no frame (device unplugged or stream ended)")
                if not self._since_open:
                    raise OSError(f"{self._describe()}: opened but no frame could be decoded")
                if not self.loop:
                    raise EndOfStream()
                self._close()
                self._open()
                if not self._cap.grab():
                    raise OSError(f"{self._describe()}: no frame after rewinding")
                cap = self._cap
            t_ns = time.monotonic_ns()
            self._since_open += 1
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                raise OSError(f"{self._describe()}: could not decode the grabbed frame")
        rgb = to_rgb(frame)
        if not self.live:
            assert self._pacer is not None
            t_ns = self._pacer.stamp()
            if self._pacer.realtime and not self._wait_until(t_ns):
                return []
        if self._info.shape != rgb.shape:
            self._info = with_shape(self._info, rgb.shape)
        return [Sample(self.name, "vision", int(t_ns), rgb)]

    def _next_file(self) -> np.ndarray:
        import cv2

        assert self._files is not None and self._pacer is not None
        while True:
            if self._file_pos >= len(self._files):
                if not self.loop:
                    raise EndOfStream()
                self._file_pos = 0
            f = self._files[self._file_pos]
            self._file_pos += 1
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is not None:
                return img
            # A corrupt frame is skipped and counted; its time slot stays empty.
            self._pacer.stamp()
            self._note_problem(self.name, f"{f}: not a readable image (skipped)", dropped=1,
                               error=True)
