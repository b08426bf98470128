"""Stream configuration: the ``[[streams]]`` tables of a TOML file -> validated StreamConfig ->
a Source. Shared by the daemon config, ``edgebind record --config`` and user code.

Every error names the file (``source``), the table (``streams[i]`` and its name), the key and what
was expected; unknown keys are rejected with the closest known key as a suggestion. The keys of
each kind are listed in :data:`KINDS` (and in docs/sensors.md).
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgebind.checks import is_finite_number
from edgebind.errors import EdgeBindError
from edgebind.fileio import parse_toml
from edgebind.sensors.base import Source


class StreamConfigError(EdgeBindError, ValueError):
    """An invalid stream configuration; the message says where and what."""


@dataclass(frozen=True)
class Key:
    """One allowed key: a checker that returns the cleaned value or raises ValueError(expected)."""

    check: Callable[[Any], Any]
    help: str


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(_expect_int(lo, hi))
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(_expect_int(lo, hi))
        return int(v)
    return check


def _expect_int(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"a positive integer up to {hi}" if lo == 1 else f"an integer from {lo} to {hi}"
    if lo is not None:
        return "a positive integer" if lo == 1 else f"an integer >= {lo}"
    return "an integer"


def _num(positive: bool = False, nonneg: bool = False, nonzero: bool = False,
         hi: float | None = None) -> Callable[[Any], float]:
    """A finite number; ``hi`` bounds its magnitude (every rate and duration has a sane range:
    ``fps = 1e300`` is a typo, not a camera)."""
    what = ("a positive number" if positive else "a number >= 0" if nonneg
            else "a non-zero number" if nonzero else "a finite number")
    if hi is not None:
        what += f" up to {hi:g}"

    def check(v: Any) -> float:
        if not is_finite_number(v):
            raise ValueError(what)
        if (positive and v <= 0) or (nonneg and v < 0) or (nonzero and v == 0) \
                or (hi is not None and abs(v) > hi):
            raise ValueError(what)
        return float(v)
    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a non-empty string")
    return v


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError("one of " + ", ".join(repr(o) for o in options))
        return v
    return check


def _device(v: Any) -> int | str:
    if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, int) and v < 0) \
            or (isinstance(v, str) and not v.strip()):
        raise ValueError("a device index (integer >= 0) or a device name/path (string)")
    return v


def _str_list(v: Any) -> list[str]:
    if not isinstance(v, list) or not v or not all(isinstance(s, str) and s for s in v):
        raise ValueError("a non-empty list of stream names (strings)")
    return list(v)


def _latency(v: Any) -> str | float:
    if v in ("low", "high"):
        return v
    try:
        return _num(positive=True, hi=10.0)(v)
    except ValueError:
        raise ValueError("'low', 'high' or a positive number of seconds up to 10") from None


_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")

COMMON: dict[str, Key] = {
    "name": Key(_str, "stream id (letters, digits, _ . -); the MCAP topic is /<name>"),
    "kind": Key(_str, "camera | microphone | depth | thermal | imu | replay | sim"),
    "queue_size": Key(_int(1, 1_000_000), "samples buffered for a slow consumer (oldest dropped beyond)"),
}

_FRAME = {
    "width": Key(_int(1, 16384), "frame width in pixels (requested from live devices)"),
    "height": Key(_int(1, 16384), "frame height in pixels"),
    "fps": Key(_num(positive=True, hi=1000), "frames per second (live: requested; files: playback rate)"),
    "realtime": Key(_bool, "files: play at fps in real time (true) or as fast as possible"),
    "loop": Key(_bool, "files: start again at the end"),
}

KINDS: dict[str, dict[str, Key]] = {
    "camera": {
        "device": Key(_device, "camera index or /dev/videoN"),
        "path": Key(_str, "video file or image sequence (frames/%04d.png, frames/*.png)"),
        "url": Key(_str, "network stream (rtsp://, http://)"),
        "pipeline": Key(_str, "GStreamer pipeline ending in appsink"),
        "csi_sensor": Key(_int(0, 255), "Jetson CSI camera sensor-id (builds the nvarguscamerasrc "
                                   "pipeline from width/height/fps)"),
        "flip_method": Key(_int(0, 7), "Jetson CSI: nvvidconv flip-method"),
        "backend": Key(_choice("auto", "v4l2", "ffmpeg", "gstreamer", "images"),
                       "OpenCV capture backend"),
        **_FRAME,
    },
    "microphone": {
        "device": Key(_device, "PortAudio device index or (part of its) name; default input "
                               "when absent"),
        "rate": Key(_int(1, 1_000_000), "sample rate, frames/s"),
        "channels": Key(_int(1, 256), "number of channels"),
        "block": Key(_int(0, 1 << 20), "frames per block (0: the host API chooses)"),
        "latency": Key(_latency, "'low', 'high' or seconds"),
    },
    "depth": {
        "device": Key(_device, "device index (openni2/astra) or serial number (realsense)"),
        "path": Key(_str, "16-bit depth image sequence (depth/%06d.png, a glob or a folder)"),
        "backend": Key(_choice("openni2", "astra", "realsense"), "live depth backend"),
        "depth_scale": Key(_num(positive=True, hi=1000), "metres per raw unit (0.001 for millimetres)"),
        **_FRAME,
    },
    "thermal": {
        "device": Key(_device, "UVC Y16 camera index or /dev/videoN (PureThermal/Lepton)"),
        "path": Key(_str, "16-bit thermal image sequence"),
        "port": Key(_str, "firmware-bridge serial port / pyserial URL (frames already in kelvin)"),
        "baudrate": Key(_int(1, 100_000_000), "firmware bridge: serial baud rate"),
        "scale": Key(_num(nonzero=True, hi=1e6), "kelvin per raw count (0.01 for centikelvin)"),
        "offset": Key(_num(hi=1e6), "kelvin added after scaling"),
        **_FRAME,
    },
    "imu": {
        "port": Key(_str, "firmware-bridge serial port / pyserial URL"),
        "baudrate": Key(_int(1, 100_000_000), "serial baud rate"),
        "rate": Key(_num(positive=True, hi=100_000), "IMU output data rate to configure, rows/s"),
        "batch": Key(_int(1, 100_000), "IMU rows per message to configure"),
        "thermal_stream": Key(_str, "also deliver this device's thermal array under this name"),
        "thermal_rate": Key(_num(positive=True, hi=1000), "thermal frame rate to configure"),
    },
    "replay": {
        "path": Key(_str, "MCAP recording"),
        "speed": Key(_num(nonneg=True, hi=1000), "1 real time, 2 twice as fast, 0 as fast as "
                                                 "possible"),
        "streams": Key(_str_list, "only these recorded streams (default: all)"),
        "rebase": Key(_bool, "shift timestamps so the first sample is stamped now"),
        "loop": Key(_bool, "play again at the end (needs rebase = true)"),
    },
    "sim": {
        "scenario": Key(_str, "edgebind.sim scenario (default, demo, ...)"),
        "seed": Key(_int(0, 2**63 - 1), "random seed (same seed, same world)"),
        "duration": Key(_num(positive=True, hi=1e7), "seconds of simulated time"),
        "speed": Key(_num(nonneg=True, hi=1000), "1 real time, 2 twice as fast, 0 as fast as "
                                                 "possible"),
        "streams": Key(_str_list, "only these simulated streams (default: all)"),
        "loop": Key(_bool, "start the next run (seed + 1) at the end"),
        "difficulty": Key(_num(nonneg=True, hi=3), "world difficulty 0-3 (default 1.0; the "
                                                    "default model was trained at 0.5)"),
    },
}

# Exactly one of these selects the device of a kind.
_ONE_OF = {
    "camera": ("device", "path", "url", "pipeline", "csi_sensor"),
    "depth": ("device", "path"),
    "thermal": ("device", "path", "port"),
    "imu": ("port",),
    "replay": ("path",),
}


@dataclass(frozen=True)
class StreamConfig:
    """One validated ``[[streams]]`` table: ``name``, ``kind`` and the kind's ``options``."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "<config>"
    index: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}: streams[{self.index}] ({self.name})"


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_stream_configs(tables: Any, source: str,
                         base_dir: str | os.PathLike | None = None) -> list[StreamConfig]:
    """Validates a list of stream tables (dicts, as TOML ``[[streams]]`` gives them).

    ``base_dir``: relative file ``path`` values are taken relative to it (the config file's
    folder, so a config works from any working directory); ``~`` is expanded either way."""
    if not isinstance(tables, list):
        raise StreamConfigError(f"{source}: 'streams' must be a list of tables ([[streams]]), "
                                f"got {type(tables).__name__}")
    out: list[StreamConfig] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(tables):
        cfg = _parse_one(table, source, i)
        if "path" in cfg.options:
            p = Path(cfg.options["path"]).expanduser()
            if base_dir is not None and not p.is_absolute():
                p = Path(base_dir) / p
            cfg.options["path"] = str(p)
        names = [cfg.name]
        if cfg.kind == "imu" and "thermal_stream" in cfg.options:
            names.append(cfg.options["thermal_stream"])
        for n in names:
            if n in seen:
                raise StreamConfigError(f"{cfg.where}: stream name {n!r} is already used by "
                                        f"{seen[n]}; names must be unique")
            seen[n] = f"streams[{i}]"
        out.append(cfg)
    return out


