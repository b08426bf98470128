"""``/metrics``: ``Pipeline.metrics()``, ``Pipeline.health()`` and the service's own counters as
Prometheus text exposition format 0.0.4, following Prometheus' naming conventions (what
``promtool check metrics`` checks): counters end in ``_total``, gauges never do, a family's
label set is fixed, a series exists from the first scrape (zeros, not absence), and a changing
state flips values of fixed series rather than creating new ones."""
from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping

# Every state a stream can report (edgebind.sensors.base.HealthStatus, plus the pipeline's
# "unknown" before a source says anything): one edgebind_stream_state series each.
STREAM_STATES = ("ok", "degraded", "disconnected", "unknown")
STATE_VALUE = {"ok": 1.0, "degraded": 0.5}
# Stages that can count errors on any pipeline; per-stream and per-modality ones are added
# from the streams the pipeline runs (edgebind.pipeline.stages, .core name them).
ERROR_STAGES = ("assemble", "windows", "worker", "detect")
# A sink's per-event outcomes: delivered + dropped + errors + queued = emitted; filtered events
# never reach its queue. Summing edgebind_sink_events_total over `result` counts every event
# offered to the sink that has left its queue.
SINK_RESULTS = ("delivered", "dropped", "errors", "filtered")
# Sink stats that are levels, not counts: {stats key: metric name}.
SINK_GAUGES = {"queued": "edgebind_sink_queue_depth", "queue_size": "edgebind_sink_queue_capacity",
               "clients": "edgebind_sink_clients", "connected": "edgebind_sink_connected",
               "offline_queued": "edgebind_sink_offline_queued",
               "unacked": "edgebind_sink_unacked"}
SINK_COUNTER_HELP = {
    "lost": "Events handed to the output and lost afterwards (MQTT: offline buffer full, "
            "unacknowledged at close); included in result=delivered.",
}
SINK_GAUGE_HELP = {
    "queued": "Events waiting in the sink's queue.",
    "queue_size": "Capacity of the sink's queue (oldest dropped beyond it).",
    "clients": "Clients connected to a tcp/unix sink.",
    "connected": "1 while an MQTT sink is connected to its broker.",
    "offline_queued": "Events an MQTT sink holds while the broker is unreachable.",
    "unacked": "MQTT messages published and not yet acknowledged.",
}
# Health endpoint connection stats that are levels; the rest are counts.
HTTP_GAUGES = ("waiting",)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _esc(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: Any) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}" if kv else ""


def _num(v: Any) -> str:
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v) if not v.is_integer() else str(int(v))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Exposition:
    """Collects samples per metric family; renders each family as one group (the format
    requires it), in first-seen order. A family's type is fixed by its first sample."""

    def __init__(self) -> None:
        self._families: dict[str, list[str]] = {}

    def _family(self, name: str, mtype: str, help_text: str) -> list[str]:
        if name not in self._families:
            # Checked here so that a wrong type can never reach a scrape (promtool's rule).
            if (mtype == "counter") != name.endswith("_total"):
                raise ValueError(f"metric {name}: a {mtype} "
                                 f"{'must' if mtype == 'counter' else 'must not'} end in _total")
            self._families[name] = [f"# HELP {name} {help_text}", f"# TYPE {name} {mtype}"]
        return self._families[name]

    def add(self, name: str, mtype: str, help_text: str, value: Any, /, **labels: Any) -> None:
        self._family(name, mtype, help_text).append(f"{name}{_labels(**labels)} {_num(value)}")

    def counter(self, name: str, help_text: str, value: Any, /, **labels: Any) -> None:
        self.add(name, "counter", help_text, value, **labels)

    def gauge(self, name: str, help_text: str, value: Any, /, **labels: Any) -> None:
        self.add(name, "gauge", help_text, value, **labels)

    def histogram(self, name: str, help_text: str, snap: dict, /, **labels: Any) -> None:
        lines = self._family(name, "histogram", help_text)
        for le, c in snap["buckets"]:
            lines.append(f"{name}_bucket{_labels(**labels, le=_num(le))} {c}")
        lines.append(f"{name}_sum{_labels(**labels)} {_num(snap['sum'])}")
        lines.append(f"{name}_count{_labels(**labels)} {snap['count']}")

    def text(self) -> str:
        return "\n".join(line for fam in self._families.values() for line in fam) + "\n"


