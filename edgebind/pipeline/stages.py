"""The two stages a batch of windows goes through, each returning a typed record: embed the
windows of a batch (``WindowEmbedder`` -> ``Embedded``), then detect and emit, window set by
window set (``DetectAndEmit`` -> ``Detection``, whose scores become the ``WindowResult``
handed to ``on_window``). A failure in one window is counted and skips that window only."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from edgebind.embedder import stack_items

if TYPE_CHECKING:
    from edgebind.detect import Detector, Event, ScoreFrame
    from edgebind.pipeline.metrics import Counters
    from edgebind.runtime.encoder import SupportsEmbedding
    from edgebind.sensors.windows import Window, WindowSet
    from edgebind.sinks.base import EventSink

ErrorSink = Callable[[str, "BaseException | str"], None]   # (stage, what went wrong)


@dataclass
class Job:
    """A window set on its way through the queue."""

    windowset: WindowSet
    ready_ns: int      # monotonic time the assembler handed it out
    ref_ns: int        # what end_to_end latency is measured from


@dataclass
class Embedded:
    """Stage 1's record: per job, its embeddings by modality (empty: every window failed), and
    the seconds the batch spent preprocessing and in the model. ``ran`` is False when no
    window reached preprocessing (no latency to record)."""

    embeddings: list[dict[str, np.ndarray]]
    preprocess_s: float
    model_s: float
    ran: bool


@dataclass
class Detection:
    """Stage 2's record: what the detector made of one window set."""

    t_start_ns: int
    t_end_ns: int
    modalities: tuple[str, ...]
    streams: tuple[str, ...]
    events: list[Event]
    detect_s: float


@dataclass
class WindowResult:
    """What one assembled window produced: per-anchor scores and the events it triggered.
    ``frame`` is the detector's full score frame (``edgebind.detect.ScoreFrame``) when it has one."""

    t_start_ns: int
    t_end_ns: int
    scores: dict[str, float]
    levels: dict[str, float]
    events: list
    modalities: tuple[str, ...]
    frame: ScoreFrame | None = None


class WindowEmbedder:
    """Stage 1: the windows of a batch of window sets, preprocessed one by one (a window whose
    data is bad is skipped and counted) and embedded as one batch per modality; a non-finite
    embedding is dropped and counted. Each modality's preprocessor is asked for once."""

    def __init__(self, embedder: SupportsEmbedding, modalities: Sequence[str],
                 on_error: ErrorSink):
        self.embedder = embedder
        self.modalities = tuple(modalities)
        self.on_error = on_error
        self._preprocessors: dict[str, Callable[[Window], np.ndarray]] = {}

    def __call__(self, jobs: Sequence[Job], batch_size: int) -> Embedded:
        t0 = time.perf_counter()
        prepared = self._prepare(jobs)
        t1 = time.perf_counter()
        embeddings = self._embed(prepared, len(jobs), batch_size)
        return Embedded(embeddings, t1 - t0, time.perf_counter() - t1, bool(prepared))

    def _preprocessor(self, modality: str) -> Callable[[Window], np.ndarray]:
        fn = self._preprocessors.get(modality)
        if fn is None:
            fn = self._preprocessors[modality] = self.embedder.preprocessor(modality)
        return fn

    def _prepare(self, jobs: Sequence[Job]) -> dict[str, list[tuple[int, np.ndarray]]]:
        """Per modality: (index of the job, its model-ready batch of one)."""
        per_mod: dict[str, list[tuple[int, np.ndarray]]] = {}
        for i, j in enumerate(jobs):
            for m, w in j.windowset.windows.items():
                if m not in self.modalities:
                    continue
                try:
                    x = self._preprocessor(m)(w)
                except Exception as exc:   # bad data in one window: skip it, count it
                    self.on_error(f"preprocess {m}", exc)
                    continue
                per_mod.setdefault(m, []).append((i, x))
        return per_mod

    def _embed(self, prepared: dict[str, list[tuple[int, np.ndarray]]], n_jobs: int,
               batch_size: int) -> list[dict[str, np.ndarray]]:
        embs: list[dict[str, np.ndarray]] = [{} for _ in range(n_jobs)]
        for m, items in prepared.items():
            try:
                # Windows were checked finite as their samples entered: no second scan.
                out = self.embedder.embed_batch(m, stack_items([x for _, x in items]),
                                                batch_size=batch_size, trusted=True)
            except Exception as exc:
                self.on_error(f"model {m}", exc)
                continue
            for (i, _), row in zip(items, out):
                if np.all(np.isfinite(row)):
                    embs[i][m] = row
                else:
                    self.on_error(f"model {m}", "non-finite embedding (window skipped)")
        return embs


