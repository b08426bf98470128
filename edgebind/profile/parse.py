"""A loaded profile document (dict) -> :class:`~edgebind.profile.schema.Profile`, validated.

Tables are read through :class:`edgebind.validate.Fields`, so every failure reads
``ProfileError("<file>: <key path>: expected ..., got ...")``. The checkers below are the
profile's own value kinds (nanosecond integers, bounded finite numbers, small matrices) written
as ``validate`` checkers: plain functions that raise ``ValueError(what was expected)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from edgebind.checks import is_finite_number
from edgebind.detect.config import ANY_LEVEL
from edgebind.fileio import load_npy
from edgebind.profile.schema import (SCHEMA, AudioCalibration, CameraCalibration, ImuCalibration,
                                     Profile, ProfileError, StreamCalibration, ThermalCalibration)
from edgebind.validate import Checker, Fields, shown

_TOP = ("schema", "device", "space_id", "streams", "thresholds", "quant", "history")
_STREAM = ("time_offset_ns", "sensor", "imu", "camera", "thermal", "audio")
_IMU = ("accel_bias", "accel_scale", "gyro_bias", "gyro_scale", "rotation", "noise")
_CAMERA = ("K", "dist", "size", "rms")
_THERMAL = ("gain", "offset")
_AUDIO = ("gain_db", "noise_floor_dbfs", "peak_dbfs", "clipping_ratio")


# -- checkers ---------------------------------------------------------------------------------
def text(v: Any) -> str:
    """Any string, empty included (a profile's device may be unset)."""
    if not isinstance(v, str):
        raise ValueError("a string")
    return v


def nanoseconds(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("an integer (nanoseconds)")
    if abs(v) > 2**63 - 1:
        raise ValueError("an integer in the int64 range")
    return int(v)


def number(lo: float | None = None, hi: float | None = None) -> Checker:
    """A finite number in ``[lo, hi]``; the message says which of the three it was not."""
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("a number")
        if not is_finite_number(v):
            raise ValueError("a finite number")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(f"a number in [{lo}, {hi}]")
        return float(v)
    return check


def matrix(*shapes: tuple[int, ...]) -> Checker:
    """Finite numbers (nested lists) of one of ``shapes`` -> float64 array."""
    want = " or ".join("x".join(map(str, s)) for s in shapes)

    def check(v: Any) -> np.ndarray:
        try:
            a = np.array(v, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            a = None
        if a is None or a.dtype == object or a.shape not in shapes or not _numeric_lists(v):
            raise ValueError(f"numbers of shape {want}")
        if not np.all(np.isfinite(a)):
            raise ValueError("finite numbers (found NaN or infinity)")
        return a
    return check


def _numeric_lists(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return all(_numeric_lists(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# -- the document -----------------------------------------------------------------------------
def parse_profile(d: Any, source: str = "profile", base_dir: Path | None = None) -> Profile:
    if not isinstance(d, Mapping):
        raise ProfileError(f"{source}: expected a table/object at the top, got {type(d).__name__}")
    schema = d.get("schema")
    if schema != SCHEMA:
        raise ProfileError(f"{source}: schema: expected {SCHEMA!r}, got {schema!r} "
                           "(not an EdgeBind calibration profile, or a newer version)")
    f = Fields(d, source, ProfileError)
    _reject_unknown(f, _TOP, "(top)")
    p = Profile(device=f.get("device", text, ""))
    if d.get("space_id") is not None:
        p.space_id = f.get("space_id", text) or None
    streams = f.table("streams", {})
    for name in streams.data:
        p.streams[str(name)] = _stream(streams.table(name), base_dir)
    thresholds = f.table("thresholds", {})
    for name in thresholds.data:
        p.thresholds[str(name)] = thresholds.get(name, number(*ANY_LEVEL))
    p.quant = _plain(f.table("quant", {}).data, "quant", source)
    hist = d.get("history", [])
    if not isinstance(hist, list) or not all(isinstance(h, Mapping) for h in hist):
        raise f.fail("history", "a list of tables")
    p.history = [_plain(h, f"history[{i}]", source) for i, h in enumerate(hist)]
    return p


def _reject_unknown(f: Fields, allowed: Iterable[str], where: str | None = None) -> None:
    allowed = set(allowed)
    unknown = sorted(str(k) for k in f.data if k not in allowed)
    if unknown:
        raise ProfileError(f"{f.source}: {where or f.prefix.rstrip('.')}: unknown key(s) "
                           f"{unknown}; expected some of {sorted(allowed)}")


def _plain(v: Any, key: str, source: str) -> Any:
    """Free-form data (quant, history) that both JSON and TOML can hold: no null, no NaN."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x, f"{key}.{k}", source) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x, f"{key}[{i}]", source) for i, x in enumerate(v)]
    if isinstance(v, float) and not is_finite_number(v):
        raise ProfileError(f"{source}: {key}: expected a finite number, got {shown(v)}")
    if isinstance(v, (str, bool, int, float)):
        return v
    raise ProfileError(f"{source}: {key}: expected a string, number, boolean, list or table, "
                       f"got {shown(v)}")


def _stream(f: Fields, base_dir: Path | None) -> StreamCalibration:
    _reject_unknown(f, _STREAM)
    out = StreamCalibration(time_offset_ns=f.get("time_offset_ns", nanoseconds, None),
                            sensor=f.get("sensor", text, ""))
    if "imu" in f.data:
        out.imu = _imu(f.table("imu"))
    if "camera" in f.data:
        out.camera = _camera(f.table("camera"))
    if "thermal" in f.data:
        out.thermal = _thermal(f.table("thermal"), base_dir)
    if "audio" in f.data:
        out.audio = _audio(f.table("audio"))
    return out


def _imu(t: Fields) -> ImuCalibration:
    _reject_unknown(t, _IMU)
    kw: dict[str, Any] = {k: t.get(k, matrix((3,))) for k in ("accel_bias", "gyro_bias")
                          if k in t.data}
    for k in ("accel_scale", "gyro_scale"):
        if k in t.data:
            m = t.get(k, matrix((3,), (3, 3)))
            m = np.diag(m) if m.shape == (3,) else m
            if abs(np.linalg.det(m)) < 1e-6:
                raise _fail(t, k, "scale matrix is singular")
            kw[k] = m
    if "rotation" in t.data:
        r = t.get("rotation", matrix((3, 3)))
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
            raise _fail(t, "rotation", "expected a rotation matrix (orthonormal, det +1)")
        kw["rotation"] = r
    noise = t.table("noise", {})
    kw["noise"] = {str(n): noise.get(n, number(lo=0.0)) for n in noise.data}
    return ImuCalibration(**kw)


def _camera(t: Fields) -> CameraCalibration:
    _reject_unknown(t, _CAMERA)
    for k in ("K", "dist", "size"):
        if k not in t.data:
            raise ProfileError(f"{t.source}: {t.prefix.rstrip('.')}: missing key {k!r}")
    K = t.get("K", matrix((3, 3)))
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise _fail(t, "K", "focal lengths K[0][0], K[1][1] must be positive")
    dist = t.get("dist", matrix((4,), (5,), (8,), (12,), (14,)))
    size = t.get("size", matrix((2,)))
    if not all(float(x).is_integer() and x > 0 for x in size):
        raise _fail(t, "size", f"expected [width, height] positive integers, got {t.data['size']}")
    rms = t.get("rms", number(lo=0.0)) if t.data.get("rms") is not None else None
    return CameraCalibration(K, dist, (int(size[0]), int(size[1])), rms)


def _thermal(t: Fields, base_dir: Path | None) -> ThermalCalibration:
    _reject_unknown(t, _THERMAL)
    vals = {k: _sidecar_or_number(t, k, default, base_dir)
            for k, default in (("gain", 1.0), ("offset", 0.0))}
    try:
        return ThermalCalibration(**vals)
    except ValueError as exc:
        raise ProfileError(f"{t.source}: {t.prefix.rstrip('.')}: {exc}") from None


def _audio(t: Fields) -> AudioCalibration:
    _reject_unknown(t, _AUDIO)
    a = AudioCalibration(gain_db=t.get("gain_db", number(-120, 120), 0.0))
    for k, lo, hi in (("noise_floor_dbfs", None, 0.0), ("peak_dbfs", None, 0.0),
                      ("clipping_ratio", 0.0, 1.0)):
        if t.data.get(k) is not None:
            setattr(a, k, t.get(k, number(lo, hi)))
    return a


def _sidecar_or_number(t: Fields, key: str, default: float, base_dir: Path | None
                       ) -> float | np.ndarray:
    v = t.data.get(key, default)
    if isinstance(v, str):
        return _sidecar(t, key, v, base_dir)
    if isinstance(v, list):
        try:
            shape = np.shape(v)
        except ValueError:          # ragged: numpy cannot even say its shape
            raise _fail(t, key, f"expected a number or an (H, W) map, got {shown(v)}") from None
        a = t.get(key, matrix(shape))
        if a.ndim != 2:
            raise _fail(t, key, f"expected a number or an (H, W) map, got shape {a.shape}")
        return a.astype(np.float32)
    return t.get(key, number(), default)


def _sidecar(t: Fields, key: str, name: str, base_dir: Path | None) -> np.ndarray:
    if base_dir is None:
        raise _fail(t, key, f"refers to sidecar file {name!r}, but the profile has no folder")
    if Path(name).name != name or not name.endswith(".npy"):
        raise _fail(t, key, f"expected a .npy file name beside the profile (no folders), "
                            f"got {name!r}")
    f = base_dir / name
    try:
        a = load_npy(f, f"{t.source}: {t.label(key)}: sidecar file", ProfileError)
    except FileNotFoundError:
        raise _fail(t, key, f"sidecar file {f} is missing") from None
    if a.ndim != 2 or a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
        raise _fail(t, key, f"sidecar {f}: expected a finite numeric (H, W) array, got "
                            f"{a.dtype} {a.shape}")
    return a.astype(np.float32)


def _fail(t: Fields, key: str, msg: str) -> ProfileError:
    """A failure that is not 'expected X, got Y' (a singular matrix, a missing sidecar)."""
    return ProfileError(f"{t.source}: {t.label(key)}: {msg}")