def prometheus_text(metrics: dict[str, Any], health: dict[str, Any],
                    extra: dict[str, float] | None = None, *,
                    service: Mapping[str, Any] | None = None) -> str:
    """Render ``Pipeline.metrics()`` and ``Pipeline.health()`` as Prometheus text.

    ``service``: the daemon's own numbers (:func:`service_metrics`: start time, reloads,
    health-endpoint connections). ``extra``: more unlabelled samples by name, typed counter
    when the name ends in ``_total`` and gauge otherwise."""
    t = Exposition()
    streams(t, metrics, health)
    windows(t, metrics)
    _assembler(t, metrics.get("assembler") or {})
    for name, n in sorted(metrics.get("events", {}).items()):
        t.counter("edgebind_events_total", "Events emitted per anchor.", n, event=name)
    errors(t, metrics.get("errors") or {}, _error_stages(metrics, health))
    sinks(t, metrics.get("sinks") or {})
    _encoders(t, metrics.get("encoders") or {})
    for stage, snap in sorted((metrics.get("latency") or {}).items()):
        t.histogram("edgebind_stage_latency_seconds", "Per-stage latency in seconds.", snap,
                    stage=stage)
    t.gauge("edgebind_healthy", "1 when /healthz answers 200.",
            0 if health.get("status") == "failing" else 1)
    if service is not None:
        service_metrics(t, service)
    for k, v in sorted((extra or {}).items()):
        t.add(k, "counter" if k.endswith("_total") else "gauge", k.replace("_", " ") + ".", v)
    return t.text()


def streams(t: Exposition, metrics: Mapping[str, Any], health: Mapping[str, Any]) -> None:
    """Samples and refusals per stream (both from the first scrape), its state as a state set,
    and what its source reports."""
    samples = metrics.get("samples") or {}
    refused = metrics.get("sample_errors") or {}
    for stream in sorted(set(samples) | set(refused)):
        t.counter("edgebind_samples_total", "Samples received per stream.",
                  samples.get(stream, 0), stream=stream)
    for stream in sorted(set(samples) | set(refused)):
        t.counter("edgebind_sample_errors_total", "Samples refused per stream.",
                  refused.get(stream, 0), stream=stream)
    stream_health = sorted((health.get("streams") or {}).items())
    for stream, h in stream_health:
        t.gauge("edgebind_stream_up", "1 ok, 0.5 degraded, 0 disconnected or unknown.",
                STATE_VALUE.get(h.get("state", "unknown"), 0.0), stream=stream)
    for stream, h in stream_health:
        state = h.get("state", "unknown")
        # One series per known state, 1 for the current one: a change of state flips values
        # instead of ending one series and starting another.
        for s in STREAM_STATES + (() if state in STREAM_STATES else (state,)):
            t.gauge("edgebind_stream_state", "1 for the stream's current state, 0 for the others.",
                    1 if s == state else 0, stream=stream, state=s)
    for key in ("dropped", "errors", "reconnects"):
        for stream, h in stream_health:
            if _is_number(h.get(key)):
                t.counter(f"edgebind_stream_{key}_total", f"Source-reported {key} per stream.",
                          h[key], stream=stream)


def windows(t: Exposition, metrics: Mapping[str, Any]) -> None:
    t.counter("edgebind_windows_assembled_total", "Windows assembled.",
              metrics.get("windows_assembled", 0))
    t.counter("edgebind_windows_processed_total", "Windows embedded and scored.",
              metrics.get("windows_processed", 0))
    t.counter("edgebind_windows_dropped_total",
              "Windows dropped (oldest first) because inference fell behind.",
              metrics.get("windows_dropped", 0))
    t.gauge("edgebind_queue_depth", "Windows waiting for inference.", metrics.get("queue_depth", 0))
    t.gauge("edgebind_queue_capacity", "Window queue capacity.", metrics.get("queue_capacity", 0))


def _error_stages(metrics: Mapping[str, Any], health: Mapping[str, Any]) -> list[str]:
    """The stages that can fail on this pipeline, so each has a series (0) from the start:
    the fixed ones, each stream's samples, each modality's preprocessing and model."""
    streams_ = set(metrics.get("samples") or {}) | set(health.get("streams") or {})
    modalities = set(metrics.get("encoders") or {}) | {
        h["modality"] for h in (health.get("streams") or {}).values() if h.get("modality")}
    return [*ERROR_STAGES, *(f"sample {s}" for s in sorted(streams_)),
            *(f"{what} {m}" for m in sorted(modalities) for what in ("preprocess", "model"))]


def errors(t: Exposition, counted: Mapping[str, int], stages: Iterable[str]) -> None:
    for stage in sorted(set(stages) | set(counted)):
        t.counter("edgebind_errors_total", "Errors per pipeline stage.", counted.get(stage, 0),
                  stage=stage)


