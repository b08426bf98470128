"""The calibration profile (``"schema": "edgebind.profile/1"``): what ``edgebind-calibrate``
measured on one robot, read by the daemon and the window assembler. Torch-free, numpy only.

A profile is JSON or TOML (chosen by the file suffix), per device and per stream::

    schema = "edgebind.profile/1"
    device = "robot-7"                 # the robot (host) it was measured on
    space_id = "ebs1-..."              # embedding space the thresholds belong to (optional)
    [streams.imu0]
    time_offset_ns = -1250000          # corrected time = recorded t_ns + time_offset_ns
    [streams.imu0.imu]                 # measured = scale @ true + bias; see ImuCalibration
    accel_bias = [0.02, -0.01, 0.05]
    [thresholds]
    glass_breaking = 0.31

Large arrays (per-pixel thermal gain/offset) live in sidecar ``.npy`` files next to the profile,
referenced by file name. Every calibration command updates its own part and keeps the rest.
Invalid files raise :class:`ProfileError` naming the file, the key and what was expected; a
profile for another device or embedding space raises :class:`ProfileMismatchError`.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from edgebind.checks import is_finite_number
from edgebind.detect.config import ANY_LEVEL
from edgebind.errors import EdgeBindError
from edgebind.fileio import atomic_write, load_npy, parse_json, parse_toml

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
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != 6:
            raise ValueError(f"IMU correction expects N×6 rows, got shape {rows.shape}")
        a = np.linalg.solve(self.accel_scale, (rows[:, :3] - self.accel_bias).T).T
        g = np.linalg.solve(self.gyro_scale, (rows[:, 3:] - self.gyro_bias).T).T
        return np.concatenate([a @ self.rotation.T, g @ self.rotation.T], axis=1).astype(np.float32)

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
        frame = np.asarray(frame, dtype=np.float32)
        for name in ("gain", "offset"):
            v = getattr(self, name)
            if isinstance(v, np.ndarray) and v.shape != frame.shape[:2]:
                raise ValueError(f"thermal {name} map is {v.shape}, frame is {frame.shape[:2]}")
        return (self.gain * frame + self.offset).astype(np.float32)


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

    # -- dict form ---------------------------------------------------------------------------
    def to_dict(self, sidecar: Callable[[str, str, np.ndarray], str] | None = None
                ) -> dict[str, Any]:
        """Plain data. ``sidecar(stream, key, array) -> file name`` stores arrays; without it
        arrays are inlined as nested lists (fine in memory, large on disk)."""
        streams: dict[str, Any] = {}
        for name, s in self.streams.items():
            d: dict[str, Any] = {}
            if s.time_offset_ns is not None:
                d["time_offset_ns"] = int(s.time_offset_ns)
            if s.sensor:
                d["sensor"] = s.sensor
            if s.imu is not None:
                d["imu"] = s.imu.to_dict()
            if s.camera is not None:
                d["camera"] = _drop_none(s.camera.to_dict())
            if s.thermal is not None:
                t = {}
                for key in ("gain", "offset"):
                    v = getattr(s.thermal, key)
                    if isinstance(v, np.ndarray):
                        t[key] = sidecar(name, key, v) if sidecar else v.tolist()
                    else:
                        t[key] = v
                d["thermal"] = t
            if s.audio is not None:
                d["audio"] = _drop_none(s.audio.to_dict())
            streams[name] = d
        out: dict[str, Any] = {"schema": SCHEMA, "device": self.device}
        if self.space_id:
            out["space_id"] = self.space_id
        out["streams"] = streams
        out["thresholds"] = {k: float(v) for k, v in self.thresholds.items()}
        out["quant"] = dict(self.quant)
        out["history"] = list(self.history)
        return out

    @classmethod
    def from_dict(cls, d: Any, source: str = "profile", base_dir: Path | None = None
                  ) -> "Profile":
        return _parse(d, source, base_dir)

    # -- files -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None,
             space_id: str | None = None) -> "Profile":
        """Read a JSON or TOML profile; refuse another device / embedding space when given."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"calibration profile {path} does not exist")
        raw = path.read_bytes()
        data = _decode(raw, path)
        profile = _parse(data, str(path), path.parent)
        profile.check(device, space_id, source=f"profile {path}")
        return profile

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
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)

        def sidecar(stream: str, key: str, arr: np.ndarray) -> str:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
            name = f"{path.stem}.{safe}.thermal_{key}.npy"
            _atomic_write(path.parent / name, _npy_bytes(arr))
            return name

        data = self.to_dict(sidecar)
        text = dumps_toml(data) if path.suffix.lower() == ".toml" else dumps_json(data)
        _atomic_write(path, text.encode("utf-8"))
        return path


