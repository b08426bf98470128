"""What the client delivers: samples in SI units with host monotonic timestamps (DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImuSamples:
    """One IMU batch. ``data`` float32 N×6 ``[ax ay az] m/s², [gx gy gz] rad/s``; ``t_ns`` int64 N
    host monotonic ns (``time.monotonic_ns()`` clock); ``device_us`` the device's own stamps."""

    t_ns: np.ndarray
    data: np.ndarray
    device_us: np.ndarray
    first_index: int
    sync_error_ns: float  # inf until the first time-sync exchange
    meta: dict = field(default_factory=dict)
    stream: str = "imu"
    modality: str = "imu"


@dataclass
class ThermalImage:
    """One complete thermal frame: float32 kelvin H×W, stamped at capture (host monotonic ns)."""

    t_ns: int
    kelvin: np.ndarray
    device_us: int
    frame_id: int
    sync_error_ns: float
    meta: dict = field(default_factory=dict)
    stream: str = "thermal"
    modality: str = "thermal"
