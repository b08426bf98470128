"""The on-device service: ``edgebind run --config edgebind.toml``.

``config`` (TOML validation), ``health`` (HTTP /healthz and Prometheus /metrics), ``sdnotify``
(systemd readiness and watchdog) and ``service`` (the runner: signals, reload, drain). Torch-free.
"""
from edgebind.daemon.config import ConfigError, DaemonConfig, load_config

__all__ = ["ConfigError", "DaemonConfig", "load_config"]
