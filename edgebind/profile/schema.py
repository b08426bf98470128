"""The calibration profile's records (``"schema": "edgebind.profile/1"``): what
``edgebind-calibrate`` measured on one robot, per device and per stream. Torch-free, numpy only.

Reading and writing files is :mod:`edgebind.profile.io`, validating a loaded document
:mod:`edgebind.profile.parse`, turning a profile into per-stream corrections
:mod:`edgebind.profile.apply`; the methods here that do those delegate to them.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from edgebind.errors import EdgeBindError
from edgebind.sample import StreamInfo
from edgebind.space import SpaceMismatchError

SCHEMA = "edgebind.profile/1"
MAX_HISTORY = 50


class ProfileError(EdgeBindError, ValueError):
    """An invalid profile file or value; the message names the file and the key."""


class ProfileMismatchError(ProfileError):
    """The profile belongs to another device or another embedding space."""


class ProfileSpaceMismatchError(ProfileMismatchError, SpaceMismatchError):
    """The profile's thresholds were set in another embedding space."""


# --------------------------------------------------------------------------------------------
# Sections


def _arr(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.array(x, dtype=np.float64).reshape(shape)


@dataclass
class ImuCalibration:
    """IMU error model, per sensor: ``measured = scale @ true + bias`` for the accelerometer and
    the gyroscope, then ``rotation`` takes sensor axes to body axes (gravity alignment: a level
    robot at rest then reads +g on body z). ``noise`` holds Allan-variance parameters
    (``accel_noise_density`` m/s²/√Hz, ``gyro_noise_density`` rad/s/√Hz, ``*_bias_instability``,
    ``*_random_walk``) for people and filters; the correction does not use them."""

    accel_bias: np.ndarray = field(default_factory=lambda: np.zeros(3))
    accel_scale: np.ndarray = field(default_factory=lambda: np.eye(3))
    gyro_bias: np.ndarray = field(default_factory=lambda: np.zeros(3))
    gyro_scale: np.ndarray = field(default_factory=lambda: np.eye(3))
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    noise: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.accel_bias = _arr(self.accel_bias, (3,))
        self.gyro_bias = _arr(self.gyro_bias, (3,))
        self.accel_scale = _scale_matrix(self.accel_scale)
        self.gyro_scale = _scale_matrix(self.gyro_scale)
        self.rotation = _arr(self.rotation, (3, 3))
        self.noise = {str(k): float(v) for k, v in self.noise.items()}

    def correct(self, rows: np.ndarray) -> np.ndarray:
        """N×6 ``[ax ay az gx gy gz]`` as measured -> corrected, in body axes (float32)."""
        from edgebind.profile.apply import correct_imu
        return correct_imu(self, rows)

    def to_dict(self) -> dict[str, Any]:
        return {"accel_bias": self.accel_bias.tolist(), "accel_scale": _scale_out(self.accel_scale),
                "gyro_bias": self.gyro_bias.tolist(), "gyro_scale": _scale_out(self.gyro_scale),
                "rotation": self.rotation.tolist(), "noise": dict(self.noise)}


def _scale_matrix(x: Any) -> np.ndarray:
    a = np.array(x, dtype=np.float64)
    if a.shape == (3,):
        a = np.diag(a)
    a = a.reshape(3, 3)
    if abs(np.linalg.det(a)) < 1e-6:
        raise ValueError("scale matrix is singular")
    return a


def _scale_out(m: np.ndarray) -> list:
    # A diagonal matrix is written as its three scale factors (easier to read and edit).
    return np.diag(m).tolist() if np.count_nonzero(m - np.diag(np.diag(m))) == 0 else m.tolist()


@dataclass
class CameraCalibration:
    """Pinhole intrinsics ``K`` (3×3), OpenCV distortion ``dist`` (k1 k2 p1 p2 [k3 ...]), the
    image ``size`` (width, height) they hold for, and the RMS reprojection error in pixels."""

    K: np.ndarray
    dist: np.ndarray
    size: tuple[int, int]
    rms: float | None = None

    def __post_init__(self) -> None:
        self.K = _arr(self.K, (3, 3))
        self.dist = np.array(self.dist, dtype=np.float64).reshape(-1)
        if self.dist.size not in (4, 5, 8, 12, 14):
            raise ValueError(f"dist must have 4, 5, 8, 12 or 14 coefficients, got {self.dist.size}")
        self.size = (int(self.size[0]), int(self.size[1]))

    def to_dict(self) -> dict[str, Any]:
        return {"K": self.K.tolist(), "dist": self.dist.tolist(), "size": list(self.size),
                "rms": self.rms}


@dataclass
class ThermalCalibration:
    """Radiometric correction ``kelvin = gain * raw + offset``; gain and offset are scalars or
    per-pixel (H, W) arrays (flat field / non-uniformity correction, stored as sidecars)."""

    gain: float | np.ndarray = 1.0
    offset: float | np.ndarray = 0.0

    def __post_init__(self) -> None:
        for name in ("gain", "offset"):
            v = getattr(self, name)
            if isinstance(v, np.ndarray) and v.ndim > 0:
                if v.ndim != 2:
                    raise ValueError(f"thermal {name} map must be 2-D (H, W), got shape {v.shape}")
                setattr(self, name, v.astype(np.float32))
            else:
                setattr(self, name, float(v))
        # A gain of 0 (or below) erases the sensor: every pixel would read the offset.
        if not np.all(np.asarray(self.gain) > 0):
            raise ValueError("thermal gain must be > 0 (every pixel of a gain map too)")
        shapes = {getattr(self, n).shape for n in ("gain", "offset")
                  if isinstance(getattr(self, n), np.ndarray)}
        if len(shapes) > 1:
            raise ValueError(f"thermal gain and offset maps differ in shape: {sorted(shapes)}")

    def correct(self, frame: np.ndarray) -> np.ndarray:
        """Raw frame -> kelvin (float32); a map that does not fit the frame is a ValueError."""
        from edgebind.profile.apply import correct_thermal
        return correct_thermal(self, frame)


@dataclass
class AudioCalibration:
    """Recommended input gain (dB, applied as ``x * 10**(gain_db/20)``) and what it rests on."""

    gain_db: float = 0.0
    noise_floor_dbfs: float | None = None
    peak_dbfs: float | None = None
    clipping_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"gain_db": self.gain_db, "noise_floor_dbfs": self.noise_floor_dbfs,
                "peak_dbfs": self.peak_dbfs, "clipping_ratio": self.clipping_ratio}


