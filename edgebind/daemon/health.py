"""Health and metrics over HTTP (127.0.0.1 by default):

* ``GET /healthz`` — JSON: overall status and the reasons for it, per-stream health, queue
  depth and drops, threads and progress; HTTP 200 while ``ok``/``degraded``, 503 when
  ``failing`` (a stream disconnected, a pipeline thread dead, or no window embedded for
  ``stall_hops`` hops while samples arrive).
* ``GET /metrics`` — Prometheus text exposition format 0.0.4: counters, gauges and latency
  histograms (rendered by ``edgebind.daemon.prometheus``).
"""
from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from edgebind.daemon.httpserver import GuardedHTTPServer
# The exposition lived here; old imports of it keep working.
from edgebind.daemon.prometheus import STATE_VALUE, prometheus_text  # noqa: F401

log = logging.getLogger("edgebind.daemon.health")


class HealthServer:
    """``HealthServer(host, port, health_fn, metrics_fn).start()``; port 0 picks a free one
    (``.address`` says which). Served by :class:`GuardedHTTPServer`: a request must arrive
    within ``request_timeout_s``, at most ``max_connections`` wait (a new one evicts the oldest
    idle one), and accepting backs off when descriptors run out."""

    def __init__(self, host: str, port: int, health_fn: Callable[[], dict],
                 metrics_fn: Callable[[], str], *, max_connections: int = 64,
                 request_timeout_s: float = 5.0):
        self.health_fn, self.metrics_fn = health_fn, metrics_fn
        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "edgebind"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                try:
                    if path == "/healthz":
                        h = outer.health_fn()
                        code = 503 if h.get("status") == "failing" else 200
                        self._send(code, "application/json",
                                   json.dumps(h, default=str, indent=1).encode())
                    elif path == "/metrics":
                        self._send(200, "text/plain; version=0.0.4; charset=utf-8",
                                   outer.metrics_fn().encode())
                    else:
                        self._send(404, "text/plain", b"not found; try /healthz or /metrics\n")
                except Exception as exc:   # never let a handler bug take the server down
                    log.exception("health endpoint %s failed", path)
                    self._send(500, "text/plain", f"error: {exc}\n".encode())

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

        self._server = GuardedHTTPServer(host, port, Handler, max_connections=max_connections,
                                         request_timeout_s=request_timeout_s)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    def start(self) -> "HealthServer":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def stats(self) -> dict[str, int]:
        """Connections accepted, served, evicted, timed out, refused as too large or busy."""
        return self._server.stats()


__all__ = ["HealthServer", "STATE_VALUE", "prometheus_text"]
