"""Depth cameras: float32 H×W metres, NaN where the sensor had no valid reading (raw 0).

- 16-bit depth image sequences (``path``: ``depth/%06d.png``, a glob or a folder; raw units ×
  ``depth_scale`` = metres, 0.001 for millimetres);
- OpenCV's depth backends (``device`` index with ``backend`` ``openni2`` or ``astra``: Kinect,
  Xtion, Orbbec through OpenNI2; the driver delivers millimetres);
- Intel RealSense through librealsense (``pyrealsense2``; ``backend="realsense"``, ``device`` =
  serial number or a ``pyrealsense2`` device object; the scale comes from the device) and RealSense
  SDK recordings (``path`` ending in ``.bag`` or ``.db3``, any backend); ``align_to="color"`` maps
  depth into the colour camera's pixels. See :mod:`edgebind.sensors.sources.realsense`.

Live OpenNI2 frames are stamped with ``time.monotonic_ns()`` when the driver returns them;
RealSense frames by their own timestamps mapped onto the monotonic clock.
"""
from __future__ import annotations

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import with_shape
from edgebind.sensors.sources._frames16 import Frame16Source
from edgebind.sensors.sources.realsense import ALIGN_TARGETS, RealSenseDepth, \
    is_realsense_recording

DEPTH_BACKENDS = ("openni2", "astra", "realsense")


def depth_u16_to_metres(raw: np.ndarray, depth_scale: float) -> np.ndarray:
    """uint16 sensor units -> float32 metres; 0 (no reading) -> NaN. Pure."""
    m = raw.astype(np.float32) * np.float32(depth_scale)
    m[raw == 0] = np.nan
    return m


class DepthSource(Frame16Source):
    kind = "depth"
    modality = "depth"
    units = "float32 metres (NaN = invalid)"

    def __init__(self, name: str = "depth", *, depth_scale: float = 0.001,
                 backend: str = "openni2", align_to: str | None = None, **kw) -> None:
        if not depth_scale > 0:
            raise ValueError(f"depth {name!r}: depth_scale must be positive, got {depth_scale!r}")
        if backend not in DEPTH_BACKENDS:
            raise ValueError(f"depth {name!r}: backend must be one of {DEPTH_BACKENDS}, "
                             f"got {backend!r}")
        device = kw.get("device")
        if backend != "realsense" and isinstance(device, str):
            raise ValueError(f"depth {name!r}: backend {backend} opens devices by index "
                             f"(0, 1, ...), got {device!r}; serial numbers need backend "
                             "'realsense'")
        path = kw.get("path")
        self._librealsense = (backend == "realsense" if path is None
                              else is_realsense_recording(path))
        if align_to is not None and (align_to not in ALIGN_TARGETS or not self._librealsense):
            raise ValueError(f"depth {name!r}: align_to={align_to!r} needs a RealSense camera or "
                             f"recording and one of {ALIGN_TARGETS}")
        self.depth_scale = float(depth_scale)
        self.backend = backend
        self.align_to = align_to
        self._rs: RealSenseDepth | None = None
        super().__init__(name, **kw)

    def convert(self, raw: np.ndarray) -> np.ndarray:
        return depth_u16_to_metres(raw, self.depth_scale)

    def _describe(self) -> str:
        if self._librealsense:
            return RealSenseDepth(device=self.device, path=self.path).describe()
        return super()._describe()

    def _open_device(self) -> None:
        import cv2

        api = cv2.CAP_OPENNI2 if self.backend == "openni2" else cv2.CAP_OPENNI2_ASTRA
        index = self.device if isinstance(self.device, int) else 0
        cap = cv2.VideoCapture(index, api)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"OpenCV could not open depth device {self.device!r} with backend "
                          f"{self.backend} (is OpenCV built with OpenNI2 and the camera plugged in?)")
        self._cap = cap

    def _read_device(self) -> np.ndarray:
        import cv2

        cap = self._cap
        if cap is None or not cap.grab():
            raise OSError(f"depth device {self.device!r}: no frame (unplugged?)")
        ok, raw = cap.retrieve(None, cv2.CAP_OPENNI_DEPTH_MAP)
        if not ok or raw is None or raw.dtype != np.uint16:
            raise OSError(f"depth device {self.device!r}: no 16-bit depth map in the frame")
        return raw

    # ---- RealSense (librealsense, live or recorded) ---------------------------------------------
    def _open(self) -> None:
        if not self._librealsense:
            super()._open()
            return
        reader = RealSenseDepth(device=self.device, path=self.path, width=self.width,
                                height=self.height, rate_hz=self.rate_hz, align_to=self.align_to,
                                realtime=self.realtime, loop=self.loop)
        scale = reader.open()
        self._rs = reader
        if scale is not None:
            self.depth_scale = scale
        info = self._info
        self._info = StreamInfo(info.stream, info.modality, reader.rate or info.rate_hz,
                                info.shape, info.units, reader.describe(), info.extra)

    def _close(self) -> None:
        reader, self._rs = self._rs, None
        if reader is not None:
            reader.close()
        elif not self._librealsense:
            super()._close()

    def _read(self) -> list[Sample]:
        if self._rs is None:
            return super()._read()
        before = self._rs.dropped
        got = self._rs.read()
        if self._rs is not None and self._rs.dropped > before:
            self._note_problem(self.name, dropped=self._rs.dropped - before)
        if got is None:
            return []
        raw, t_ns = got
        data = self.convert(raw)
        if self._info.shape != data.shape:
            self._info = with_shape(self._info, data.shape)
        return [Sample(self.name, self.modality, int(t_ns), data)]
