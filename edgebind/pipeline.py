"""The detection pipeline: sources → window assembler → bounded queue → batched encoders →
detector → sinks, with per-stage latency.

Two ways to drive it:

* **live** (``start()``/``stop()``): each source's capture thread pushes samples into the window
  assembler (a short lock, never inference); a poll thread moves complete windows into a bounded
  queue that drops the *oldest* window under overload and counts every drop; one inference
  worker batches the queued windows per modality, embeds them, runs the detector and hands the
  events to the sinks.
* **synchronous** (``run_sync()``): iterate samples (a recording, the simulated world), assemble
  and process inline, as fast as possible and deterministic. ``edgebind demo`` and the tests use
  it.

Torch-free: embeddings come from ``edgebind.Embedder.from_bundle`` (ONNX Runtime / TensorRT).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from edgebind import liveness
from edgebind.liveness import Finding, Progress, Recent, verdict
from edgebind.embedder import stack_items
# Re-exported: ``from edgebind.pipeline import PipelineConfig, Histogram, ...`` keeps working.
from edgebind.pipeline_parts import (INTEGER_KEYS, LATENCY_BUCKETS_S, LIMITS,  # noqa: F401
                                     STAGES, DropOldestQueue, Histogram, PipelineConfig,
                                     WindowResult, _as_dict, _Job, _scores_dict, expected,
                                     merge_samples, model_windows, within)
from edgebind.sample import Sample, StreamInfo, require_unique_streams
from edgebind.space import check_same_space

log = logging.getLogger("edgebind.pipeline")

# -- the pipeline ------------------------------------------------------------------------------
class Pipeline:
    """Sources → windows → batched encoders → detector → sinks.

    ``sources``: objects with ``streams``, ``start(on_sample)``, ``stop()``, ``health()`` and
    ``iter_samples()`` (``edgebind.sensors``). ``embedder``: ``edgebind.Embedder`` (from a
    bundle). ``anchor_set``: ``edgebind.anchors.AnchorSet``; it must be in the embedder's space.
    ``detector``: ``edgebind.detect.Detector`` (default: one over ``anchor_set`` with default
    settings). ``sinks``: objects with ``emit(event_dict)``. ``on_event(event)`` receives event
    objects; ``on_window(result: WindowResult)`` every window's scores (timelines).
    """

    def __init__(self, sources: Sequence[Any], embedder: Any, anchor_set: Any = None,
                 detector: Any = None, sinks: Sequence[Any] = (),
                 config: PipelineConfig | None = None, profile: Any = None,
                 on_event: Callable[[Any], None] | None = None,
                 on_window: Callable[[WindowResult], None] | None = None,
                 stream_infos: Sequence[StreamInfo] | None = None):
        self.config = config or PipelineConfig()
        self.config.validate()
        self.sources = list(sources)
        self.embedder = embedder
        if anchor_set is None and detector is None:
            raise ValueError("Pipeline needs an anchor set or a detector")
        for aset in (anchor_set, getattr(detector, "anchor_set", None)):
            if aset is not None:
                self._check_space(aset)
        if anchor_set is None:
            anchor_set = detector.anchor_set
        if detector is None:
            from edgebind.detect import Detector, DetectorConfig
            thresholds = dict(getattr(profile, "thresholds", None) or {})
            detector = Detector(anchor_set, DetectorConfig(), thresholds=thresholds)
        self._anchor_set = anchor_set
        self._detector = detector
        self._sinks = list(sinks)
        self.on_event = on_event
        self.on_window = on_window
        self.profile = profile

        infos = require_unique_streams(stream_infos if stream_infos is not None else
                                       (i for s in self.sources for i in s.streams))
        self.stream_infos = infos
        have = set(getattr(embedder, "modalities", ()))
        wanted = self.config.modalities or tuple(sorted({i.modality for i in infos}))
        self.modalities = tuple(m for m in wanted if m in have)
        missing = [m for m in (self.config.modalities or ()) if m not in have]
        if missing:
            raise ValueError(f"the bundle has no {', '.join(missing)} tower; it has "
                             f"{', '.join(sorted(have))}")
        if not self.modalities:
            raise ValueError(f"no stream modality ({', '.join(sorted({i.modality for i in infos})) or 'none'}) "
                             f"has a tower in the bundle ({', '.join(sorted(have))})")
        self.window_s: dict[str, float] = (
            {"audio": float(self.config.window_s), "imu": float(self.config.window_s)}
            if self.config.window_s else model_windows(embedder))
        warm = self.config.warmup_s
        self._warmup_ns = int(1e9 * (max(self.window_s.values()) if warm is None else warm))
        self._first_sample_ns: int | None = None
        self.windows_warmup = 0
        self._assembler = self._make_assembler()
        self._asm_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._detect_lock = threading.Lock()     # detector.update vs an in-place reload
        self._queue = DropOldestQueue(self.config.queue_size)

        self.latency = {s: Histogram() for s in STAGES}
        self._counts_lock = threading.Lock()
        self.samples: dict[str, int] = {i.stream: 0 for i in infos}
        self.sample_errors: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.events_by_name: dict[str, int] = {}
        self.windows_in = 0
        self.windows_done = 0
        self.last_window_end_ns: int | None = None
        self.start_failures: dict[str, str] = {}
        self._last_error_log: dict[str, float] = {}
        # What health is judged on: per-modality embedded/failed windows, thread deaths, and
        # the times of the last sample, poll and embedding.
        self.modality_counts: dict[str, int] = {}
        self.windows_failed = 0
        self.thread_deaths: dict[str, str] = {}
        grace = self._warmup_ns / 1e9 + self.config.lateness_s + 2 * self.config.hop_s
        self._progress = Progress(self.config.stall_s, grace)
        self._recent = Recent(2 * self._progress.stall_s)

        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running = False
        self._started_sources: list[Any] = []

    # -- construction helpers --------------------------------------------------------------
    @classmethod
    def from_files(cls, bundle: str | Path, anchors: str | Path, sources: Sequence[Any], *,
                   sinks: Sequence[Any] = (), detector_config: Any = None,
                   config: PipelineConfig | None = None, profile: str | Path | Any = None,
                   thresholds: dict[str, float] | None = None, detector: Any = None,
                   **kwargs: Any) -> "Pipeline":
        """A pipeline from a bundle folder and an anchor-set file (and optionally a profile).

        The detector is built as ``edgebind run`` builds it (``edgebind.detect.tuned``):
        ``detector`` is a tuned-detector file, ``None`` for the ``detector.json`` beside the
        anchors when there is one (the default anchors have theirs), or ``False`` for none;
        ``detector_config`` (a dict of settings laid over the tuned ones, or a whole
        ``DetectorConfig``), then the profile's and ``thresholds``' levels over the tuned ones."""
        from edgebind.anchors import AnchorSet
        from edgebind.detect.tuned import build_detector
        from edgebind.embedder import Embedder
        embedder = Embedder.from_bundle(bundle, text=False)
        anchor_set = AnchorSet.load(anchors, space_id=embedder.space_id)
        if profile is not None and isinstance(profile, (str, Path)):
            from edgebind.profile import Profile
            profile = Profile.load(profile, space_id=embedder.space_id)
        det, _ = build_detector(anchor_set, anchors, choice=detector, space_id=embedder.space_id,
                                settings=detector_config, thresholds=[
                                    getattr(profile, "thresholds", None), thresholds])
        return cls(sources, embedder, anchor_set, det, sinks, config=config, profile=profile,
                   **kwargs)

    def _check_space(self, anchor_set: Any) -> None:
        check_same_space(getattr(self.embedder, "space_id", None) or "",
                         getattr(anchor_set, "space_id", None) or "",
                         "the bundle", "the anchor set")

    def _make_assembler(self) -> Any:
        """The window assembler; with a profile it applies the profile's per-stream time
        offsets, IMU, thermal and audio corrections (refusing ones that do not fit a stream)."""
        from edgebind.sensors.windows import WindowAssembler
        kwargs: dict[str, Any] = dict(window_s=self.window_s, hop_s=self.config.hop_s,
                                      frame_tolerance_s=self.config.frame_tolerance_s,
                                      lateness_s=self.config.lateness_s)
        pre = getattr(self.embedder, "preprocess", None)
        if pre is not None:
            kwargs["imu_rows"] = int(pre.imu.n_samples)
        if self.profile is not None:
            return WindowAssembler.from_profile(self.stream_infos, self.profile, **kwargs)
        return WindowAssembler(self.stream_infos, **kwargs)

    @property
    def assembler(self) -> Any:
        """The ``edgebind.sensors.WindowAssembler`` (for inspection; its ``stats``)."""
        return self._assembler

    # -- counters ----------------------------------------------------------------------------
    def _count(self, table: dict[str, int], key: str, n: int = 1) -> None:
        with self._counts_lock:
            table[key] = table.get(key, 0) + n

    def _copy(self, table: dict[str, int]) -> dict[str, int]:
        with self._counts_lock:
            return dict(table)

    def _error(self, stage: str, exc: BaseException | str) -> None:
        self._count(self.errors, stage)
        now = time.monotonic()
        if now - self._last_error_log.get(stage, -1e9) > 5.0:   # rate-limited: no log floods
            self._last_error_log[stage] = now
            log.error("%s: %s", stage, exc)

    # -- live mode ---------------------------------------------------------------------------
    def _on_sample(self, sample: Sample) -> None:
        """Called from capture threads: a short lock around the assembler, nothing else."""
        try:
            with self._asm_lock:
                self._assembler.push(sample)
                if self._first_sample_ns is None:
                    self._first_sample_ns = int(sample.t_ns)
            self._count(self.samples, sample.stream)
            self._progress.sample(time.monotonic())
        except Exception as exc:   # a bad sample must never kill a capture thread
            self._count(self.sample_errors, getattr(sample, "stream", "?"))
            self._error(f"sample {getattr(sample, 'stream', '?')}", exc)

    def start(self) -> "Pipeline":
        """Start the worker, the poll thread and every source (a source that fails to start is
        reported unhealthy; the others run)."""
        if self._running:
            return self
        self._stop.clear()
        self._running = True
        self._progress.reset()
        self._threads = [threading.Thread(target=self._guard, args=("worker", self._worker_loop),
                                          name="edgebind-infer", daemon=True),
                         threading.Thread(target=self._guard, args=("windows", self._poll_loop),
                                          name="edgebind-windows", daemon=True)]
        for t in self._threads:
            t.start()
        for src in self.sources:
            try:
                src.start(self._on_sample)
                self._started_sources.append(src)
            except Exception as exc:
                for info in src.streams:
                    self.start_failures[info.stream] = str(exc)
                self._error("source start", exc)
        return self

    def _guard(self, name: str, loop: Callable[[], None]) -> None:
        """Run a thread's loop; if it ever dies, say why in health rather than only in a log."""
        try:
            loop()
        except BaseException as exc:
            self.thread_deaths[name] = f"{type(exc).__name__}: {exc}"
            log.critical("the %s thread died: %s", name, self.thread_deaths[name])

    def _poll_loop(self) -> None:
        # Sample-driven (now_ns=None): the newest sample time is "now", whatever clock a
        # source stamps with; a stalled stream doesn't hold windows back while others run.
        while not self._stop.wait(self.config.poll_interval_s):
            try:
                self._poll_once(None)
            except Exception as exc:        # counted; health judges whether windows still come
                self._error("windows", exc)
            now = time.monotonic()
            self._progress.polled(now)
            if self._recent.due(now):
                self._recent.add(self._totals(), now)

    def _past_warmup(self, wss: list) -> list:
        first = self._first_sample_ns
        if not self._warmup_ns or first is None:
            return wss
        keep = [ws for ws in wss if int(ws.t_end_ns) - first >= self._warmup_ns]
        if len(keep) < len(wss):
            with self._counts_lock:
                self.windows_warmup += len(wss) - len(keep)
        if keep:
            self._warmup_ns = 0  # once, at start: a later clock jump must not silence windows
        return keep

    def _poll_once(self, now_ns: int | None, flush: bool = False) -> None:
        t0 = time.perf_counter()
        try:
            with self._asm_lock:
                wss = self._assembler.flush() if flush else self._assembler.poll(now_ns)
        except Exception as exc:
            self._error("assemble", exc)
            return
        if wss:
            self.latency["assemble"].observe(time.perf_counter() - t0)
        wss = self._past_warmup(wss)
        ready = time.monotonic_ns()
        for ws in wss:
            self.windows_in += 1
            self._queue.put(_Job(ws, ready, int(ws.t_end_ns)))

    def _worker_loop(self) -> None:
        while True:
            jobs = self._queue.get_batch(self.config.max_batch, timeout_s=0.5)
            if jobs:
                try:
                    self._process(jobs)
                except Exception as exc:     # the worker never dies
                    self._error("worker", exc)
            elif self._queue.closed_and_empty:
                return

    def stop(self, drain: bool = True, timeout_s: float = 30.0) -> None:
        """Stop the sources; with ``drain`` the windows already captured are still processed."""
        if not self._running:
            return
        for src in self._started_sources:
            try:
                src.stop()
            except Exception as exc:
                self._error("source stop", exc)
        self._started_sources = []
        self._stop.set()
        self._threads[1].join(timeout_s)
        if drain:
            self._poll_once(None)
            self._poll_once(None, flush=True)
        else:
            while self._queue.get_batch(1 << 30, timeout_s=0):
                pass
        self._queue.close()
        self._threads[0].join(timeout_s)
        self._running = False

    def close(self, drain: bool = True) -> None:
        """Stop (with ``drain``: process what was captured and end open intervals), then close
        the sinks."""
        self.stop(drain=drain)
        if drain:
            self.flush_detector()
        for s in self._sinks:
            try:
                s.close()
            except Exception as exc:
                self._error("sink close", exc)

    def __enter__(self) -> "Pipeline":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._running

    def worker_alive(self) -> bool:
        return bool(self._threads) and self._threads[0].is_alive()

    # -- synchronous mode --------------------------------------------------------------------
    def run_sync(self, samples: Iterable[Sample] | None = None,
                 flush: bool = True) -> Iterator[Any]:
        """Process ``samples`` (default: every source's ``iter_samples()``, merged by time)
        inline and yield event objects as they are decided. Deterministic; no threads."""
        if samples is None:
            samples = merge_samples(s.iter_samples() for s in self.sources)
        step_ns = max(1, int(self.config.hop_s * 1e9) // 4)
        next_poll: int | None = None
        last_t = None
        jobs: list[_Job] = []
        for s in samples:
            self._on_sample(s)
            last_t = s.t_ns
            if next_poll is None:
                next_poll = s.t_ns
            if s.t_ns >= next_poll:
                next_poll = s.t_ns + step_ns
                jobs += self._sync_jobs(s.t_ns)
                if len(jobs) >= self.config.max_batch:
                    yield from self._process(jobs)
                    jobs = []
        if last_t is not None:
            jobs += self._sync_jobs(last_t)
            if flush:
                jobs += self._sync_jobs(None, flush=True)
        if jobs:
            yield from self._process(jobs)
        if flush:
            yield from self.flush_detector()

    def _sync_jobs(self, now_ns: int | None, flush: bool = False) -> list[_Job]:
        t0 = time.perf_counter()
        try:
            wss = self._assembler.flush() if flush else self._assembler.poll(now_ns)
        except Exception as exc:
            self._error("assemble", exc)
            return []
        if wss:
            self.latency["assemble"].observe(time.perf_counter() - t0)
        wss = self._past_warmup(wss)
        ready = time.monotonic_ns()
        self.windows_in += len(wss)
        return [_Job(ws, ready, ready) for ws in wss]

    # -- the work ----------------------------------------------------------------------------
    def _process(self, jobs: list[_Job]) -> list[Any]:
        with self._swap_lock:
            detector, sinks = self._detector, list(self._sinks)
        start_ns = time.monotonic_ns()
        for j in jobs:
            self.latency["queue_wait"].observe((start_ns - j.ready_ns) / 1e9)

        t0 = time.perf_counter()
        per_mod: dict[str, list[tuple[int, np.ndarray]]] = {}
        for i, j in enumerate(jobs):
            for m, w in j.windowset.windows.items():
                if m not in self.modalities:
                    continue
                try:
                    x = self.embedder.prepare(m, w.model_item())
                except Exception as exc:   # bad data in one window: skip it, count it
                    self._error(f"preprocess {m}", exc)
                    continue
                per_mod.setdefault(m, []).append((i, x))
        t1 = time.perf_counter()
        embs: list[dict[str, np.ndarray]] = [{} for _ in jobs]
        for m, items in per_mod.items():
            try:
                out = self.embedder.embed_batch(m, stack_items([x for _, x in items]),
                                                batch_size=self.config.max_batch)
            except Exception as exc:
                self._error(f"model {m}", exc)
                continue
            for (i, _), row in zip(items, out):
                if np.all(np.isfinite(row)):
                    embs[i][m] = row
                else:
                    self._error(f"model {m}", "non-finite embedding (window skipped)")
        t2 = time.perf_counter()
        prep_s, model_s = t1 - t0, t2 - t1
        if per_mod:
            self.latency["preprocess"].observe(prep_s)
            self.latency["model"].observe(model_s)

        self._tally(jobs, embs, (time.monotonic_ns() - start_ns) / 1e9)
        emitted: list[Any] = []
        for j, emb in zip(jobs, embs):
            ws = j.windowset
            self.windows_done += 1
            self.last_window_end_ns = int(ws.t_end_ns)
            if not emb:
                self._count(self.errors, "empty window")
                continue
            ws_windows = [ws.windows[m] for m in emb]
            t_start = min(int(w.t_start_ns) for w in ws_windows)
            streams = tuple(sorted({s for w in ws_windows for s in w.streams}))
            td = time.perf_counter()
            try:
                with self._detect_lock:
                    events = list(detector.update(t_start, int(ws.t_end_ns), emb, streams))
            except Exception as exc:
                self._error("detect", exc)
                continue
            te = time.perf_counter()
            self.latency["detect"].observe(te - td)
            for ev in events:
                self._emit(ev, sinks)
            done = time.monotonic_ns()
            self.latency["emit"].observe(time.perf_counter() - te)
            e2e = (done - j.ref_ns) / 1e9
            self.latency["end_to_end"].observe(e2e)
            self.latency["end_to_end_excl_model"].observe(max(0.0, e2e - model_s))
            self.latency["end_to_end_excl_encoder"].observe(max(0.0, e2e - model_s - prep_s))
            emitted.extend(events)
            if self.on_window is not None:
                try:
                    self.on_window(WindowResult(
                        t_start, int(ws.t_end_ns), _scores_dict(getattr(detector, "scores", None)),
                        _scores_dict(getattr(detector, "levels", None)), events, tuple(emb),
                        getattr(detector, "frame", None)))
                except Exception as exc:
                    self._error("on_window", exc)
        return emitted

    def _tally(self, jobs: list[_Job], embs: list[dict[str, np.ndarray]],
               batch_s: float) -> None:
        """Count, per modality, the windows embedded and failed (what health is judged on)."""
        with self._counts_lock:
            c = self.modality_counts
            for j, emb in zip(jobs, embs):
                for m in j.windowset.windows:
                    if m in self.modalities:
                        key = f"{m}:{'embedded' if m in emb else 'failed'}"
                        c[key] = c.get(key, 0) + 1
                self.windows_failed += not emb
        if any(embs):
            self._progress.embedded(time.monotonic(), batch_s)

    def _emit(self, event: Any, sinks: list[Any]) -> None:
        self._count(self.events_by_name, str(getattr(event, "name", "?")))
        d = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        for sink in sinks:
            try:
                sink.emit(d)      # sinks never block (bounded queues inside)
            except Exception as exc:
                self._error(f"sink {type(sink).__name__}", exc)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception as exc:
                self._error("on_event", exc)

    # -- reload ------------------------------------------------------------------------------
    def reload(self, *, anchor_set: Any = None, thresholds: dict[str, float] | None = None,
               detector_config: Any = None, detector: Any = None,
               sinks: Sequence[Any] | None = None) -> list[Any]:
        """Change anchors, thresholds or detector settings (in place, keeping the state of the
        anchors that stay; or swap in a whole new ``detector``) and/or the sinks, between two
        windows; the streams keep running. Returns the sinks that were replaced (the caller
        closes them)."""
        if anchor_set is not None:
            self._check_space(anchor_set)
        closing: list[Any] = []
        with self._swap_lock:
            old = self._sinks
            if sinks is not None:
                self._sinks = list(sinks)
            if detector is not None:
                self._detector = detector
            cur = self._detector
            new_sinks = list(self._sinks)
        if detector is None and (anchor_set is not None or thresholds is not None
                                 or detector_config is not None):
            with self._detect_lock:
                closing = list(cur.reload(anchor_set=anchor_set, thresholds=thresholds,
                                          config=detector_config) or [])
        if anchor_set is not None:
            self._anchor_set = anchor_set
        for ev in closing:                 # intervals of anchors that went away
            self._emit(ev, new_sinks)
        return old if sinks is not None else []

    def flush_detector(self) -> list[Any]:
        """End every active interval (``end`` events to the sinks); used at shutdown."""
        flush = getattr(self._detector, "flush", None)
        if flush is None:
            return []
        with self._detect_lock:
            events = list(flush(self.last_window_end_ns))
        with self._swap_lock:
            sinks = list(self._sinks)
        for ev in events:
            self._emit(ev, sinks)
        return events

    @property
    def detector(self) -> Any:
        return self._detector

    @property
    def sinks(self) -> list[Any]:
        return list(self._sinks)

    # -- health and metrics ------------------------------------------------------------------
    def stream_health(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for src in self.sources:
            try:
                h = src.health() or {}
            except Exception as exc:
                h = {i.stream: {"state": "disconnected", "last_error": f"health(): {exc}"}
                     for i in src.streams}
            for name, st in h.items():
                out[name] = _as_dict(st)
        for name, err in self.start_failures.items():
            out.setdefault(name, {})
            out[name].update(state="disconnected", last_error=err)
        received, refused = self._copy(self.samples), self._refused()
        for info in self.stream_infos:
            out.setdefault(info.stream, {"state": "unknown"})
            out[info.stream]["modality"] = info.modality
            out[info.stream]["received"] = received.get(info.stream, 0)
            out[info.stream]["refused"] = refused.get(info.stream, 0)
        return out

    def health(self) -> dict[str, Any]:
        """Per-stream health, queue and drops, threads and progress. ``status`` is ``ok``,
        ``degraded`` (a stream degraded or refusing samples, errors dominating recent windows)
        or ``failing`` (a stream disconnected, a pipeline thread dead, or samples arriving but
        no window embedded for ``stall_hops`` hops); ``reasons`` says why. The daemon keeps
        running in every case. Other reports (e.g. the encoders each modality runs) go in as
        further keys of this dict and findings of ``_findings``."""
        now = time.monotonic()
        streams = self.stream_health()
        recent = self._recent_delta(now)
        findings = self._findings(streams, recent, now)
        return {"status": verdict(findings), "reasons": [f.reason for f in findings],
                "streams": streams,
                "queue": {"depth": len(self._queue), "capacity": self._queue.capacity,
                          "dropped": self._queue.dropped},
                "worker": {"alive": self.worker_alive(), "windows": self.windows_done,
                           "last_window_end_ns": self.last_window_end_ns},
                "threads": self.threads_alive(),
                "progress": {**self._progress.report(now), **liveness.recent_windows(recent)},
                "errors": self._copy(self.errors), **self.encoder_report()}

    def encoder_report(self) -> dict[str, Any]:
        """``{"cpu": ..., "encoders": {modality: variant, status, golden-set check, fallbacks}}``
        of a bundle embedder (``edgebind.runtime.Bundle.report``); empty for torch towers."""
        bundle = getattr(self.embedder, "bundle", None)
        try:
            return bundle.report() if bundle is not None else {}
        except Exception:   # a report must never take health down with it
            return {}

    def _findings(self, streams: dict[str, dict[str, Any]], recent: dict[str, int],
                  now: float) -> list[Finding]:
        out = liveness.stream_findings(streams, recent)
        if self._running:
            for name, alive in self.threads_alive().items():
                if not alive:
                    why = self.thread_deaths.get(name, "stopped")
                    out.append(Finding("failing", f"the {name} thread died ({why})"))
            stalled = self._progress.stalled(now)
            if stalled:
                out.append(Finding("failing", stalled))
        out += liveness.window_findings(recent, self.modalities)
        return out

    def _totals(self) -> dict[str, int]:
        """Cumulative counters that health takes recent deltas of."""
        refused = self._refused()
        with self._counts_lock:
            t = {"windows": self.windows_done, "windows_failed": self.windows_failed,
                 "detect_failed": self.errors.get("detect", 0), **self.modality_counts}
            for name, n in self.samples.items():
                t[f"received:{name}"] = n
                t[f"refused:{name}"] = refused.get(name, 0)
        return t

    def _refused(self) -> dict[str, int]:
        """Samples refused per stream: by the assembler (bad data) or by an exception."""
        try:
            per = self._assembler.stats["streams"]
        except Exception:
            per = {}
        out = self._copy(self.sample_errors)
        for name, st in per.items():
            if st.get("invalid"):
                out[name] = out.get(name, 0) + int(st["invalid"])
        return out

    def _recent_delta(self, now: float) -> dict[str, int]:
        if self._recent.due(now):       # also when the windows thread is dead
            self._recent.add(self._totals(), now)
        return self._recent.delta()

    def threads_alive(self) -> dict[str, bool]:
        names = ("worker", "windows")
        return {n: bool(self._threads) and self._threads[i].is_alive()
                for i, n in enumerate(names)}

    def progressing(self) -> bool:
        """True while the pipeline runs and turns the samples it gets into embeddings: both
        threads alive and not stalled. The daemon pings the systemd watchdog only then."""
        return (self._running and all(self.threads_alive().values())
                and self._progress.stalled() is None)

    def metrics(self) -> dict[str, Any]:
        """Counters, gauges and latency histograms for ``/metrics`` and benchmarks."""
        sinks = {}
        for i, s in enumerate(self.sinks):
            try:
                sinks[f"{i}:{getattr(s, 'name', type(s).__name__)}"] = dict(s.stats())
            except Exception:
                pass
        try:
            asm = dict(self._assembler.stats)
        except Exception:
            asm = {}
        refused = self._refused()
        with self._counts_lock:
            return {"samples": dict(self.samples), "sample_errors": refused,
                    "windows_assembled": self.windows_in, "windows_processed": self.windows_done,
                    "windows_warmup": self.windows_warmup,
                    "windows_dropped": self._queue.dropped, "queue_depth": len(self._queue),
                    "queue_capacity": self._queue.capacity,
                    "events": dict(self.events_by_name), "errors": dict(self.errors),
                    "assembler": asm, "sinks": sinks,
                    "encoders": self.encoder_report().get("encoders", {}),
                    "latency": {k: h.snapshot() for k, h in self.latency.items()}}
