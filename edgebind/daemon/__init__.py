"""The on-device service: ``edgebind run --config edgebind.toml``.

``config`` (TOML validation), ``health`` (HTTP /healthz and Prometheus /metrics, served by
``httpserver``'s guarded server), ``sdnotify`` (systemd readiness and watchdog), ``sinkswap``
(sinks swapped on reload without touching the running ones on failure) and ``service`` (the
runner: signals, reload, drain). Torch-free.
"""
from edgebind.daemon.config import ConfigError, DaemonConfig, load_config

__all__ = ["ConfigError", "DaemonConfig", "load_config"]