@dataclass
class StreamCalibration:
    """Everything calibrated for one stream; absent parts are ``None``. ``sensor`` is the
    StreamInfo.device of the sensor that was measured (a swap shows up as a different value)."""

    time_offset_ns: int | None = None
    sensor: str = ""
    imu: ImuCalibration | None = None
    camera: CameraCalibration | None = None
    thermal: ThermalCalibration | None = None
    audio: AudioCalibration | None = None


@dataclass
class Profile:
    """One robot's calibration. Load with :meth:`load`, change a part, :meth:`save`."""

    device: str = ""
    space_id: str | None = None
    streams: dict[str, StreamCalibration] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    quant: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    # -- what the daemon and window assembler read -----------------------------------------
    def time_offsets_ns(self) -> dict[str, int]:
        """Stream -> ns to add to its sample times (only streams with a measured offset)."""
        return {k: int(s.time_offset_ns) for k, s in self.streams.items()
                if s.time_offset_ns is not None}

    def assembler_kwargs(self, stream_infos: Iterable[StreamInfo] = ()) -> dict[str, Any]:
        """Every correction as ``WindowAssembler`` takes them (``time_offsets_ns``,
        ``imu_corrections``, ``corrections``): see ``edgebind.profile.apply``."""
        from edgebind.profile.apply import assembler_kwargs_from_profile
        return assembler_kwargs_from_profile(self, stream_infos)

    def imu_correction(self, stream: str) -> Callable[[np.ndarray], np.ndarray] | None:
        s = self.streams.get(stream)
        return s.imu.correct if s is not None and s.imu is not None else None

    def imu_corrections(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Every stream's IMU correction, the form WindowAssembler(imu_corrections=...) takes."""
        return {k: s.imu.correct for k, s in self.streams.items() if s.imu is not None}

    def thermal_correction(self, stream: str) -> Callable[[np.ndarray], np.ndarray] | None:
        s = self.streams.get(stream)
        return s.thermal.correct if s is not None and s.thermal is not None else None

    def audio_gain_db(self, stream: str) -> float | None:
        s = self.streams.get(stream)
        return s.audio.gain_db if s is not None and s.audio is not None else None

    def stream(self, name: str) -> StreamCalibration:
        """The stream's section, created empty if absent (for updating)."""
        if not name:
            raise ValueError("stream name must be non-empty")
        return self.streams.setdefault(name, StreamCalibration())

    def check(self, device: str | None = None, space_id: str | None = None,
              source: str = "profile") -> None:
        """Raise ProfileMismatchError if this profile is for another device or space."""
        if device and self.device and device != self.device:
            raise ProfileMismatchError(
                f"{source} is for device {self.device!r}, not {device!r}; use this robot's own "
                "profile (or calibrate it into a new file)")
        if space_id and self.space_id and space_id != self.space_id:
            raise ProfileSpaceMismatchError(
                f"{source} holds thresholds for embedding space {self.space_id}, but the model is "
                f"in space {space_id}; re-run `edgebind-calibrate thresholds` with this model")

    def note(self, command: str, **what: Any) -> None:
        """Append a history entry (UTC time, command, details); keeps the last MAX_HISTORY."""
        entry = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "command": command, **{k: v for k, v in what.items() if v is not None}}
        self.history = (self.history + [entry])[-MAX_HISTORY:]

    # -- dict form and files (edgebind.profile.io / .parse) ---------------------------------
    def to_dict(self, sidecar: Callable[[str, str, np.ndarray], str] | None = None
                ) -> dict[str, Any]:
        """Plain data. ``sidecar(stream, key, array) -> file name`` stores arrays; without it
        arrays are inlined as nested lists (fine in memory, large on disk)."""
        from edgebind.profile.io import profile_to_dict
        return profile_to_dict(self, sidecar)

    @classmethod
    def from_dict(cls, d: Any, source: str = "profile", base_dir: Path | None = None
                  ) -> "Profile":
        from edgebind.profile.parse import parse_profile
        return parse_profile(d, source, base_dir)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None,
             space_id: str | None = None) -> "Profile":
        """Read a JSON or TOML profile; refuse another device / embedding space when given."""
        from edgebind.profile.io import load
        return load(path, device, space_id)

    @classmethod
    def load_or_new(cls, path: str | os.PathLike, device: str | None = None) -> "Profile":
        """The profile at ``path`` (checked against ``device``), or a new one for ``device``."""
        path = Path(path)
        if path.exists():
            return cls.load(path, device=device)
        return cls(device=device or "")

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically: JSON, or TOML when the suffix is ``.toml``; arrays as sidecars
        ``<stem>.<stream>.thermal_<key>.npy`` beside it."""
        from edgebind.profile.io import save
        return save(self, path)
