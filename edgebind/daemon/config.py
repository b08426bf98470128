"""The daemon's TOML config: parsed and validated up front, so a mistake is reported as
``FILE: KEY: expected WHAT, got VALUE`` before anything opens a sensor.

```toml
bundle  = "bundles/small"        # default: the bundle shipped in edgebind.assets
anchors = "anchors.json"         # default: the shipped anchor set
profile = "profile.toml"         # optional calibration profile (offsets, IMU, thresholds)

[[streams]]                      # edgebind.sensors stream tables
name = "front"
kind = "camera"
device = 0

[windows]                        # window assembly and queueing
hop_s = 0.5

[detector]                       # edgebind.detect.DetectorConfig fields

[thresholds]                     # per-anchor overrides of the profile's thresholds
glass_breaking = 0.32

[[sinks]]                        # edgebind.sinks tables
kind = "jsonl"

[health]
listen = "127.0.0.1:9108"
```
Relative paths are resolved against the config file's folder. Unknown keys are refused.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.errors import EdgeBindError
from edgebind.pipeline import PipelineConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_LISTEN = "127.0.0.1:9108"
LOG_LEVELS = ("debug", "info", "warning", "error")
TOP_KEYS = ("bundle", "anchors", "profile", "device", "precision", "backend", "threads",
            "log_level", "streams", "windows", "detector", "thresholds", "sinks", "health")
WINDOW_KEYS = {
    "window_s": "a positive number of seconds", "hop_s": "a positive number of seconds",
    "frame_tolerance_s": "a number of seconds >= 0", "lateness_s": "a number of seconds >= 0",
    "queue_size": "an integer >= 1", "max_batch": "an integer >= 1",
    "poll_interval_s": "a positive number of seconds", "modalities": "a list of modality names",
    "warmup_s": "a number of seconds >= 0",
}
HEALTH_KEYS = ("listen", "enabled")


class ConfigError(EdgeBindError, ValueError):
    """An invalid daemon config; the message names the file, the key and what was expected."""


@dataclass
class DaemonConfig:
    path: Path
    bundle: Path | None = None
    anchors: Path | None = None
    profile: Path | None = None
    device: str | None = None
    precision: str | None = None
    backend: str | None = None
    threads: int | None = None
    log_level: str = "info"
    streams: list[Any] = field(default_factory=list)          # edgebind.sensors StreamConfig
    stream_tables: list[dict] = field(default_factory=list)   # as written (reload compares)
    windows: PipelineConfig = field(default_factory=PipelineConfig)
    detector: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    sinks: list[dict[str, Any]] = field(default_factory=list)
    health_enabled: bool = True
    health_host: str = "127.0.0.1"
    health_port: int = 9108

    def detector_config(self) -> Any:
        """``edgebind.detect.DetectorConfig`` from the ``[detector]`` table."""
        return build_detector_config(self.detector, str(self.path))


def _err(path: Path | str, key: str, expected: str, got: Any = dataclasses.MISSING) -> ConfigError:
    tail = "" if got is dataclasses.MISSING else f", got {got!r}"
    return ConfigError(f"{path}: {key}: expected {expected}{tail}")


def _reject_unknown(path: Path, table: dict, allowed: tuple[str, ...] | dict, where: str) -> None:
    for k in table:
        if k not in allowed:
            key = f"{where}.{k}" if where else k
            raise ConfigError(f"{path}: {key}: unknown key; expected one of "
                              f"{', '.join(allowed)}")


def _number(path: Path, key: str, v: Any, *, positive: bool = False, integer: bool = False,
            minimum: float | None = None, expected: str) -> Any:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or (isinstance(v, float) and not math.isfinite(v)):
        raise _err(path, key, expected, v)
    if positive and not v > 0:
        raise _err(path, key, expected, v)
    if minimum is not None and v < minimum:
        raise _err(path, key, expected, v)
    return v


def _path(path: Path, key: str, v: Any) -> Path:
    if not isinstance(v, str) or not v:
        raise _err(path, key, "a path (string)", v)
    p = Path(v).expanduser()
    return p if p.is_absolute() else (path.parent / p)


def parse_listen(path: Path | str, key: str, v: Any) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:PORT"`` for IPv6) -> (host, port)."""
    if not isinstance(v, str) or ":" not in v:
        raise _err(path, key, '"HOST:PORT", e.g. "127.0.0.1:9108"', v)
    host, _, port = v.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise _err(path, key, '"HOST:PORT" with a port 0-65535, e.g. "127.0.0.1:9108"', v)
    return host, int(port)


def _windows(path: Path, t: Any) -> PipelineConfig:
    if not isinstance(t, dict):
        raise _err(path, "windows", "a table [windows]", t)
    _reject_unknown(path, t, WINDOW_KEYS, "windows")
    kw: dict[str, Any] = {}
    for k, v in t.items():
        key = f"windows.{k}"
        if k in ("queue_size", "max_batch"):
            kw[k] = _number(path, key, v, integer=True, minimum=1, expected=WINDOW_KEYS[k])
        elif k in ("frame_tolerance_s", "lateness_s", "warmup_s"):
            kw[k] = float(_number(path, key, v, minimum=0, expected=WINDOW_KEYS[k]))
        elif k == "modalities":
            from edgebind.modality import MODALITIES
            if not isinstance(v, list) or not v or any(m not in MODALITIES for m in v):
                raise _err(path, key, f"a non-empty list of {', '.join(MODALITIES)}", v)
            kw[k] = tuple(v)
        else:
            kw[k] = float(_number(path, key, v, positive=True, expected=WINDOW_KEYS[k]))
    return PipelineConfig(**kw)