# --------------------------------------------------------------------------------------------
# Parsing and validation


def _decode(raw: bytes, path: Path) -> Any:
    source = f"profile {path}"
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return parse_toml(raw, source, ProfileError)
    if suffix == ".json":
        return parse_json(raw, source, ProfileError)
    try:  # no telling suffix: JSON if it parses as JSON, else TOML
        return parse_json(raw, source, ProfileError)
    except ProfileError:
        return parse_toml(raw, source, ProfileError)


class _Check:
    """Validation helpers that raise ProfileError('<source>: <key path>: expected ...')."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, msg: str) -> ProfileError:
        return ProfileError(f"{self.source}: {key}: {msg}")

    def table(self, v: Any, key: str, allowed: set[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            raise self.fail(key, f"expected a table/object, got {type(v).__name__}")
        if allowed is not None:
            unknown = sorted(str(k) for k in v if k not in allowed)
            if unknown:
                raise self.fail(key, f"unknown key(s) {unknown}; expected some of {sorted(allowed)}")
        return v

    def number(self, v: Any, key: str, lo: float | None = None, hi: float | None = None) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, f"expected a number, got {type(v).__name__} {v!r:.40}")
        if not is_finite_number(v):
            raise self.fail(key, "expected a finite number, got "
                            + (f"{v!r}" if isinstance(v, float) else "a huge integer"))
        x = float(v)
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            raise self.fail(key, f"expected a number in [{lo}, {hi}], got {x}")
        return x

    def integer(self, v: Any, key: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(key, f"expected an integer (nanoseconds), got {type(v).__name__} {v!r:.40}")
        if abs(v) > 2**63 - 1:
            raise self.fail(key, "integer out of the int64 range")
        return int(v)

    def string(self, v: Any, key: str) -> str:
        if not isinstance(v, str):
            raise self.fail(key, f"expected a string, got {type(v).__name__}")
        return v

    def matrix(self, v: Any, key: str, shapes: tuple[tuple[int, ...], ...]) -> np.ndarray:
        try:
            a = np.array(v, dtype=np.float64)
        except (TypeError, ValueError):
            a = None
        if a is None or a.dtype == object or a.shape not in shapes or not _is_numeric_list(v):
            want = " or ".join("x".join(map(str, s)) for s in shapes)
            raise self.fail(key, f"expected numbers of shape {want}, got {v!r:.60}")
        if not np.all(np.isfinite(a)):
            raise self.fail(key, "expected finite numbers (found NaN or infinity)")
        return a


def _is_numeric_list(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return all(_is_numeric_list(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TOP = {"schema", "device", "space_id", "streams", "thresholds", "quant", "history"}
_STREAM = {"time_offset_ns", "sensor", "imu", "camera", "thermal", "audio"}
_IMU = {"accel_bias", "accel_scale", "gyro_bias", "gyro_scale", "rotation", "noise"}
_CAMERA = {"K", "dist", "size", "rms"}
_THERMAL = {"gain", "offset"}
_AUDIO = {"gain_db", "noise_floor_dbfs", "peak_dbfs", "clipping_ratio"}


def _parse(d: Any, source: str, base_dir: Path | None) -> Profile:
    c = _Check(source)
    if not isinstance(d, Mapping):
        raise ProfileError(f"{source}: expected a table/object at the top, got {type(d).__name__}")
    schema = d.get("schema")
    if schema != SCHEMA:
        raise ProfileError(f"{source}: schema: expected {SCHEMA!r}, got {schema!r} "
                           "(not an EdgeBind calibration profile, or a newer version)")
    c.table(d, "(top)", _TOP)
    p = Profile(device=c.string(d.get("device", ""), "device"))
    if d.get("space_id") is not None:
        p.space_id = c.string(d["space_id"], "space_id") or None
    for name, s in c.table(d.get("streams", {}), "streams").items():
        p.streams[str(name)] = _parse_stream(c, s, f"streams.{name}", base_dir)
    for name, v in c.table(d.get("thresholds", {}), "thresholds").items():
        p.thresholds[str(name)] = c.number(v, f"thresholds.{name}", *ANY_LEVEL)
    p.quant = _plain(c, c.table(d.get("quant", {}), "quant"), "quant")
    hist = d.get("history", [])
    if not isinstance(hist, list) or not all(isinstance(h, Mapping) for h in hist):
        raise c.fail("history", "expected a list of tables")
    p.history = [_plain(c, h, f"history[{i}]") for i, h in enumerate(hist)]
    return p


def _plain(c: _Check, v: Any, key: str) -> Any:
    """Free-form data (quant, history) that both JSON and TOML can hold: no null, no NaN."""
    if isinstance(v, Mapping):
        return {str(k): _plain(c, x, f"{key}.{k}") for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(c, x, f"{key}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, float):
        return c.number(v, key)
    if isinstance(v, (str, bool, int)):
        return v
    raise c.fail(key, f"expected a string, number, boolean, list or table, got {v!r:.40}")


def _parse_stream(c: _Check, s: Any, key: str, base_dir: Path | None) -> StreamCalibration:
    s = c.table(s, key, _STREAM)
    out = StreamCalibration()
    if "time_offset_ns" in s:
        out.time_offset_ns = c.integer(s["time_offset_ns"], f"{key}.time_offset_ns")
    out.sensor = c.string(s.get("sensor", ""), f"{key}.sensor")
    if "imu" in s:
        t = c.table(s["imu"], f"{key}.imu", _IMU)
        kw: dict[str, Any] = {}
        for k in ("accel_bias", "gyro_bias"):
            if k in t:
                kw[k] = c.matrix(t[k], f"{key}.imu.{k}", ((3,),))
        for k in ("accel_scale", "gyro_scale"):
            if k in t:
                m = c.matrix(t[k], f"{key}.imu.{k}", ((3,), (3, 3)))
                m = np.diag(m) if m.shape == (3,) else m
                if abs(np.linalg.det(m)) < 1e-6:
                    raise c.fail(f"{key}.imu.{k}", "scale matrix is singular")
                kw[k] = m
        if "rotation" in t:
            r = c.matrix(t["rotation"], f"{key}.imu.rotation", ((3, 3),))
            if not np.allclose(r @ r.T, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
                raise c.fail(f"{key}.imu.rotation", "expected a rotation matrix (orthonormal, det +1)")
            kw["rotation"] = r
        noise = c.table(t.get("noise", {}), f"{key}.imu.noise")
        kw["noise"] = {str(n): c.number(v, f"{key}.imu.noise.{n}", lo=0.0) for n, v in noise.items()}
        out.imu = ImuCalibration(**kw)
    if "camera" in s:
        t = c.table(s["camera"], f"{key}.camera", _CAMERA)
        for k in ("K", "dist", "size"):
            if k not in t:
                raise c.fail(f"{key}.camera", f"missing key {k!r}")
        K = c.matrix(t["K"], f"{key}.camera.K", ((3, 3),))
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise c.fail(f"{key}.camera.K", "focal lengths K[0][0], K[1][1] must be positive")
        dist = c.matrix(t["dist"], f"{key}.camera.dist", ((4,), (5,), (8,), (12,), (14,)))
        size = c.matrix(t["size"], f"{key}.camera.size", ((2,),))
        if not all(float(x).is_integer() and x > 0 for x in size):
            raise c.fail(f"{key}.camera.size", f"expected [width, height] positive integers, got {t['size']}")
        rms = c.number(t["rms"], f"{key}.camera.rms", lo=0.0) if t.get("rms") is not None else None
        out.camera = CameraCalibration(K, dist, (int(size[0]), int(size[1])), rms)
    if "thermal" in s:
        t = c.table(s["thermal"], f"{key}.thermal", _THERMAL)
        vals = {}
        for k, default in (("gain", 1.0), ("offset", 0.0)):
            v = t.get(k, default)
            vals[k] = _sidecar_or_number(c, v, f"{key}.thermal.{k}", base_dir)
        try:
            out.thermal = ThermalCalibration(**vals)
        except ValueError as exc:
            raise c.fail(f"{key}.thermal", str(exc)) from None
    if "audio" in s:
        t = c.table(s["audio"], f"{key}.audio", _AUDIO)
        a = AudioCalibration(gain_db=c.number(t.get("gain_db", 0.0), f"{key}.audio.gain_db", -120, 120))
        for k, lo, hi in (("noise_floor_dbfs", None, 0.0), ("peak_dbfs", None, 0.0),
                          ("clipping_ratio", 0.0, 1.0)):
            if t.get(k) is not None:
                setattr(a, k, c.number(t[k], f"{key}.audio.{k}", lo, hi))
        out.audio = a
    return out


def _sidecar_or_number(c: _Check, v: Any, key: str, base_dir: Path | None) -> float | np.ndarray:
    if isinstance(v, str):
        if base_dir is None:
            raise c.fail(key, f"refers to sidecar file {v!r}, but the profile has no folder")
        if Path(v).name != v or not v.endswith(".npy"):
            raise c.fail(key, f"expected a .npy file name beside the profile (no folders), got {v!r}")
        f = base_dir / v
        try:
            a = load_npy(f, f"{c.source}: {key}: sidecar file", ProfileError)
        except FileNotFoundError:
            raise c.fail(key, f"sidecar file {f} is missing") from None
        if a.ndim != 2 or a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
            raise c.fail(key, f"sidecar {f}: expected a finite numeric (H, W) array, got "
                              f"{a.dtype} {a.shape}")
        return a.astype(np.float32)
    if isinstance(v, list):
        a = c.matrix(v, key, (np.shape(v),))
        if a.ndim != 2:
            raise c.fail(key, f"expected a number or an (H, W) map, got shape {a.shape}")
        return a.astype(np.float32)
    return c.number(v, key)


# --------------------------------------------------------------------------------------------
# Writing


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write(path, data)


def dumps_json(data: Any, indent: str = "") -> str:
    """JSON with one key per line but arrays on one line (matrices stay readable)."""
    if isinstance(data, Mapping) and data:
        inner = indent + "  "
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {dumps_json(v, inner).strip()}"
                 for k, v in data.items()]
        out = "{\n" + ",\n".join(items) + "\n" + indent + "}"
    else:
        out = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return out + ("\n" if not indent else "")


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else _toml_str(k)


def _toml_str(s: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; DEL must be escaped in TOML.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}"
                               for k, x in v.items() if x is not None) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer for profile-shaped data: tables, scalars, arrays (None is left out)."""
    lines: list[str] = []

    def table(d: Mapping[str, Any], path: list[str]) -> None:
        scalars = [(k, v) for k, v in d.items() if v is not None and not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in d.items() if isinstance(v, Mapping)]
        if path:
            lines.append("")
            lines.append("[" + ".".join(_toml_key(str(p)) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
        for k, v in tables:
            table(v, path + [str(k)])

    table(data, [])
    return "\n".join(lines).lstrip("\n") + "\n"