def sinks(t: Exposition, stats: Mapping[str, Mapping[str, Any]]) -> None:
    """Per sink: events by outcome, events emitted, queue and connection levels, and the
    sink's other counters (``edgebind_sink_<name>_total``: rotations, accepted, connects...)."""
    items = sorted(stats.items())
    for sink, st in items:
        for result in SINK_RESULTS:
            t.counter("edgebind_sink_events_total",
                      "Events per sink by outcome (delivered, dropped, errors, filtered).",
                      _monotonic(st, result), sink=sink, result=result)
    for sink, st in items:
        t.counter("edgebind_sink_emitted_total",
                  "Events handed to the sink that passed its filter.", st.get("emitted", 0),
                  sink=sink)
    for key, name in SINK_GAUGES.items():
        for sink, st in items:
            v = st.get(key)
            if isinstance(v, (int, float)):           # bool too: connected is 0/1
                t.gauge(name, SINK_GAUGE_HELP[key], float(v), sink=sink)
    done = set(SINK_RESULTS) | {"emitted", "events"} | set(SINK_GAUGES)   # "events": taken
    others = sorted({k for _, st in items for k, v in st.items()
                     if k not in done and _is_number(v) and _NAME.match(k)})
    for key in others:
        for sink, st in items:
            if _is_number(st.get(key)):
                t.counter(f"edgebind_sink_{key}_total",
                          SINK_COUNTER_HELP.get(key, f"Sink counter: {key}."), st[key], sink=sink)


def _monotonic(st: Mapping[str, Any], result: str) -> float:
    """A sink's count of one outcome that never goes down: an event an MQTT sink handed on and
    lost afterwards moves from delivered to dropped in its stats (``lost`` counts them), which
    would read as a counter reset; here it stays delivered, and edgebind_sink_lost_total says
    how many of those were lost."""
    lost = st.get("lost", 0) if _is_number(st.get("lost", 0)) else 0
    v = st.get(result, 0)
    if result == "delivered":
        return v + lost
    return v - lost if result == "dropped" else v


def service_metrics(t: Exposition, service: Mapping[str, Any]) -> None:
    """``service``: ``start_time_seconds`` (Unix time), ``reloads`` and ``reload_failures``,
    ``http`` (the health server's connection stats)."""
    if "start_time_seconds" in service:
        t.gauge("edgebind_start_time_seconds", "When the service started, in seconds since the "
                "Unix epoch.", service["start_time_seconds"])
    t.counter("edgebind_reloads_total", "Configuration reloads that succeeded.",
              service.get("reloads", 0))
    t.counter("edgebind_reload_failures_total",
              "Configuration reloads refused (the running config kept).",
              service.get("reload_failures", 0))
    for k, v in sorted((service.get("http") or {}).items()):
        if k in HTTP_GAUGES:
            t.gauge(f"edgebind_health_http_{k}", f"Health endpoint connections {k}.", v)
        else:
            t.counter(f"edgebind_health_http_{k}_total", f"Health endpoint connections {k}.", v)


def _assembler(t: Exposition, stats: Mapping[str, Any]) -> None:
    for k, v in sorted(stats.items()):
        if _is_number(v):
            t.counter("edgebind_assembler_total", "Window assembler counters.", v, kind=k)
        elif isinstance(v, dict):
            for k2, v2 in sorted(v.items()):
                if _is_number(v2):
                    t.counter("edgebind_assembler_total", "Window assembler counters.", v2,
                              kind=k, key=k2)


def _encoders(t: Exposition, encoders: Mapping[str, Mapping[str, Any]]) -> None:
    for modality, e in sorted(encoders.items()):
        t.gauge("edgebind_encoder_info",
                "The variant each modality runs on this machine (status: verified, fallback, "
                "unverified).", 1, modality=modality, variant=e.get("variant", "?"),
                backend=e.get("backend", "?"), status=e.get("status", "?"))
    for modality, e in sorted(encoders.items()):
        t.gauge("edgebind_encoder_fallback",
                "1 when the preferred variant failed its golden-set check here and a slower one "
                "runs.", 1 if e.get("status") == "fallback" else 0, modality=modality)
    for modality, e in sorted(encoders.items()):
        check = e.get("check") or {}
        if _is_number(check.get("agreement_min")):
            t.gauge("edgebind_encoder_check_agreement",
                    "Golden-set agreement (centred cosine, min) of the running variant at load.",
                    check["agreement_min"], modality=modality, variant=e.get("variant", "?"))
