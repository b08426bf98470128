"""Profile files: JSON or TOML chosen by the suffix, large arrays in ``.npy`` sidecars.

Parsing and atomic writes are :mod:`edgebind.fileio`'s (one hostile-file policy for every
format the SDK reads); what this module adds is the profile's dict form and two small writers
that keep files readable by people: one key per line, matrices on one line.
"""
from __future__ import annotations

import io as _io
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from edgebind.fileio import atomic_write, parse_json, parse_toml
from edgebind.profile.schema import SCHEMA, Profile, ProfileError

Sidecar = Callable[[str, str, np.ndarray], str]


def load(path: str | os.PathLike, device: str | None = None,
         space_id: str | None = None) -> Profile:
    """Read a JSON or TOML profile; refuse another device / embedding space when given."""
    from edgebind.profile.parse import parse_profile
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration profile {path} does not exist")
    profile = parse_profile(_decode(path.read_bytes(), path), str(path), path.parent)
    profile.check(device, space_id, source=f"profile {path}")
    return profile


def save(profile: Profile, path: str | os.PathLike) -> Path:
    """Write atomically: JSON, or TOML when the suffix is ``.toml``; arrays as sidecars
    ``<stem>.<stream>.thermal_<key>.npy`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def sidecar(stream: str, key: str, arr: np.ndarray) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
        name = f"{path.stem}.{safe}.thermal_{key}.npy"
        atomic_write(path.parent / name, _npy_bytes(arr))
        return name

    data = profile_to_dict(profile, sidecar)
    text = dumps_toml(data) if path.suffix.lower() == ".toml" else dumps_json(data)
    atomic_write(path, text.encode("utf-8"))
    return path


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


# -- dict form -------------------------------------------------------------------------------
def profile_to_dict(p: Profile, sidecar: Sidecar | None = None) -> dict[str, Any]:
    """Plain data. ``sidecar(stream, key, array) -> file name`` stores arrays; without it
    arrays are inlined as nested lists (fine in memory, large on disk)."""
    streams: dict[str, Any] = {}
    for name, s in p.streams.items():
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
            d["thermal"] = {key: _array_or_value(getattr(s.thermal, key), name, key, sidecar)
                            for key in ("gain", "offset")}
        if s.audio is not None:
            d["audio"] = _drop_none(s.audio.to_dict())
        streams[name] = d
    out: dict[str, Any] = {"schema": SCHEMA, "device": p.device}
    if p.space_id:
        out["space_id"] = p.space_id
    out["streams"] = streams
    out["thresholds"] = {k: float(v) for k, v in p.thresholds.items()}
    out["quant"] = dict(p.quant)
    out["history"] = list(p.history)
    return out


def _array_or_value(v: Any, stream: str, key: str, sidecar: Sidecar | None) -> Any:
    if not isinstance(v, np.ndarray):
        return v
    return sidecar(stream, key, v) if sidecar else v.tolist()


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


# -- writers ---------------------------------------------------------------------------------
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
