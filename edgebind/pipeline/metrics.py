"""What the pipeline has done, counted: the latency histogram of each stage, the counters health
and ``/metrics`` read (``Counters``), and ``metrics()``, the report built from them."""
from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections import deque
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from edgebind.pipeline.queue import DropOldestQueue
    from edgebind.sensors.windows import WindowAssembler
    from edgebind.sinks.base import EventSink

log = logging.getLogger("edgebind.pipeline")

# Stages whose latency is recorded (seconds). ``end_to_end`` runs from the window's end (live: on
# the sensors' clock; synchronous: from when the window was assembled) to its events being handed
# to the sinks; ``end_to_end_excl_model`` subtracts the model time of the window's batch,
# ``end_to_end_excl_encoder`` its preprocessing and model time.
STAGES = ("end_to_end", "end_to_end_excl_model", "end_to_end_excl_encoder", "queue_wait",
          "assemble", "preprocess", "model", "detect", "emit")
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0)
ERROR_LOG_EVERY_S = 5.0   # per stage: an error on every window must not flood the log


class Histogram:
    """Cumulative-bucket latency histogram (Prometheus style) plus a bounded window of recent
    values for exact quantiles. Thread-safe; memory is constant however long it runs."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS_S, recent: int = 4096):
        self.buckets = tuple(float(b) for b in buckets)
        self._counts = [0] * (len(self.buckets) + 1)     # last one: +Inf
        self._sum = 0.0
        self._n = 0
        self._recent: deque[float] = deque(maxlen=recent)
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._counts[bisect_left(self.buckets, seconds)] += 1
            self._sum += seconds
            self._n += 1
            self._recent.append(seconds)

    def quantile(self, q: float) -> float | None:
        with self._lock:
            vals = np.fromiter(self._recent, dtype=np.float64)
        return float(np.quantile(vals, q)) if len(vals) else None

    def snapshot(self) -> dict[str, Any]:
        """{"buckets": [(le, cumulative count), ..., ("+Inf", n)], "sum", "count", "p50", "p99"}."""
        with self._lock:
            counts, total, n = list(self._counts), self._sum, self._n
        cum, out = 0, []
        for le, c in zip((*self.buckets, float("inf")), counts):
            cum += c
            out.append((le, cum))
        return {"buckets": out, "sum": total, "count": n,
                "p50": self.quantile(0.5), "p99": self.quantile(0.99)}


class Counters:
    """The pipeline's tallies behind one lock (capture threads, the windows thread and the
    worker all count): samples and refusals per stream, windows assembled, skipped as warm-up,
    processed and failed, embedded/failed windows per modality (what health is judged on),
    events per anchor, errors per stage; and each stage's latency histogram."""

    def __init__(self, streams: Iterable[str]):
        self.lock = threading.Lock()
        self.latency = {s: Histogram() for s in STAGES}
        self.samples: dict[str, int] = {s: 0 for s in streams}
        self.sample_errors: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.events_by_name: dict[str, int] = {}
        self.modality_counts: dict[str, int] = {}      # "audio:embedded", "audio:failed", ...
        self.windows_in = 0
        self.windows_warmup = 0
        self.windows_done = 0
        self.windows_failed = 0
        self.last_window_end_ns: int | None = None
        self._last_log: dict[str, float] = {}

    def count(self, table: dict[str, int], key: str, n: int = 1) -> None:
        with self.lock:
            table[key] = table.get(key, 0) + n

    def copy(self, table: dict[str, int]) -> dict[str, int]:
        with self.lock:
            return dict(table)

    def error(self, stage: str, exc: BaseException | str) -> None:
        """Count an error of ``stage`` and log it (at most every ``ERROR_LOG_EVERY_S``)."""
        self.count(self.errors, stage)
        now = time.monotonic()
        if now - self._last_log.get(stage, -1e9) > ERROR_LOG_EVERY_S:
            self._last_log[stage] = now
            log.error("%s: %s", stage, exc)

    def tally(self, windows: Sequence[Iterable[str]], embedded: Sequence[Mapping[str, Any]],
              modalities: Sequence[str]) -> None:
        """Per window set (the modalities it had windows for, the ones that got an embedding):
        count each modality's windows embedded and failed."""
        with self.lock:
            c = self.modality_counts
            for had, emb in zip(windows, embedded):
                for m in had:
                    if m in modalities:
                        key = f"{m}:{'embedded' if m in emb else 'failed'}"
                        c[key] = c.get(key, 0) + 1
                self.windows_failed += not emb

    def totals(self, refused: Mapping[str, int]) -> dict[str, int]:
        """Cumulative counters that health takes recent deltas of."""
        with self.lock:
            t = {"windows": self.windows_done, "windows_failed": self.windows_failed,
                 "detect_failed": self.errors.get("detect", 0), **self.modality_counts}
            for name, n in self.samples.items():
                t[f"received:{name}"] = n
                t[f"refused:{name}"] = refused.get(name, 0)
        return t


def sink_stats(sinks: Sequence[EventSink]) -> dict[str, dict[str, Any]]:
    """``{"<index>:<name>": stats}``; a sink whose ``stats()`` fails is left out."""
    out = {}
    for i, s in enumerate(sinks):
        try:
            # A sink may be any object with emit() (the minimum the pipeline needs): no name.
            out[f"{i}:{getattr(s, 'name', type(s).__name__)}"] = dict(s.stats())
        except Exception:
            pass
    return out


def metrics(counters: Counters, refused: Mapping[str, int], queue: DropOldestQueue,
            assembler: WindowAssembler, sinks: Sequence[EventSink],
            encoders: Mapping[str, Any]) -> dict[str, Any]:
    """Counters, gauges and latency histograms for ``/metrics`` and benchmarks."""
    try:
        asm = dict(assembler.stats)
    except Exception:
        asm = {}
    sinks_out = sink_stats(sinks)
    c = counters
    with c.lock:
        return {"samples": dict(c.samples), "sample_errors": dict(refused),
                "windows_assembled": c.windows_in, "windows_processed": c.windows_done,
                "windows_warmup": c.windows_warmup,
                "windows_dropped": queue.dropped, "queue_depth": len(queue),
                "queue_capacity": queue.capacity,
                "events": dict(c.events_by_name), "errors": dict(c.errors),
                "assembler": asm, "sinks": sinks_out, "encoders": dict(encoders),
                "latency": {k: h.snapshot() for k, h in c.latency.items()}}
