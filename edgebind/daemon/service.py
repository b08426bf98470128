"""``edgebind run --config FILE``: the on-device service.

Lifecycle: validate the config → open the bundle, anchors, profile, sources and sinks → start the
pipeline and the health endpoint → ``READY=1`` → loop (watchdog pings, status) until a signal.

* SIGHUP reloads anchors, thresholds (profile and ``[thresholds]``), ``[detector]`` and sinks
  without touching the streams; an invalid new config is logged and the old one kept.
* SIGTERM / SIGINT stop the sources, drain the windows already captured, close the sinks and
  exit 0.
* A sensor that fails or disappears leaves the service running: its stream is reported in
  ``/healthz`` and the others carry on (sources reconnect with backoff).
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from edgebind.daemon.config import ConfigError, DaemonConfig, load_config
from edgebind.daemon.sdnotify import Notifier

log = logging.getLogger("edgebind.daemon")


def _default_asset(kind: str) -> Path:
    from edgebind import assets
    return assets.default_bundle_path() if kind == "bundle" else assets.default_anchors_path()


def _freeze(x: Any) -> Any:
    """Hashable form of a sink table, to tell unchanged sinks on reload."""
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    return x


def build_sinks(tables: list[dict], source: str) -> list[Any]:
    """Open one sink per ``[[sinks]]`` table; on any failure close those already opened."""
    from edgebind.sinks import make_sink
    out: list[Any] = []
    try:
        for i, t in enumerate(tables):
            out.append(make_sink(dict(t), f"{source}: sinks[{i}]"))
    except BaseException:
        for s in out:
            _close(s)
        raise
    return out


def _close(sink: Any) -> None:
    try:
        sink.close()
    except Exception as exc:
        log.warning("closing sink %s: %s", type(sink).__name__, exc)


class Daemon:
    """Everything ``edgebind run`` holds. ``Daemon(config).serve()`` blocks until a stop signal
    (or ``request_stop()``) and returns the exit status."""

    def __init__(self, config: DaemonConfig, notifier: Notifier | None = None):
        from edgebind.embedder import Embedder
        from edgebind.pipeline import Pipeline
        from edgebind.sensors.config import open_source

        self.config = config
        self.notifier = notifier or Notifier.from_env()
        kw: dict[str, Any] = {}
        if config.precision:
            kw["precision"] = config.precision
        if config.backend:
            kw["backend"] = config.backend
        if config.threads:
            kw["threads"] = config.threads
        self.bundle_path = config.bundle or _default_asset("bundle")
        self.embedder = Embedder.from_bundle(self.bundle_path, **kw)
        self.space_id = self.embedder.space_id
        profile, anchor_set, detector = self._detection_parts(config)
        sinks = build_sinks(config.sinks, str(config.path))
        sources: list[Any] = []
        try:
            for sc in config.streams:
                sources.append(open_source(sc))
            self.pipeline = Pipeline(sources, self.embedder, anchor_set, detector, sinks,
                                     config=config.windows, profile=profile)
        except BaseException:
            for s in sinks:
                _close(s)
            raise
        self._sink_keys = [_freeze(t) for t in config.sinks]
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()
        self.health_server = None
        self.reloads = 0
        self.reload_failures = 0
        self.started_at = time.monotonic()

    # -- building the reloadable parts -----------------------------------------------------
    def _detection_parts(self, cfg: DaemonConfig) -> tuple[Any, Any, Any]:
        """(profile, anchor set, detector) for ``cfg``; raises on anything invalid (building
        the detector validates thresholds and settings against the anchors)."""
        from edgebind.anchors import AnchorSet
        from edgebind.detect import Detector
        profile = None
        if cfg.profile is not None:
            from edgebind.profile import Profile
            profile = Profile.load(cfg.profile, device=cfg.device, space_id=self.space_id)
        anchors_path = cfg.anchors or _default_asset("anchors")
        anchor_set = AnchorSet.load(anchors_path, space_id=self.space_id)
        thresholds = dict(getattr(profile, "thresholds", None) or {})
        thresholds.update(cfg.thresholds)
        unknown = sorted(set(thresholds) - set(anchor_set.names))
        if unknown:
            log.warning("thresholds for anchors not in %s: %s", anchors_path, ", ".join(unknown))
        detector = Detector(anchor_set, cfg.detector_config(), thresholds=thresholds)
        return profile, anchor_set, detector

    # -- health -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        h = self.pipeline.health()
        h["uptime_s"] = round(time.monotonic() - self.started_at, 3)
        h["space_id"] = self.space_id
        h["reloads"] = {"ok": self.reloads, "failed": self.reload_failures}
        return h

    def metrics_text(self) -> str:
        from edgebind.daemon.health import prometheus_text
        return prometheus_text(self.pipeline.metrics(), self.pipeline.health(),
                               {"edgebind_uptime_seconds": time.monotonic() - self.started_at,
                                "edgebind_reloads_total": self.reloads,
                                "edgebind_reload_failures_total": self.reload_failures})

    # -- reload ------------------------------------------------------------------------------
    def reload(self) -> bool:
        """Re-read the config file and swap anchors, thresholds, detector settings and sinks.
        Returns False (old config kept, error logged) when the new one is invalid."""
        self.notifier.reloading()
        path = self.config.path
        try:
            new = load_config(path)
            _, anchor_set, detector = self._detection_parts(new)
            self._swap_sinks(new, dict(anchor_set=anchor_set, thresholds=detector.thresholds,
                                       detector_config=detector.config))
        except Exception as exc:
            self.reload_failures += 1
            log.error("reload of %s failed, keeping the running config: %s", path, exc)
            self.notifier.ready(status=f"reload failed, old config kept: {exc}"[:200])
            return False
        for what, old, cur in (("streams", self.config.stream_tables, new.stream_tables),
                               ("windows", self.config.windows, new.windows),
                               ("bundle", self.config.bundle, new.bundle),
                               ("health", (self.config.health_host, self.config.health_port),
                                (new.health_host, new.health_port))):
            if old != cur:
                log.warning("%s changed in %s; that takes a restart (streams keep running)",
                            what, path)
        keep = {k: getattr(self.config, k) for k in ("stream_tables", "streams", "windows",
                                                      "bundle", "health_host", "health_port",
                                                      "health_enabled")}
        for k, v in keep.items():
            setattr(new, k, v)
        self.config = new
        self.reloads += 1
        log.info("reloaded %s: %d anchors, %d sinks", path, len(anchor_set.names),
                 len(self.pipeline.sinks))
        self.notifier.ready(status=self._status_line())
        return True

    def _swap_sinks(self, new: DaemonConfig, detection: dict[str, Any]) -> None:
        """Keep sinks whose table is unchanged, open the new ones, close the rest. A new sink
        that cannot open while a retired one holds its resource (a port, a socket path) is
        retried after closing the retired ones; if it still fails the retired ones are
        reopened from the running config and the error is raised (reload refused)."""
        src = str(new.path)
        old_tables = list(self.config.sinks)
        old_sinks = self.pipeline.sinks
        free = {i: k for i, k in enumerate(self._sink_keys)}
        new_keys = [_freeze(t) for t in new.sinks]
        reused: dict[int, int] = {}                     # new index -> old index
        for i, k in enumerate(new_keys):
            j = next((j for j, kk in free.items() if kk == k), None)
            if j is not None:
                reused[i] = j
                del free[j]
        retired = sorted(free)                          # old indices no longer wanted
        fresh = [i for i in range(len(new.sinks)) if i not in reused]

        def open_fresh() -> dict[int, Any]:
            opened: dict[int, Any] = {}
            try:
                for i in fresh:
                    opened[i] = _make_one(new.sinks[i], src, i)
            except BaseException:
                for s in opened.values():
                    _close(s)
                raise
            return opened

        try:
            opened = open_fresh()
            retired_closed = False
        except OSError as first:
            if not retired:
                raise
            log.info("opening new sinks failed (%s); retrying after closing the old ones", first)
            self.pipeline.reload(sinks=[old_sinks[j] for j in sorted(reused.values())])
            for j in retired:
                _close(old_sinks[j])
            try:
                opened = open_fresh()
            except Exception:
                restored, keys = [], []
                for j in range(len(old_sinks)):
                    if j in retired:
                        try:
                            restored.append(_make_one(old_tables[j], str(self.config.path), j))
                        except Exception as exc:
                            log.error("could not reopen sink %d after a failed reload: %s", j, exc)
                            continue
                    else:
                        restored.append(old_sinks[j])
                    keys.append(_freeze(old_tables[j]))
                self.pipeline.reload(sinks=restored)
                self._sink_keys = keys
                self.config.sinks = [old_tables[j] for j in range(len(old_sinks))
                                     if _freeze(old_tables[j]) in keys]
                raise
            retired_closed = True
        sinks = [old_sinks[reused[i]] if i in reused else opened[i] for i in range(len(new.sinks))]
        self.pipeline.reload(sinks=sinks, **detection)
        if not retired_closed:
            for j in retired:
                _close(old_sinks[j])
        self._sink_keys = new_keys

    # -- main loop ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload.set()
        self._wake.set()

    def _status_line(self) -> str:
        h = self.pipeline.health()
        bad = [n for n, s in h["streams"].items() if s.get("state") != "ok"]
        return (f"{h['status']}: {len(h['streams'])} streams"
                + (f" ({', '.join(bad)} not ok)" if bad else "")
                + f", {self.pipeline.windows_done} windows, {h['queue']['dropped']} dropped")

    def serve(self, install_signals: bool = True) -> int:
        if install_signals:
            signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
            signal.signal(signal.SIGINT, lambda *_: self.request_stop())
            signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        if self.config.health_enabled:
            from edgebind.daemon.health import HealthServer
            try:
                self.health_server = HealthServer(self.config.health_host,
                                                  self.config.health_port, self.health,
                                                  self.metrics_text).start()
            except OSError:
                self.pipeline.close(drain=False)      # the sinks opened in __init__
                raise
            host, port = self.health_server.address
            log.info("health on http://%s:%d/healthz, metrics on /metrics", host, port)
        self.pipeline.start()
        log.info("running: %d streams, %d anchors, bundle %s (space %s)",
                 len(self.pipeline.stream_infos), len(self.pipeline.detector.anchor_set.names)
                 if hasattr(self.pipeline.detector, "anchor_set") else -1,
                 self.bundle_path, self.space_id)
        self.notifier.ready(status=self._status_line())
        wd = self.notifier.watchdog_interval_s()
        tick = min(1.0, wd) if wd else 1.0
        last_status = 0.0
        try:
            while not self._stop.is_set():
                self._wake.wait(tick)
                self._wake.clear()
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    self.reload()
                # Ping only while the inference worker lives: a hung service gets restarted.
                if wd and self.pipeline.worker_alive():
                    self.notifier.watchdog()
                if time.monotonic() - last_status > 10:
                    last_status = time.monotonic()
                    self.notifier.status(self._status_line())
        finally:
            self.notifier.stopping()
            log.info("stopping: draining captured windows")
            self.pipeline.close(drain=True)
            if self.health_server is not None:
                self.health_server.stop()
            log.info("stopped after %d windows (%d dropped)", self.pipeline.windows_done,
                     self.pipeline.health()["queue"]["dropped"])
            self.notifier.close()
        return 0


def _make_one(table: dict, source: str, index: int) -> Any:
    from edgebind.sinks import make_sink
    return make_sink(dict(table), f"{source}: sinks[{index}]")


# -- CLI ----------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Run the on-device detection service from a TOML config: sensors → windows "
                     "→ bundle encoders → detector → sinks, with /healthz and /metrics over HTTP "
                     "(127.0.0.1:9108 by default) and systemd notifications. SIGHUP reloads "
                     "anchors, thresholds, detector settings and sinks; SIGTERM drains and exits. "
                     "See docs/daemon.md and examples/edgebind.toml.")
    p.add_argument("--config", required=True, metavar="FILE", help="daemon config (TOML)")
    p.add_argument("--check", action="store_true",
                   help="validate the config (and open the bundle and anchors), then exit")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None,
                   help="override the config's log_level")


def check(cfg: DaemonConfig) -> str:
    """Validate everything that can be checked without opening sensors or sinks: the
    bundle (hashes), the anchors (same space), the profile (device, space), the detector
    settings and thresholds. Raises on the first problem."""
    from edgebind.anchors import AnchorSet
    from edgebind.detect import Detector
    from edgebind.embedder import Embedder
    emb = Embedder.from_bundle(cfg.bundle or _default_asset("bundle"))
    aset = AnchorSet.load(cfg.anchors or _default_asset("anchors"), space_id=emb.space_id)
    thresholds = {}
    if cfg.profile is not None:
        from edgebind.profile import Profile
        thresholds.update(Profile.load(cfg.profile, device=cfg.device,
                                       space_id=emb.space_id).thresholds)
    thresholds.update(cfg.thresholds)
    Detector(aset, cfg.detector_config(), thresholds=thresholds)
    return (f"{cfg.path}: ok ({len(cfg.streams)} streams, {len(cfg.sinks)} sinks, "
            f"{len(aset.targets)} event anchors, space {emb.space_id})")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    logging.basicConfig(level=(args.log_level or cfg.log_level).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.check:
        print(check(cfg))
        return 0
    daemon = Daemon(cfg)
    return daemon.serve()


__all__ = ["ConfigError", "Daemon", "add_arguments", "build_sinks", "run"]
