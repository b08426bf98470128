"""The on-device service that ``edgebind run --config FILE`` starts (its command line:
``edgebind.daemon.cli``).

Lifecycle: install the signal handlers → validate the config → open the bundle, anchors, profile,
sources and sinks → start the pipeline and the health endpoint → ``READY=1`` → loop (watchdog
pings while windows are being embedded, status) until a signal.

* SIGHUP reloads anchors, thresholds (profile and ``[thresholds]``), ``[detector]`` and sinks
  without touching the streams; an invalid new config, or a new sink that cannot open, is logged
  and the old config kept with its sinks untouched. A SIGHUP during start-up is served once the
  daemon runs.
* SIGTERM / SIGINT stop the sources, drain the windows already captured, close the sinks and
  exit 0.
* A sensor that fails or disappears leaves the service running: its stream is reported in
  ``/healthz`` and the others carry on (sources reconnect with backoff).
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from edgebind.daemon import sinkswap
from edgebind.daemon.config import ConfigError, DaemonConfig, load_config
from edgebind.daemon.sdnotify import Notifier

log = logging.getLogger("edgebind.daemon")
# Until the first sample arrives (or this long after start), the status line says "starting"
# rather than judging streams that have not had the time to deliver.
START_GRACE_S = 30.0


def _default_asset(kind: str) -> Path:
    from edgebind import assets
    return assets.default_bundle_path() if kind == "bundle" else assets.default_anchors_path()


def build_sinks(tables: list[dict], source: str, base_dir: Path | None = None) -> list[Any]:
    """Open one sink per ``[[sinks]]`` table; on any failure close those already opened."""
    from edgebind.sinks import make_sinks
    return make_sinks(list(tables), source, base_dir)


def detection_parts(cfg: DaemonConfig, space_id: str) -> tuple[Any, Any, Any, Path | None]:
    """(profile, anchor set, detector, tuned-detector file or None) for ``cfg`` in the bundle's
    space; raises on anything invalid, naming the file (building the detector checks thresholds
    against the anchors). The detector is built as everywhere else (``edgebind.detect.tuned``):
    the tuned file, then ``[detector]``; its levels, then the profile's thresholds, then
    ``[thresholds]``."""
    from edgebind.anchors import AnchorSet
    from edgebind.detect import tuned
    profile = None
    if cfg.profile is not None:
        from edgebind.profile import Profile
        profile = Profile.load(cfg.profile, device=cfg.device, space_id=space_id)
    anchors_path = cfg.anchors_path()
    anchor_set = AnchorSet.load(anchors_path, space_id=space_id)
    overrides = [getattr(profile, "thresholds", None) or {}, cfg.thresholds]
    unknown = sorted(set().union(*overrides) - set(anchor_set.names))
    if unknown:
        log.warning("thresholds for anchors not in %s: %s", anchors_path, ", ".join(unknown))
    tuned_file = cfg.tuned()               # read here, so that a bad one names the config key
    try:
        detector, _ = tuned.build_detector(
            anchor_set, anchors_path, choice=tuned_file or False,
            space_id=space_id, settings=cfg.detector, thresholds=overrides,
            source=f"{cfg.path}: [detector]")
    except ConfigError:
        raise
    except ValueError as exc:        # thresholds out of the decision's range, no event anchors
        parts = [f"anchors {anchors_path}"] + ([f"profile {cfg.profile}"] if profile else []) \
            + ([f"tuned detector {tuned_file.path}"] if tuned_file else [])
        raise ConfigError(f"{cfg.path} ({', '.join(parts)}): {exc}") from None
    return profile, anchor_set, detector, (tuned_file.path if tuned_file else None)


class Control:
    """Stop and reload requests. ``install()`` hooks SIGTERM/SIGINT (stop) and SIGHUP (reload)
    before anything slow happens: a signal during start-up is then a request served once the
    daemon runs, never the default action (SIGHUP's kills the process)."""

    def __init__(self) -> None:
        self.stop, self.reload, self.wake = threading.Event(), threading.Event(), threading.Event()
        self.installed = False

    def install(self) -> "Control":
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        self.installed = True
        return self

    def request_stop(self) -> None:
        self.stop.set()
        self.wake.set()

    def request_reload(self) -> None:
        self.reload.set()
        self.wake.set()


class Daemon:
    """Everything ``edgebind run`` holds. ``Daemon(config).serve()`` blocks until a stop signal
    (or ``request_stop()``) and returns the exit status."""

    def __init__(self, config: DaemonConfig, notifier: Notifier | None = None,
                 control: Control | None = None, foxglove: tuple[str, int] | None = None):
        from edgebind.embedder import Embedder
        from edgebind.pipeline import Pipeline
        from edgebind.sensors.config import open_source
        from edgebind.sinks.config import open_sink

        self.config = config
        self.notifier = notifier or Notifier.from_env()
        self.control = control or Control()
        self.bundle_path = config.bundle or _default_asset("bundle")
        self.embedder = Embedder.from_bundle(self.bundle_path, text=False, **config.load_kwargs())
        self.space_id = self.embedder.space_id
        profile, anchor_set, detector, self.tuned_detector = detection_parts(config, self.space_id)
        sinks = sinkswap.open_all(config.sink_specs, open_sink)
        self.foxglove = None
        try:
            sources = [open_source(sc) for sc in config.streams]
            views: dict[str, Any] = {}
            if foxglove is not None:         # the live view: `edgebind run --foxglove`
                sources, views = self._foxglove_view(sources, foxglove)
            self.pipeline = Pipeline(sources, self.embedder, anchor_set, detector, sinks,
                                     config=config.windows, profile=profile, **views)
        except BaseException:
            for s in sinks:
                sinkswap.close_quietly(s)
            raise
        self.health_server = None
        self.reloads = 0
        self.reload_failures = 0
        self.started_at = time.monotonic()
        self.started_wall = time.time()         # edgebind_start_time_seconds

    def _foxglove_view(self, sources: list[Any], address: tuple[str, int]
                       ) -> tuple[list[Any], dict[str, Any]]:
        """The Foxglove bridge (started in ``serve``), the sources tapped for it, and the
        pipeline callbacks that feed it scores and detections."""
        from edgebind.foxglove import FoxgloveBridge, tap_sources
        self.foxglove = FoxgloveBridge([i for s in sources for i in s.streams], *address)
        return (tap_sources(sources, self.foxglove.on_sample),
                {"on_window": self.foxglove.on_window, "on_event": self.foxglove.on_event})

    # -- health -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        h = self.pipeline.health()
        h["uptime_s"] = round(time.monotonic() - self.started_at, 3)
        h["space_id"] = self.space_id
        h["reloads"] = {"ok": self.reloads, "failed": self.reload_failures}
        h["tuned_detector"] = None if self.tuned_detector is None else str(self.tuned_detector)
        return h

    def _detector_line(self) -> str:
        d = self.pipeline.detector.config
        src = f"tuned {self.tuned_detector}" if self.tuned_detector else "untuned"
        extra = " with [detector] overrides" if self.config.detector else ""
        return f"{src}{extra} ({d.decision} decision)"

    def metrics_text(self) -> str:
        from edgebind.daemon.prometheus import prometheus_text
        service = {"start_time_seconds": self.started_wall, "reloads": self.reloads,
                   "reload_failures": self.reload_failures,
                   "http": self.health_server.stats() if self.health_server else {}}
        return prometheus_text(self.pipeline.metrics(), self.pipeline.health(), service=service)

    # -- reload ------------------------------------------------------------------------------
    def reload(self) -> bool:
        """Re-read the config file and swap anchors, thresholds, detector settings and sinks.
        Returns False (old config kept, error logged) when the new one is invalid or one of its
        new sinks cannot open; the running sinks are then untouched."""
        from edgebind.sinks.config import open_sink
        # Type=notify-reload: systemd's reload job runs from this to the READY=1 below.
        self.notifier.reloading(status=f"reloading {self.config.path}")
        path, old = self.config.path, self.config
        try:
            new = load_config(path)
            _, anchor_set, detector, tuned_file = detection_parts(new, self.space_id)
            sinks = sinkswap.swap(self.pipeline.sinks, old.sinks, old.sink_specs, new.sinks,
                                  new.sink_specs, open_sink,
                                  lambda running: self.pipeline.reload(sinks=running))
        except Exception as exc:
            self.reload_failures += 1
            log.error("reload of %s failed, keeping the running config: %s", path, exc)
            self.notifier.ready(status=f"reload failed, old config kept: {exc}"[:200])
            return False
        self.pipeline.reload(sinks=sinks, anchor_set=anchor_set, thresholds=detector.thresholds,
                             detector_config=detector.config)
        self._keep_restart_only_settings(new)
        self.config, self.tuned_detector = new, tuned_file
        self.reloads += 1
        log.info("reloaded %s: %d anchors, %d sinks, detector %s", path, len(anchor_set.names),
                 len(sinks), self._detector_line())
        self.notifier.ready(status=self._status_line())
        return True

    def _keep_restart_only_settings(self, new: DaemonConfig) -> None:
        """Streams, windows, bundle and health change only with a restart: say so, keep them."""
        old = self.config
        for what, a, b in (("streams", old.stream_tables, new.stream_tables),
                           ("windows", old.windows, new.windows),
                           ("bundle", (old.bundle, old.load_kwargs()),
                            (new.bundle, new.load_kwargs())),
                           ("health", (old.health_host, old.health_port, old.health_enabled),
                            (new.health_host, new.health_port, new.health_enabled))):
            if a != b:
                log.warning("%s changed in %s; that takes a restart (streams keep running)",
                            what, new.path)
        for k in ("stream_tables", "streams", "windows", "bundle", "precision", "backend",
                  "threads", "health_host", "health_port", "health_enabled"):
            setattr(new, k, getattr(old, k))

    # -- main loop ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.control.request_stop()

    def request_reload(self) -> None:
        self.control.request_reload()

    def _status_line(self) -> str:
        h = self.pipeline.health()
        counts = (f"{len(h['streams'])} streams, {self.pipeline.windows_done} windows, "
                  f"{h['queue']['dropped']} dropped")
        if (not any(st.get("received") for st in h["streams"].values())
                and time.monotonic() - self.started_at < START_GRACE_S):
            return f"starting (waiting for the first samples): {counts}"
        why = f" ({h['reasons'][0]})" if h.get("reasons") else ""
        return f"{h['status']}{why}: {counts}"

    def _start_health(self) -> None:
        from edgebind.daemon.health import HealthServer
        try:
            self.health_server = HealthServer(self.config.health_host, self.config.health_port,
                                              self.health, self.metrics_text).start()
        except OSError:
            self.pipeline.close(drain=False)      # the sinks opened in __init__
            raise
        host, port = self.health_server.address
        log.info("health on http://%s:%d/healthz, metrics on /metrics", host, port)

    def serve(self, install_signals: bool = True) -> int:
        if install_signals and not self.control.installed:
            self.control.install()
        if self.config.health_enabled:
            self._start_health()
        if self.foxglove is not None:
            try:
                self.foxglove.start()
            except BaseException:
                self.pipeline.close(drain=False)
                if self.health_server is not None:
                    self.health_server.stop()
                raise
        self.pipeline.start()
        log.info("running: %d streams, %d anchors, bundle %s (space %s), detector %s",
                 len(self.pipeline.stream_infos), len(self.pipeline.detector.anchor_set.names),
                 self.bundle_path, self.space_id, self._detector_line())
        self.notifier.ready(status=self._status_line())
        try:
            self._loop()
        finally:
            self.notifier.stopping()
            log.info("stopping: draining captured windows")
            self.pipeline.close(drain=True)
            if self.health_server is not None:
                self.health_server.stop()
            if self.foxglove is not None:
                self.foxglove.stop()
            log.info("stopped after %d windows (%d dropped)", self.pipeline.windows_done,
                     self.pipeline.health()["queue"]["dropped"])
            self._log_sink_accounts()
            self.notifier.close()
        return 0

    def _log_sink_accounts(self) -> None:
        """One line per sink with its final counters: what was emitted to it, delivered,
        dropped (counted), failed; the journal keeps the account after the process is gone."""
        keys = ("emitted", "delivered", "dropped", "errors", "filtered", "client_drops",
                "accepted", "refused", "disconnected", "accept_errors", "acked", "lost_at_close")
        for i, sink in enumerate(self.pipeline.sinks):
            try:
                st = sink.stats()
            except Exception as exc:
                log.warning("sink %d: no final stats (%s)", i, exc)
                continue
            account = {k: st[k] for k in keys if k in st}
            log.info("sink %d %s final: %s", i, st.get("name", "?"), json.dumps(account))

    def _loop(self) -> None:
        c = self.control
        wd = self.notifier.watchdog_interval_s()
        tick = min(1.0, wd) if wd else 1.0
        last_status = 0.0
        while not c.stop.is_set():
            c.wake.wait(tick)
            c.wake.clear()
            if c.reload.is_set() and not c.stop.is_set():
                c.reload.clear()
                self.reload()
            # Ping only while windows are being embedded: a worker stuck in inference or failing
            # every batch, or a dead pipeline thread, gets the service restarted.
            if wd and self.pipeline.progressing():
                self.notifier.watchdog()
            if self.foxglove is not None:
                self.foxglove.tick(self.health)
            if time.monotonic() - last_status > 10:
                last_status = time.monotonic()
                self.notifier.status(self._status_line())


def check(cfg: DaemonConfig) -> str:
    """Validate everything that can be checked without opening sensors or sinks: the bundle
    (hashes; with the config's precision, backend and threads), the anchors (same space), the
    profile (device, space), the detector settings, thresholds and sink tables. Raises on the
    first problem; returns the one-line summary (``checking.check_report`` has it as data)."""
    from edgebind.daemon.checking import check_report, format_check
    return format_check(check_report(cfg))


def __getattr__(name: str):
    # The command line moved to edgebind.daemon.cli; old imports of it keep working. Lazy,
    # because that module imports this one.
    if name in ("add_arguments", "run"):
        from edgebind.daemon import cli
        return getattr(cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConfigError", "Control", "Daemon", "build_sinks", "check", "detection_parts"]