def build_detector_config(table: dict[str, Any], source: str) -> Any:
    """``DetectorConfig`` from a ``[detector]`` table; unknown keys and bad values are errors
    naming ``source`` (the file) and the key."""
    from edgebind.detect import DetectorConfig
    try:
        return DetectorConfig.from_dict(table, source=f"{source}: [detector]")
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def parse_config(data: dict[str, Any], path: str | Path) -> DaemonConfig:
    """Validate a parsed TOML document (``path`` is used for messages and relative paths)."""
    path = Path(path)
    if not isinstance(data, dict):
        raise _err(path, "(document)", "a TOML table", data)
    _reject_unknown(path, data, TOP_KEYS, "")
    cfg = DaemonConfig(path=path)
    for k in ("bundle", "anchors", "profile"):
        if k in data:
            setattr(cfg, k, _path(path, k, data[k]))
    for k in ("device", "precision", "backend"):
        if k in data:
            if not isinstance(data[k], str) or not data[k]:
                raise _err(path, k, "a non-empty string", data[k])
            setattr(cfg, k, data[k])
    if "threads" in data:
        cfg.threads = _number(path, "threads", data["threads"], integer=True, minimum=1,
                              expected="an integer >= 1")
    if "log_level" in data:
        if data["log_level"] not in LOG_LEVELS:
            raise _err(path, "log_level", f"one of {', '.join(LOG_LEVELS)}", data["log_level"])
        cfg.log_level = data["log_level"]

    streams = data.get("streams")
    if streams is None or not isinstance(streams, list) or not streams \
            or not all(isinstance(s, dict) for s in streams):
        raise _err(path, "streams", "at least one [[streams]] table", streams if streams is not None
                   else dataclasses.MISSING)
    from edgebind.sensors.config import parse_stream_configs
    cfg.stream_tables = [dict(s) for s in streams]
    try:
        cfg.streams = parse_stream_configs(cfg.stream_tables, str(path), base_dir=path.parent)
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        msg = str(exc)
        raise ConfigError(msg if str(path) in msg else f"{path}: streams: {msg}") from None

    if "windows" in data:
        cfg.windows = _windows(path, data["windows"])
    if "detector" in data:
        if not isinstance(data["detector"], dict):
            raise _err(path, "detector", "a table [detector]", data["detector"])
        cfg.detector = dict(data["detector"])
        build_detector_config(cfg.detector, str(path))          # validate now
    if "thresholds" in data:
        th = data["thresholds"]
        if not isinstance(th, dict):
            raise _err(path, "thresholds", "a table of anchor name = number", th)
        cfg.thresholds = {k: float(_number(path, f"thresholds.{k}", v, expected="a number"))
                          for k, v in th.items()}
    if "sinks" in data:
        sinks = data["sinks"]
        if not isinstance(sinks, list):
            raise _err(path, "sinks", "[[sinks]] tables", sinks)
        from edgebind.sinks import config as sink_config
        kinds = tuple(k for k in sink_config.KINDS if k != "callback")  # callbacks: Python only
        common = set(getattr(sink_config, "_COMMON", ()))
        per_kind = getattr(sink_config, "_KEYS", {})
        for i, s in enumerate(sinks):
            if not isinstance(s, dict):
                raise _err(path, f"sinks[{i}]", "a table", s)
            if s.get("kind") not in kinds:
                raise _err(path, f"sinks[{i}].kind", f"one of {', '.join(kinds)}",
                           s.get("kind", dataclasses.MISSING))
            # Unknown keys now, before anything opens (the values are checked when the sink
            # is made at start-up or reload, with the same file/key naming).
            if common and s["kind"] in per_kind:
                allowed = common | set(per_kind[s["kind"]])
                for k in s:
                    if k not in allowed:
                        raise ConfigError(f"{path}: sinks[{i}].{k}: unknown key for a "
                                          f"{s['kind']} sink; expected some of "
                                          f"{', '.join(sorted(allowed))}")
        cfg.sinks = [dict(s) for s in sinks]
    else:
        cfg.sinks = [{"kind": "jsonl"}]         # events on stdout (the journal under systemd)
    if "health" in data:
        h = data["health"]
        if not isinstance(h, dict):
            raise _err(path, "health", "a table [health]", h)
        _reject_unknown(path, h, HEALTH_KEYS, "health")
        if "enabled" in h:
            if not isinstance(h["enabled"], bool):
                raise _err(path, "health.enabled", "true or false", h["enabled"])
            cfg.health_enabled = h["enabled"]
        cfg.health_host, cfg.health_port = parse_listen(path, "health.listen",
                                                        h.get("listen", DEFAULT_LISTEN))
    return cfg


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a daemon config file; ConfigError names the file and key on failure."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, path)
