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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.checks import split_host_port
from edgebind.errors import EdgeBindError
from edgebind.fileio import parse_toml, read_bytes
from edgebind.pipeline.config import LIMITS, PipelineConfig, expected, within
from edgebind.validate import Checker, Fields, choice, expecting, host_port

DEFAULT_LISTEN = "127.0.0.1:9108"
LOG_LEVELS = ("debug", "info", "warning", "error")
TOP_KEYS = ("bundle", "anchors", "profile", "tuned_detector", "device", "precision", "backend",
            "threads", "log_level", "streams", "windows", "detector", "thresholds", "sinks",
            "health")
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


def _one_of(options: tuple[str, ...]) -> Checker:
    return expecting(f"one of {', '.join(options)}", choice(*options))


LISTEN = host_port(DEFAULT_LISTEN)


def parse_listen(path: Path | str, key: str, v: Any) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:PORT"`` for IPv6) -> (host, port)."""
    return Fields({key: v}, str(path), ConfigError).get(key, LISTEN)


def _limit(key: str) -> Checker:
    """The ``[windows]`` checker of ``key``: its range is the pipeline's (``LIMITS``)."""
    def check(v: Any) -> Any:
        if not within(key, v):
            raise ValueError(expected(key))
        return v if isinstance(LIMITS[key][0], int) else float(v)
    return check


def _modalities(v: Any) -> tuple[str, ...]:
    from edgebind.modality import MODALITIES
    if not isinstance(v, list) or not v or any(m not in MODALITIES for m in v):
        raise ValueError(f"a non-empty list of {', '.join(MODALITIES)}")
    return tuple(v)


def _windows(f: Fields) -> PipelineConfig:
    w = f.table("windows", {})
    w.reject_unknown(WINDOW_KEYS)
    return PipelineConfig(**{k: w.get(k, _modalities if k == "modalities" else _limit(k))
                             for k in w.data})


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
    f = Fields(data, str(path), ConfigError, base_dir=path.parent)
    f.reject_unknown(TOP_KEYS)
    cfg = DaemonConfig(path=path)
    _load_settings(f, cfg)
    cfg.stream_tables, cfg.streams = _streams(f)
    cfg.windows = _windows(f)
    if "detector" in data:
        cfg.detector = dict(f.table("detector").data)
        build_detector_config(cfg.detector, str(path))          # validate now
    if "thresholds" in data:
        cfg.thresholds = _thresholds(f, cfg)
    cfg.sinks = _sinks(f)
    cfg.sink_specs = sink_specs(cfg.sinks, path)
    h = f.table("health", {})
    h.reject_unknown(HEALTH_KEYS)
    cfg.health_enabled = h.boolean("enabled", True)
    cfg.health_host, cfg.health_port = h.get("listen", LISTEN, split_host_port(DEFAULT_LISTEN))
    return cfg


def _load_settings(f: Fields, cfg: DaemonConfig) -> None:
    """What to load and how: files (relative to the config's folder) and load options."""
    for k in ("bundle", "anchors", "profile"):
        if k in f.data:
            setattr(cfg, k, Path(f.path(k, want="a path (string)")))
    if "tuned_detector" in f.data:
        cfg.tuned_detector = False if f.data["tuned_detector"] is False else \
            Path(f.path("tuned_detector", want="a path (string) or false"))
    cfg.device = f.string("device", None)
    cfg.precision = f.get("precision", _one_of(_precisions()), None)
    cfg.backend = f.get("backend", _one_of(_backends()), None)
    cfg.threads = f.integer("threads", None, 1, MAX_THREADS,
                            want=f"an integer from 1 to {MAX_THREADS}")
    cfg.log_level = f.get("log_level", _one_of(LOG_LEVELS), "info")


def _streams(f: Fields) -> tuple[list[dict], list[Any]]:
    """The ``[[streams]]`` tables as written, and validated (``edgebind.sensors``)."""
    streams = f.data.get("streams")
    if not isinstance(streams, list) or not streams \
            or not all(isinstance(s, dict) for s in streams):
        raise f.fail("streams", "at least one [[streams]] table")
    from edgebind.sensors.config import parse_stream_configs
    tables = [dict(s) for s in streams]
    try:
        return tables, parse_stream_configs(tables, f.source, base_dir=f.base_dir)
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        msg = str(exc)
        raise ConfigError(msg if f.source in msg else f"{f.source}: streams: {msg}") from None


def _thresholds(f: Fields, cfg: DaemonConfig) -> dict[str, float]:
    """Per-anchor thresholds, in the range of the decision mode the detector will run."""
    th = f.data["thresholds"]
    if not isinstance(th, dict):
        raise f.fail("thresholds", "a table of anchor name = number")
    from edgebind.detect.config import DetectorConfigError, check_levels
    try:
        return check_levels(th, f"{f.source}: thresholds", _decision(cfg))
    except DetectorConfigError as exc:
        raise ConfigError(str(exc)) from None


def _decision(cfg: DaemonConfig) -> str:
    """The decision mode the detector will run: ``[detector]``'s, else the tuned file's (read
    and validated here, so a broken one fails ``--check``), else the default."""
    if "decision" in cfg.detector:
        return cfg.detector["decision"]
    tuned = cfg.tuned()
    return tuned.settings["decision"] if tuned is not None else cfg.detector_config().decision


def _sinks(f: Fields) -> list[dict[str, Any]]:
    """The ``[[sinks]]`` tables as written (the default, when absent: one jsonl sink on stdout,
    which is the journal under systemd); kinds and unknown keys are checked here."""
    from edgebind.sinks.config import KINDS, allowed_keys
    sinks = f.data.get("sinks", [{"kind": "jsonl"}])
    if not isinstance(sinks, list):
        raise f.fail("sinks", "[[sinks]] tables")
    kinds = tuple(k for k in KINDS if k != "callback")  # callbacks: Python only
    for i, s in enumerate(sinks):
        if not isinstance(s, dict):
            raise f.fail(f"sinks[{i}]", "a table", s)
        t = Fields(s, f.source, ConfigError, prefix=f"sinks[{i}].")
        if "kind" not in s:
            raise t.fail("kind", f"one of {', '.join(kinds)}")
        kind = t.get("kind", _one_of(kinds))
        t.reject_unknown(sorted(allowed_keys(kind)), f"a {kind} sink")
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
    from edgebind.runtime.backends import REGISTRY
    return tuple(sorted({p for b in REGISTRY.values() for p in b.precisions}))


def _backends() -> tuple[str, ...]:
    from edgebind.runtime.backends import BACKENDS
    return BACKENDS


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a daemon config file; ConfigError names the file and key on failure."""
    path = Path(path)
    try:
        raw = read_bytes(path, f"{path}: no such config file", ConfigError)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(parse_toml(raw, str(path), ConfigError), path)
