"""The daemon's TOML config: parsed and validated up front, so a mistake is reported as
``FILE: KEY: expected WHAT, got VALUE`` before anything opens a sensor.

```toml
bundle  = "bundles/small"        # default: the bundle shipped in edgebind.assets
anchors = "anchors.json"         # default: the shipped anchor set
profile = "profile.toml"         # optional calibration profile (offsets, IMU, thresholds)
tuned_detector = "detector.json" # default: the detector.json beside the anchors; false: none

[[streams]]                      # edgebind.sensors stream tables
name = "front"
kind = "camera"
device = 0

[windows]                        # window assembly and queueing
hop_s = 0.5

[detector]                       # edgebind.detect.DetectorConfig fields, over the tuned ones

[thresholds]                     # per-anchor overrides of the profile's thresholds
glass_breaking = 0.32

[[sinks]]                        # edgebind.sinks tables
kind = "jsonl"

[health]
listen = "127.0.0.1:9108"
```
Relative paths (here and in sink tables) are resolved against the config file's folder.
Unknown keys are refused; every duration, rate and threshold has a range, and sink tables are
validated (not opened) here, so a config that passes ``--check`` starts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.checks import is_finite_number, split_host_port
from edgebind.errors import EdgeBindError
from edgebind.fileio import parse_toml
from edgebind.pipeline_parts import LIMITS, PipelineConfig, expected, within

DEFAULT_LISTEN = "127.0.0.1:9108"
LOG_LEVELS = ("debug", "info", "warning", "error")
TOP_KEYS = ("bundle", "anchors", "profile", "tuned_detector", "device", "precision", "backend",
            "threads", "log_level", "streams", "windows", "detector", "thresholds", "sinks", "health")
WINDOW_KEYS = (*LIMITS, "modalities")
HEALTH_KEYS = ("listen", "enabled")
MAX_THREADS = 256


class ConfigError(EdgeBindError, ValueError):
    """An invalid daemon config; the message names the file, the key and what was expected."""


@dataclass
class DaemonConfig:
    path: Path
    bundle: Path | None = None
    anchors: Path | None = None
    profile: Path | None = None
    tuned_detector: Path | bool | None = None   # None: detector.json beside the anchors
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
    sinks: list[dict[str, Any]] = field(default_factory=list)      # as written (reload compares)
    sink_specs: list[Any] = field(default_factory=list)            # edgebind.sinks SinkSpec
    health_enabled: bool = True
    health_host: str = "127.0.0.1"
    health_port: int = 9108

    def detector_config(self) -> Any:
        """``edgebind.detect.DetectorConfig`` from the ``[detector]`` table alone."""
        return build_detector_config(self.detector, str(self.path))

    def anchors_path(self) -> Path:
        """The anchor set: the config's, else the one shipped with the default bundle."""
        from edgebind import assets
        return self.anchors if self.anchors is not None else assets.default_anchors_path()

    def tuned(self) -> Any:
        """The tuned-detector file that applies (``edgebind.detect.tuned.TunedDetector``), read
        and validated, or None; ConfigError names this file, the key and the detector file."""
        from edgebind import assets
        from edgebind.detect import tuned
        key = "tuned_detector" if self.tuned_detector not in (None, False) else \
            f"tuned_detector (default: the {tuned.FILE_NAME} beside the anchors)"
        # Not default_anchors_path(): a missing default anchor set is reported where it loads.
        anchors = self.anchors if self.anchors is not None else assets.DEFAULT_DIR / "anchors.json"
        try:
            path = tuned.locate(self.tuned_detector, anchors)
            return None if path is None else tuned.read_tuned(path)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self.path}: {key}: {exc}") from None

    def load_kwargs(self) -> dict[str, Any]:
        """``precision``, ``backend``, ``threads`` as ``Embedder.from_bundle`` takes them."""
        kw = {k: getattr(self, k) for k in ("precision", "backend", "threads")}
        return {k: v for k, v in kw.items() if v}


def _err(path: Path | str, key: str, expected: str, got: Any = dataclasses.MISSING) -> ConfigError:
    tail = "" if got is dataclasses.MISSING else f", got {_short(got)}"
    return ConfigError(f"{path}: {key}: expected {expected}{tail}")