def _parse_one(table: Any, source: str, i: int) -> StreamConfig:
    where = f"{source}: streams[{i}]"
    if not isinstance(table, dict):
        raise StreamConfigError(f"{where}: expected a table of keys, got {type(table).__name__}")
    for k in table:
        if not isinstance(k, str):
            raise StreamConfigError(f"{where}: keys must be strings, got {k!r}")
    if "name" not in table:
        raise StreamConfigError(f"{where}: missing key 'name' (expected "
                                f"{COMMON['name'].help})")
    name = table["name"]
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise StreamConfigError(f"{where}: key 'name' expected {COMMON['name'].help}, "
                                f"got {name!r}")
    where = f"{where} ({name})"
    if "kind" not in table:
        raise StreamConfigError(f"{where}: missing key 'kind' (expected one of "
                                f"{', '.join(KINDS)})")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        hint = _suggest(kind, list(KINDS)) if isinstance(kind, str) else ""
        raise StreamConfigError(f"{where}: key 'kind' expected one of {', '.join(KINDS)}, "
                                f"got {kind!r}{hint}")
    allowed = {**COMMON, **KINDS[kind]}
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("name", "kind"):
            continue
        if key not in allowed:
            raise StreamConfigError(f"{where}: unknown key {key!r} for kind {kind!r}"
                                    f"{_suggest(key, list(allowed))}; allowed: "
                                    f"{', '.join(sorted(allowed))}")
        try:
            options[key] = allowed[key].check(value)
        except ValueError as exc:
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
            raise StreamConfigError(f"{where}: key {key!r} expected {exc}, got {shown}") from None
    one_of = _ONE_OF.get(kind)
    if one_of:
        given = [k for k in one_of if k in options]
        if len(given) != 1:
            what = "key " + repr(one_of[0]) if len(one_of) == 1 else \
                "exactly one of " + ", ".join(repr(k) for k in one_of)
            raise StreamConfigError(f"{where}: kind {kind!r} needs {what}"
                                    + (f" (got {', '.join(given)})" if given else ""))
    _cross_checks(kind, options, where)
    return StreamConfig(name, kind, options, source, i)


