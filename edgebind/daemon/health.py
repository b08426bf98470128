"""Health and metrics over HTTP (127.0.0.1 by default):

* ``GET /healthz`` — JSON: overall status and the reasons for it, per-stream health, queue
  depth and drops, threads and progress; HTTP 200 while ``ok``/``degraded``, 503 when
  ``failing`` (a stream disconnected, a pipeline thread dead, or no window embedded for
  ``stall_hops`` hops while samples arrive).
* ``GET /metrics`` — Prometheus text exposition format 0.0.4: counters, gauges and latency
  histograms.
"""
from __future__ import annotations

import json
import logging
import math
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from edgebind.daemon.httpserver import GuardedHTTPServer

log = logging.getLogger("edgebind.daemon.health")
STATE_VALUE = {"ok": 1.0, "degraded": 0.5}


def _esc(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: Any) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}" if kv else ""


def _num(v: Any) -> str:
    v = float(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v) if not v.is_integer() else str(int(v))


class _Text:
    """Collects samples per metric family; renders each family as one group (the format
    requires it), in first-seen order."""

    def __init__(self) -> None:
        self._families: dict[str, list[str]] = {}

    def _family(self, name: str, mtype: str, help_text: str) -> list[str]:
        if name not in self._families:
            self._families[name] = [f"# HELP {name} {help_text}", f"# TYPE {name} {mtype}"]
        return self._families[name]

    def add(self, name: str, mtype: str, help_text: str, value: Any, /, **labels: Any) -> None:
        self._family(name, mtype, help_text).append(f"{name}{_labels(**labels)} {_num(value)}")

    def histogram(self, name: str, help_text: str, snap: dict, /, **labels: Any) -> None:
        lines = self._family(name, "histogram", help_text)
        for le, c in snap["buckets"]:
            lines.append(f"{name}_bucket{_labels(**labels, le=_num(le))} {c}")
        lines.append(f"{name}_sum{_labels(**labels)} {_num(snap['sum'])}")
        lines.append(f"{name}_count{_labels(**labels)} {snap['count']}")

    @property
    def lines(self) -> list[str]:
        return [line for fam in self._families.values() for line in fam]


def prometheus_text(metrics: dict[str, Any], health: dict[str, Any],
                    extra: dict[str, float] | None = None) -> str:
    """Render ``Pipeline.metrics()`` and ``Pipeline.health()`` as Prometheus text."""
    t = _Text()
    for stream, n in sorted(metrics.get("samples", {}).items()):
        t.add("edgebind_samples_total", "counter", "Samples received per stream.", n, stream=stream)
    for stream, n in sorted(metrics.get("sample_errors", {}).items()):
        t.add("edgebind_sample_errors_total", "counter", "Samples refused per stream.", n,
              stream=stream)
    for stream, h in sorted(health.get("streams", {}).items()):
        state = h.get("state", "unknown")
        t.add("edgebind_stream_up", "gauge", "1 ok, 0.5 degraded, 0 disconnected/unknown.",
              STATE_VALUE.get(state, 0.0), stream=stream, state=state)
        for key in ("dropped", "errors", "reconnects"):
            if isinstance(h.get(key), (int, float)):
                t.add(f"edgebind_stream_{key}_total", "counter",
                      f"Source-reported {key} per stream.", h[key], stream=stream)
    t.add("edgebind_windows_assembled_total", "counter", "Windows assembled.",
          metrics.get("windows_assembled", 0))
    t.add("edgebind_windows_processed_total", "counter", "Windows embedded and scored.",
          metrics.get("windows_processed", 0))
    t.add("edgebind_windows_dropped_total", "counter",
          "Windows dropped (oldest first) because inference fell behind.",
          metrics.get("windows_dropped", 0))
    t.add("edgebind_queue_depth", "gauge", "Windows waiting for inference.",
          metrics.get("queue_depth", 0))
    t.add("edgebind_queue_capacity", "gauge", "Window queue capacity.",
          metrics.get("queue_capacity", 0))
    _assembler(t, metrics.get("assembler") or {})
    for name, n in sorted(metrics.get("events", {}).items()):
        t.add("edgebind_events_total", "counter", "Events emitted per anchor.", n, event=name)
    for stage, n in sorted(metrics.get("errors", {}).items()):
        t.add("edgebind_errors_total", "counter", "Errors per pipeline stage.", n, stage=stage)
    for sink, st in sorted((metrics.get("sinks") or {}).items()):
        for k, v in sorted(st.items()):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                t.add("edgebind_sink_stat", "gauge", "Sink counters (emitted, dropped, ...).", v,
                      sink=sink, stat=k)
    _encoders(t, metrics.get("encoders") or {})
    for stage, snap in sorted((metrics.get("latency") or {}).items()):
        t.histogram("edgebind_stage_latency_seconds", "Per-stage latency in seconds.", snap,
                    stage=stage)
    t.add("edgebind_healthy", "gauge", "1 when /healthz answers 200.",
          0 if health.get("status") == "failing" else 1)
    for k, v in sorted((extra or {}).items()):
        t.add(k, "gauge", k.replace("_", " ") + ".", v)
    return "\n".join(t.lines) + "\n"


def _assembler(t: _Text, stats: dict[str, Any]) -> None:
    for k, v in sorted(stats.items()):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            t.add("edgebind_assembler_total", "counter", "Window assembler counters.", v, kind=k)
        elif isinstance(v, dict):
            for k2, v2 in sorted(v.items()):
                if isinstance(v2, (int, float)):
                    t.add("edgebind_assembler_total", "counter", "Window assembler counters.",
                          v2, kind=k, key=k2)


def _encoders(t: _Text, encoders: dict[str, dict[str, Any]]) -> None:
    for modality, e in sorted(encoders.items()):
        t.add("edgebind_encoder_info", "gauge",
              "The variant each modality runs on this machine (status: verified, fallback, "
              "unverified).", 1, modality=modality, variant=e.get("variant", "?"),
              backend=e.get("backend", "?"), status=e.get("status", "?"))
        t.add("edgebind_encoder_fallback", "gauge",
              "1 when the preferred variant failed its golden-set check here and a slower one runs.",
              1 if e.get("status") == "fallback" else 0, modality=modality)
        check = e.get("check") or {}
        if isinstance(check.get("agreement_min"), (int, float)):
            t.add("edgebind_encoder_check_agreement", "gauge",
                  "Golden-set agreement (centred cosine, min) of the running variant at load.",
                  check["agreement_min"], modality=modality, variant=e.get("variant", "?"))


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
