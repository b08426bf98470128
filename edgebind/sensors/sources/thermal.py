"""Radiometric thermal cameras: float32 H×W kelvin.

- UVC cameras streaming Y16 (PureThermal boards with a FLIR Lepton, and similar): opened through
  OpenCV's V4L2 backend with the ``Y16`` fourcc and ``CAP_PROP_CONVERT_RGB = 0`` so the raw 16-bit
  counts come through; kelvin = raw × ``scale`` + ``offset`` (Lepton radiometric/TLinear output
  is centikelvin: scale 0.01, offset 0; low-resolution TLinear mode: scale 0.1);
- 16-bit image sequences with the same conversion (``path``);
- small thermal arrays on a microcontroller come through the firmware bridge instead
  (:class:`edgebind.sensors.sources.imu.BridgeSource`, already kelvin).
"""
from __future__ import annotations

import numpy as np

from edgebind.sensors.sources._frames16 import Frame16Source
from edgebind.sensors.sources.camera import request_format


def thermal_u16_to_kelvin(raw: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """uint16 counts -> float32 kelvin. Pure."""
    return (raw.astype(np.float32) * np.float32(scale) + np.float32(offset)).astype(np.float32)


def y16_frame(frame: np.ndarray, width: int | None, height: int | None) -> np.ndarray:
    """What OpenCV's V4L2 backend returns for Y16 without RGB conversion -> uint16 H×W.

    Depending on the OpenCV version that is already a 16-bit image or the raw buffer as a 1×N
    (or N×1) uint8 array, which needs the requested size to be reshaped.
    """
    if frame.dtype == np.uint16 and frame.ndim == 2 and frame.shape[0] > 1 and frame.shape[1] > 1:
        return frame
    buf = np.ascontiguousarray(frame).reshape(-1)
    if buf.dtype != np.uint8:
        buf = buf.view(np.uint8)
    if not (width and height):
        raise OSError(f"raw {frame.dtype} buffer of shape {frame.shape} from the thermal camera: "
                      "set width and height so it can be read as Y16")
    if buf.size < width * height * 2:
        raise OSError(f"thermal frame has {buf.size} bytes, {width}x{height} Y16 needs "
                      f"{width * height * 2}")
    return buf[:width * height * 2].view("<u2").reshape(height, width)


class ThermalSource(Frame16Source):
    kind = "thermal"
    modality = "thermal"
    units = "float32 kelvin"

    def __init__(self, name: str = "thermal", *, scale: float = 0.01, offset: float = 0.0,
                 **kw) -> None:
        if not np.isfinite(scale) or scale == 0 or not np.isfinite(offset):
            raise ValueError(f"thermal {name!r}: scale must be finite and non-zero, offset finite "
                             f"(got scale={scale!r}, offset={offset!r})")
        self.scale, self.offset = float(scale), float(offset)
        super().__init__(name, **kw)

    def convert(self, raw: np.ndarray) -> np.ndarray:
        return thermal_u16_to_kelvin(raw, self.scale, self.offset)

    def _open_device(self) -> None:
        import cv2

        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"OpenCV could not open thermal camera {self.device!r} (V4L2)")
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"Y16 "))
        cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)
        request_format(cap, self.width, self.height, self.rate_hz)
        self._cap = cap

    def _read_device(self) -> np.ndarray:
        cap = self._cap
        if cap is None:
            raise OSError("thermal camera is not open")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise OSError(f"thermal camera {self.device!r}: no frame (unplugged?)")
        import cv2

        w = self.width or int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or None
        h = self.height or int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None
        return y16_frame(frame, w, h)