def _cross_checks(kind: str, o: dict[str, Any], where: str) -> None:
    def bad(msg: str) -> None:
        raise StreamConfigError(f"{where}: {msg}")

    if kind == "camera" and "flip_method" in o and "csi_sensor" not in o:
        bad("key 'flip_method' only applies with 'csi_sensor'")
    if kind == "thermal" and "port" in o:
        for k in ("scale", "offset", "width", "height", "realtime", "loop"):
            if k in o:
                bad(f"key {k!r} does not apply to a firmware-bridge thermal stream ('port'); "
                    "its frames arrive in kelvin at the device's size")
    if kind == "thermal" and "port" not in o and "baudrate" in o:
        bad("key 'baudrate' only applies with 'port'")
    if kind == "replay" and o.get("loop") and not o.get("rebase"):
        bad("key 'loop' needs 'rebase = true' (replayed timestamps would repeat)")
    if kind in ("depth", "thermal", "camera") and "path" not in o and \
            ("realtime" in o or "loop" in o):
        bad("keys 'realtime' and 'loop' only apply to files ('path')")


def load_stream_configs(path: str | os.PathLike) -> list[StreamConfig]:
    """The ``[[streams]]`` tables of a TOML file, validated (errors name the file)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such config file") from None
    doc = parse_toml(raw, str(p), StreamConfigError, "not valid TOML")
    if "streams" not in doc:
        raise StreamConfigError(f"{p}: no [[streams]] tables")
    return parse_stream_configs(doc["streams"], str(p), base_dir=p.parent)


def open_source(cfg: StreamConfig) -> Source:
    """The Source a validated config describes (nothing is opened until start/iter_samples)."""
    o = dict(cfg.options)
    common = {k: o.pop(k) for k in ("queue_size",) if k in o}
    try:
        return _build(cfg.kind, cfg.name, o, common)
    except (TypeError, ValueError) as exc:
        raise StreamConfigError(f"{cfg.where}: {exc}") from None


def open_sources(cfgs: list[StreamConfig]) -> list[Source]:
    """Sources for several configs; refuses two that would produce the same stream id (a
    replay or sim table brings the stream names of its recording / world)."""
    sources = [open_source(c) for c in cfgs]
    seen: dict[str, StreamConfig] = {}
    for cfg, src in zip(cfgs, sources):
        for info in src.streams:
            if info.stream in seen:
                raise StreamConfigError(f"{cfg.where}: produces stream {info.stream!r}, which "
                                        f"{seen[info.stream].where} produces too; rename one "
                                        "(replay/sim: choose `streams`)")
            seen[info.stream] = cfg
    return sources


def _build(kind: str, name: str, o: dict[str, Any], common: dict[str, Any]) -> Source:
    if kind == "camera":
        from edgebind.sensors.sources.camera import CameraSource, jetson_csi_pipeline

        if "csi_sensor" in o:
            o["pipeline"] = jetson_csi_pipeline(
                o.pop("csi_sensor"), o.get("width", 1280), o.get("height", 720),
                o.get("fps", 30.0), o.pop("flip_method", 0))
            o["backend"] = "gstreamer"
        return CameraSource(name, **o, **common)
    if kind == "microphone":
        from edgebind.sensors.sources.microphone import MicrophoneSource

        return MicrophoneSource(name, **o, **common)
    if kind == "depth":
        from edgebind.sensors.sources.depth import DepthSource

        return DepthSource(name, **o, **common)
    if kind == "thermal":
        if "port" in o:
            from edgebind.sensors.sources.imu import bridge_thermal_source

            rate = o.pop("fps", None)
            return bridge_thermal_source(name, thermal_rate=rate, **o, **common)
        from edgebind.sensors.sources.thermal import ThermalSource

        return ThermalSource(name, **o, **common)
    if kind == "imu":
        from edgebind.sensors.sources.imu import imu_source

        return imu_source(name, port=o.pop("port"), imu_rate=o.pop("rate", None),
                          imu_batch=o.pop("batch", None), **o, **common)
    if kind == "replay":
        from edgebind.sensors.sources.replay import ReplaySource

        return ReplaySource(o.pop("path"), name=name, **o, **common)
    if kind == "sim":
        from edgebind.sensors.sources.simulated import SimSource

        if "duration" in o:
            o["duration_s"] = o.pop("duration")
        return SimSource(name=name, **o, **common)
    raise ValueError(f"unknown kind {kind!r}")  # pragma: no cover - parse rejects it