@dataclass
class Outputs:
    """Where a batch's results go; taken once per batch, so a reload lands between batches."""

    detector: Detector
    sinks: list[EventSink]
    on_event: Callable[[Event], None] | None = None
    on_window: Callable[[WindowResult], None] | None = None


class DetectAndEmit:
    """Stage 2: per window set, the detector's update (under ``lock``: a reload changes the
    detector in place), its events to the sinks and ``on_event``, its scores to ``on_window``,
    and the latency of each step. Returns the ``Detection``; None when the window set has no
    embedding or the detector failed (both counted)."""

    def __init__(self, counters: Counters, lock: threading.Lock):
        self.counters = counters
        self.lock = lock

    def __call__(self, job: Job, embeddings: dict[str, np.ndarray], batch: Embedded,
                 out: Outputs) -> Detection | None:
        c, ws = self.counters, job.windowset
        c.windows_done += 1
        c.last_window_end_ns = int(ws.t_end_ns)
        if not embeddings:
            c.count(c.errors, "empty window")
            return None
        found = self.detect(ws, embeddings, out.detector)
        if found is None:
            return None
        c.latency["detect"].observe(found.detect_s)
        te = time.perf_counter()
        for ev in found.events:
            self.emit(ev, out)
        done = time.monotonic_ns()
        c.latency["emit"].observe(time.perf_counter() - te)
        e2e = (done - job.ref_ns) / 1e9
        c.latency["end_to_end"].observe(e2e)
        c.latency["end_to_end_excl_model"].observe(max(0.0, e2e - batch.model_s))
        c.latency["end_to_end_excl_encoder"].observe(
            max(0.0, e2e - batch.model_s - batch.preprocess_s))
        if out.on_window is not None:
            try:
                out.on_window(window_result(found, out.detector))
            except Exception as exc:
                c.error("on_window", exc)
        return found

    def detect(self, ws: WindowSet, embeddings: dict[str, np.ndarray],
               detector: Detector) -> Detection | None:
        windows = [ws.windows[m] for m in embeddings]
        t_start = min(int(w.t_start_ns) for w in windows)
        streams = tuple(sorted({s for w in windows for s in w.streams}))
        t0 = time.perf_counter()
        try:
            with self.lock:
                events = list(detector.update(t_start, int(ws.t_end_ns), embeddings, streams))
        except Exception as exc:
            self.counters.error("detect", exc)
            return None
        return Detection(t_start, int(ws.t_end_ns), tuple(embeddings), streams, events,
                         time.perf_counter() - t0)

    def emit(self, event: Event, out: Outputs) -> None:
        """``event`` to every sink (none may block: bounded queues inside) and ``on_event``."""
        # A custom detector may hand out plain dicts rather than Event objects.
        self.counters.count(self.counters.events_by_name, str(getattr(event, "name", "?")))
        d = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        for sink in out.sinks:
            try:
                sink.emit(d)
            except Exception as exc:
                self.counters.error(f"sink {type(sink).__name__}", exc)
        if out.on_event is not None:
            try:
                out.on_event(event)
            except Exception as exc:
                self.counters.error("on_event", exc)


def window_result(found: Detection, detector: Detector) -> WindowResult:
    """What ``on_window`` receives: the detection with the detector's scores after it."""
    return WindowResult(found.t_start_ns, found.t_end_ns, scores_dict(detector.scores),
                        scores_dict(detector.levels), found.events, found.modalities,
                        detector.frame)


def scores_dict(scores: Any, names: Sequence[str] | None = None) -> dict[str, float]:
    if scores is None:
        return {}
    if isinstance(scores, dict):
        return {str(k): float(v) for k, v in scores.items()}
    arr = np.asarray(scores, dtype=np.float64).ravel()
    names = list(names or [f"anchor{i}" for i in range(len(arr))])
    return {n: float(v) for n, v in zip(names, arr)}
