"""Depth cameras: float32 H×W metres, NaN where the sensor had no valid reading (raw 0).

- 16-bit depth image sequences (``path``: ``depth/%06d.png``, a glob or a folder; raw units ×
  ``depth_scale`` = metres, 0.001 for millimetres);
- OpenCV's depth backends (``device`` index with ``backend`` ``openni2`` or ``astra``: Kinect,
  Xtion, Orbbec through OpenNI2; the driver delivers millimetres);
- Intel RealSense through ``pyrealsense2`` when it is installed (``backend="realsense"``,
  ``device`` = serial number or None for the first camera; the scale comes from the device).

Live frames are stamped with ``time.monotonic_ns()`` when the driver returns them.
"""
from __future__ import annotations

import numpy as np

from edgebind.sensors.sources._frames16 import Frame16Source

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
                 backend: str = "openni2", **kw) -> None:
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
        self.depth_scale = float(depth_scale)
        self.backend = backend
        self._rs = None
        super().__init__(name, **kw)

    def convert(self, raw: np.ndarray) -> np.ndarray:
        return depth_u16_to_metres(raw, self.depth_scale)

    def _open_device(self) -> None:
        if self.backend == "realsense":
            self._open_realsense()
            return
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
        if self._rs is not None:
            return self._read_realsense()
        import cv2

        cap = self._cap
        if cap is None or not cap.grab():
            raise OSError(f"depth device {self.device!r}: no frame (unplugged?)")
        ok, raw = cap.retrieve(None, cv2.CAP_OPENNI_DEPTH_MAP)
        if not ok or raw is None or raw.dtype != np.uint16:
            raise OSError(f"depth device {self.device!r}: no 16-bit depth map in the frame")
        return raw

    def _close_device(self) -> None:
        pipe, self._rs = self._rs, None
        if pipe is not None:
            pipe.stop()
        super()._close_device()

    # ---- RealSense (pyrealsense2) -----------------------------------------------------------------
    def _open_realsense(self) -> None:
        try:
            import pyrealsense2 as rs
        except ImportError:
            raise OSError("backend 'realsense' needs the pyrealsense2 package "
                          "(pip install pyrealsense2)") from None
        cfg = rs.config()
        if self.device is not None:
            cfg.enable_device(str(self.device))
        cfg.enable_stream(rs.stream.depth, int(self.width or 0), int(self.height or 0),
                          rs.format.z16, int(self.rate_hz or 0))
        pipe = rs.pipeline()
        try:
            profile = pipe.start(cfg)
        except RuntimeError as exc:
            raise OSError(f"RealSense {self.device or '(first)'}: {exc}") from None
        self.depth_scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        self._rs = pipe

    def _read_realsense(self) -> np.ndarray:
        try:
            frames = self._rs.wait_for_frames(1000)
        except RuntimeError as exc:  # timeout or device gone
            raise OSError(f"RealSense: {exc}") from None
        depth = frames.get_depth_frame()
        if not depth:
            raise OSError("RealSense: frame set without depth")
        return np.asanyarray(depth.get_data()).copy()
