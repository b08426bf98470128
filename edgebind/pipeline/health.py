"""Is the pipeline healthy? Per-stream health (what each source reports, plus what the pipeline
saw of its samples), the findings that decide ``ok``/``degraded``/``failing``, the encoders'
report, and ``progressing`` (what the systemd watchdog follows). The judging rules themselves
are in ``edgebind.pipeline.liveness``."""
from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from edgebind.pipeline import liveness
from edgebind.pipeline.liveness import Finding, Progress

if TYPE_CHECKING:
    from edgebind.runtime.encoder import SupportsEmbedding
    from edgebind.sample import StreamInfo
    from edgebind.sensors.base import SampleSource
    from edgebind.sensors.windows import WindowAssembler


def as_dict(x: Any) -> dict:
    """A source's per-stream health entry (a dict, a dataclass such as ``HealthStatus``, or any
    object with attributes) as a plain dict."""
    if isinstance(x, dict):
        return dict(x)
    if is_dataclass(x):
        return asdict(x)
    return dict(vars(x))


def stream_health(sources: Sequence[SampleSource], infos: Sequence[StreamInfo],
                  start_failures: Mapping[str, str], received: Mapping[str, int],
                  refused: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Per stream: the source's own health (``disconnected`` when ``health()`` fails or the
    source did not start), its modality, and the samples the pipeline received and refused."""
    out: dict[str, dict[str, Any]] = {}
    for src in sources:
        try:
            h = src.health() or {}
        except Exception as exc:
            h = {i.stream: {"state": "disconnected", "last_error": f"health(): {exc}"}
                 for i in src.streams}
        for name, st in h.items():
            out[name] = as_dict(st)
    for name, err in start_failures.items():
        out.setdefault(name, {})
        out[name].update(state="disconnected", last_error=err)
    for info in infos:
        st = out.setdefault(info.stream, {"state": "unknown"})
        st["modality"] = info.modality
        st["received"] = received.get(info.stream, 0)
        st["refused"] = refused.get(info.stream, 0)
    return out


def refused_samples(assembler: WindowAssembler, sample_errors: Mapping[str, int]) -> dict[str, int]:
    """Samples refused per stream: by the assembler (bad data) or by an exception."""
    try:
        per = assembler.stats["streams"]
    except Exception:
        per = {}
    out = dict(sample_errors)
    for name, st in per.items():
        if st.get("invalid"):
            out[name] = out.get(name, 0) + int(st["invalid"])
    return out


def findings(streams: dict[str, dict[str, Any]], recent: Mapping[str, int],
             modalities: Sequence[str], progress: Progress, now: float,
             threads: Mapping[str, bool] | None, thread_deaths: Mapping[str, str]) -> list[Finding]:
    """What is wrong: streams (refusing, degraded, disconnected), dead or stalled pipeline
    threads (``threads`` is None when the pipeline is not running: nothing to judge), and
    failures dominating recent windows."""
    out = liveness.stream_findings(streams, recent)
    if threads is not None:
        for name, alive in threads.items():
            if not alive:
                why = thread_deaths.get(name, "stopped")
                out.append(Finding("failing", f"the {name} thread died ({why})"))
        stalled = progress.stalled(now)
        if stalled:
            out.append(Finding("failing", stalled))
    out += liveness.window_findings(recent, modalities)
    return out


def progressing(running: bool, threads: Mapping[str, bool], progress: Progress) -> bool:
    """True while the pipeline runs and turns the samples it gets into embeddings: both
    threads alive and not stalled. The daemon pings the systemd watchdog only then."""
    return running and all(threads.values()) and progress.stalled() is None


def encoder_report(embedder: SupportsEmbedding) -> dict[str, Any]:
    """``{"cpu": ..., "encoders": {modality: variant, status, golden-set check, fallbacks}}``
    of a bundle embedder (``edgebind.runtime.Bundle.report``); empty for torch towers."""
    bundle = embedder.bundle
    try:
        return bundle.report() if bundle is not None else {}
    except Exception:   # a report must never take health down with it
        return {}