def _short(v: Any) -> str:
    """A value for an error message; a 400-digit integer is not worth printing whole."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**30:
        return f"an integer of {len(str(abs(v)))} digits"
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _reject_unknown(path: Path, table: dict, allowed: tuple[str, ...] | dict, where: str) -> None:
    for k in table:
        if k not in allowed:
            key = f"{where}.{k}" if where else k
            raise ConfigError(f"{path}: {key}: unknown key; expected one of "
                              f"{', '.join(allowed)}")


def _number(path: Path, key: str, v: Any, *, integer: bool = False, minimum: float | None = None,
            maximum: float | None = None, expected: str) -> Any:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if not ok or not is_finite_number(v):
        raise _err(path, key, expected, v)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
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
    parsed = split_host_port(v)
    if parsed is None:
        raise _err(path, key, '"HOST:PORT" with a port 0-65535, e.g. "127.0.0.1:9108"', v)
    return parsed


def _windows(path: Path, t: Any) -> PipelineConfig:
    if not isinstance(t, dict):
        raise _err(path, "windows", "a table [windows]", t)
    _reject_unknown(path, t, WINDOW_KEYS, "windows")
    kw: dict[str, Any] = {}
    for k, v in t.items():
        key = f"windows.{k}"
        if k == "modalities":
            from edgebind.modality import MODALITIES
            if not isinstance(v, list) or not v or any(m not in MODALITIES for m in v):
                raise _err(path, key, f"a non-empty list of {', '.join(MODALITIES)}", v)
            kw[k] = tuple(v)
        elif not within(k, v):
            raise _err(path, key, expected(k), v)
        else:
            kw[k] = v if isinstance(LIMITS[k][0], int) else float(v)
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
    if "tuned_detector" in data:
        v = data["tuned_detector"]
        if v is not False and not isinstance(v, str):
            raise _err(path, "tuned_detector", "a path (string) or false", v)
        cfg.tuned_detector = False if v is False else _path(path, "tuned_detector", v)
    if "device" in data:
        if not isinstance(data["device"], str) or not data["device"]:
            raise _err(path, "device", "a non-empty string", data["device"])
        cfg.device = data["device"]
    for k, choices in (("precision", _precisions()), ("backend", _backends())):
        if k in data:
            if data[k] not in choices:
                raise _err(path, k, f"one of {', '.join(choices)}", data[k])
            setattr(cfg, k, data[k])
    if "threads" in data:
        cfg.threads = _number(path, "threads", data["threads"], integer=True, minimum=1,
                              maximum=MAX_THREADS, expected=f"an integer from 1 to {MAX_THREADS}")
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
        from edgebind.detect.config import DetectorConfigError, check_levels
        try:
            cfg.thresholds = check_levels(th, f"{path}: thresholds", _decision(cfg))
        except DetectorConfigError as exc:
            raise ConfigError(str(exc)) from None
    cfg.sinks = _sinks(path, data["sinks"]) if "sinks" in data else [{"kind": "jsonl"}]
    cfg.sink_specs = sink_specs(cfg.sinks, path)
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


def _decision(cfg: DaemonConfig) -> str:
    """The decision mode the detector will run: ``[detector]``'s, else the tuned file's (read
    and validated here, so a broken one fails ``--check``), else the default."""
    if "decision" in cfg.detector:
        return cfg.detector["decision"]
    tuned = cfg.tuned()
    return tuned.settings["decision"] if tuned is not None else cfg.detector_config().decision


def _sinks(path: Path, sinks: Any) -> list[dict[str, Any]]:
    """The ``[[sinks]]`` tables as written (the default, when absent: one jsonl sink on stdout,
    which is the journal under systemd); kinds and unknown keys are checked here."""
    from edgebind.sinks import config as sink_config
    if not isinstance(sinks, list):
        raise _err(path, "sinks", "[[sinks]] tables", sinks)
    kinds = tuple(k for k in sink_config.KINDS if k != "callback")  # callbacks: Python only
    for i, s in enumerate(sinks):
        if not isinstance(s, dict):
            raise _err(path, f"sinks[{i}]", "a table", s)
        if s.get("kind") not in kinds:
            raise _err(path, f"sinks[{i}].kind", f"one of {', '.join(kinds)}",
                       s.get("kind", dataclasses.MISSING))
        allowed = set(sink_config._COMMON) | sink_config._KEYS[s["kind"]]
        for k in s:
            if k not in allowed:
                raise ConfigError(f"{path}: sinks[{i}].{k}: unknown key for a {s['kind']} sink; "
                                  f"expected some of {', '.join(sorted(allowed))}")
    return [dict(s) for s in sinks]


def sink_specs(tables: list[dict[str, Any]], path: Path) -> list[Any]:
    """Every sink table validated, nothing opened (paths relative to the config's folder)."""
    from edgebind.sinks.config import SinkConfigError, parse_sink
    try:
        return [parse_sink(dict(t), f"{path}: sinks[{i}]", path.parent)
                for i, t in enumerate(tables)]
    except SinkConfigError as exc:
        raise ConfigError(str(exc)) from None


def _precisions() -> tuple[str, ...]:
    from edgebind.runtime.bundle import PRECISION_ORDER
    return tuple(sorted({p for ps in PRECISION_ORDER.values() for p in ps}))


def _backends() -> tuple[str, ...]:
    from edgebind.runtime.bundle import BACKENDS
    return BACKENDS


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a daemon config file; ConfigError names the file and key on failure."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(parse_toml(raw, str(path), ConfigError), path)
