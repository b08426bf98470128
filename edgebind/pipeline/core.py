"""The ``Pipeline``: sources → window assembler → bounded queue → batched encoders → detector →
sinks. This module holds its construction, threads, synchronous driver, reload and shutdown;
the stages, counters, health rules and queue are the package's other modules."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from edgebind.pipeline.liveness import Progress, Recent, recent_windows, verdict
from edgebind.pipeline import build
from edgebind.pipeline import health as _health
from edgebind.pipeline.config import PipelineConfig
from edgebind.pipeline.metrics import Counters, Histogram, metrics
from edgebind.pipeline.queue import DropOldestQueue
from edgebind.pipeline.threads import PipelineThreads
from edgebind.pipeline.windowing import Windowing
from edgebind.pipeline.stages import DetectAndEmit, Job, Outputs, WindowEmbedder, WindowResult
from edgebind.sample import Sample, StreamInfo, require_unique_streams

if TYPE_CHECKING:
    from edgebind.anchors import AnchorSet
    from edgebind.detect import Detector, DetectorConfig, Event
    from edgebind.profile import Profile
    from edgebind.runtime.encoder import SupportsEmbedding
    from edgebind.sensors.base import SampleSource
    from edgebind.sensors.windows import WindowAssembler
    from edgebind.sinks.base import EventSink


def merge_samples(iterables: Iterable[Iterable[Sample]]) -> Iterator[Sample]:
    """Merge per-source sample iterators into one, ordered by ``t_ns``."""
    import heapq
    return heapq.merge(*iterables, key=lambda s: s.t_ns)


class Pipeline:
    """Sources → windows → batched encoders → detector → sinks.

    ``sources``: ``edgebind.sensors`` sources (``SampleSource``: ``streams``,
    ``start(on_sample)``, ``stop()``, ``health()``, ``iter_samples()``). ``embedder``:
    ``edgebind.Embedder`` (from a bundle; ``SupportsEmbedding``). ``anchor_set``:
    ``edgebind.anchors.AnchorSet``; it must be in the embedder's space. ``detector``:
    ``edgebind.detect.Detector`` (default: one over ``anchor_set`` with default settings).
    ``sinks``: objects with ``emit(event_dict)`` (``EventSink``). ``on_event(event)`` receives
    event objects; ``on_window(result: WindowResult)`` every window's scores (timelines).
    """

    def __init__(self, sources: Sequence[SampleSource], embedder: SupportsEmbedding,
                 anchor_set: AnchorSet | None = None, detector: Detector | None = None,
                 sinks: Sequence[EventSink] = (), config: PipelineConfig | None = None,
                 profile: Profile | None = None, on_event: Callable[[Event], None] | None = None,
                 on_window: Callable[[WindowResult], None] | None = None,
                 stream_infos: Sequence[StreamInfo] | None = None):
        self.config = config or PipelineConfig()
        self.config.validate()
        self.sources = list(sources)
        self.embedder = embedder
        self.profile = profile
        self._anchor_set, self._detector = build.anchors_and_detector(embedder, anchor_set,
                                                                      detector, profile)
        self._sinks = list(sinks)
        self.on_event = on_event
        self.on_window = on_window
        self.stream_infos = require_unique_streams(
            stream_infos if stream_infos is not None else
            (i for s in self.sources for i in s.streams))
        self.modalities = build.towers_to_run(self.config, embedder, self.stream_infos)
        self.window_s: dict[str, float] = self.config.window_lengths(embedder)
        warm = self.config.warmup_s
        warmup_ns = int(1e9 * (max(self.window_s.values()) if warm is None else warm))
        self._swap_lock = threading.Lock()       # the detector and sinks vs a reload
        self._detect_lock = threading.Lock()     # detector.update vs an in-place reload
        self._queue = DropOldestQueue(self.config.queue_size)
        self.counters = Counters(i.stream for i in self.stream_infos)
        self._windows = Windowing(build.make_assembler(self.stream_infos, self.window_s,
                                                       self.config, embedder, profile),
                                  warmup_ns, self.counters)
        self._collect = self._windows.collect
        self._error = self.counters.error
        self._embed = WindowEmbedder(embedder, self.modalities, self._error)
        self._detect = DetectAndEmit(self.counters, self._detect_lock)
        # What health is judged on besides the counters and the threads: sources that failed
        # to start, and the times of the last sample, poll and embedding.
        self.start_failures: dict[str, str] = {}
        grace = warmup_ns / 1e9 + self.config.lateness_s + 2 * self.config.hop_s
        self._progress = Progress(self.config.stall_s, grace)
        self._recent = Recent(2 * self._progress.stall_s)
        self._threads = PipelineThreads()
        self._running = False
        self._started_sources: list[SampleSource] = []

    # -- construction helpers --------------------------------------------------------------
    @classmethod
    def from_files(cls, bundle: str | Path, anchors: str | Path, sources: Sequence[SampleSource],
                   *, sinks: Sequence[EventSink] = (),
                   detector_config: DetectorConfig | dict[str, Any] | None = None,
                   config: PipelineConfig | None = None, profile: str | Path | Profile | None = None,
                   thresholds: dict[str, float] | None = None,
                   detector: str | Path | bool | None = None,
                   **kwargs: Any) -> "Pipeline":
        """A pipeline from a bundle folder and an anchor-set file (and optionally a profile).

        The detector is built as ``edgebind run`` builds it (``edgebind.detect.tuned``):
        ``detector`` is a tuned-detector file, ``None`` for the ``detector.json`` beside the
        anchors when there is one (the default anchors have theirs), or ``False`` for none;
        ``detector_config`` (a dict of settings laid over the tuned ones, or a whole
        ``DetectorConfig``), then the profile's and ``thresholds``' levels over the tuned ones."""
        return build.from_files(cls, bundle, anchors, sources, sinks=sinks,
                                detector_config=detector_config, config=config,
                                profile=profile, thresholds=thresholds, detector=detector,
                                **kwargs)

    @property
    def assembler(self) -> WindowAssembler:
        """The ``edgebind.sensors.WindowAssembler`` (for inspection; its ``stats``)."""
        return self._windows.assembler

    @property
    def _assembler(self) -> WindowAssembler:
        return self._windows.assembler

    @_assembler.setter
    def _assembler(self, assembler: WindowAssembler) -> None:   # tests swap in a broken one
        self._windows.assembler = assembler

    @property
    def windows_done(self) -> int:
        """Window sets processed (embedded and scored, or failed) so far."""
        return self.counters.windows_done

    @property
    def latency(self) -> dict[str, Histogram]:
        """Each stage's latency histogram (``metrics.STAGES``)."""
        return self.counters.latency

    # -- live mode ---------------------------------------------------------------------------
    def _on_sample(self, sample: Sample) -> None:
        """Called from capture threads: a short lock around the assembler, nothing else."""
        try:
            self._windows.push(sample)
            self.counters.count(self.counters.samples, sample.stream)
            self._progress.sample(time.monotonic())
        except Exception as exc:   # a bad sample must never kill a capture thread
            stream = getattr(sample, "stream", "?")   # whatever arrived may not be a Sample
            self.counters.count(self.counters.sample_errors, stream)
            self._error(f"sample {stream}", exc)

    def start(self) -> "Pipeline":
        """Start the worker, the poll thread and every source (a source that fails to start is
        reported unhealthy; the others run)."""
        if self._running:
            return self
        self._running = True
        self._progress.reset()
        self._threads.start({"worker": self._worker_loop, "windows": self._poll_loop})
        for src in self.sources:
            try:
                src.start(self._on_sample)
                self._started_sources.append(src)
            except Exception as exc:
                for info in src.streams:
                    self.start_failures[info.stream] = str(exc)
                self._error("source start", exc)
        return self

    def _poll_loop(self) -> None:
        # Sample-driven (now_ns=None): the newest sample time is "now", whatever clock a
        # source stamps with; a stalled stream doesn't hold windows back while others run.
        while not self._threads.stopping.wait(self.config.poll_interval_s):
            try:
                self._enqueue()
            except Exception as exc:        # counted; health judges whether windows still come
                self._error("windows", exc)
            now = time.monotonic()
            self._progress.polled(now)
            if self._recent.due(now):
                self._recent.add(self.counters.totals(self._refused()), now)

    def _enqueue(self, flush: bool = False) -> None:
        for job in self._collect(None, flush=flush, live=True):
            self._queue.put(job)

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
        self._threads.stopping.set()
        self._threads.join("windows", timeout_s)
        if drain:
            self._enqueue()
            self._enqueue(flush=True)
        else:
            while self._queue.get_batch(1 << 30, timeout_s=0):
                pass
        self._queue.close()
        self._threads.join("worker", timeout_s)
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
        return self._threads.alive()["worker"]

    # -- synchronous mode --------------------------------------------------------------------
    def run_sync(self, samples: Iterable[Sample] | None = None,
                 flush: bool = True) -> Iterator[Event]:
        """Process ``samples`` (default: every source's ``iter_samples()``, merged by time)
        inline and yield event objects as they are decided. Deterministic; no threads."""
        if samples is None:
            samples = merge_samples(s.iter_samples() for s in self.sources)
        step_ns = max(1, int(self.config.hop_s * 1e9) // 4)
        next_poll: int | None = None
        last_t = None
        jobs: list[Job] = []
        for s in samples:
            self._on_sample(s)
            last_t = s.t_ns
            if next_poll is None:
                next_poll = s.t_ns
            if s.t_ns >= next_poll:
                next_poll = s.t_ns + step_ns
                jobs += self._collect(s.t_ns)
                if len(jobs) >= self.config.max_batch:
                    yield from self._process(jobs)
                    jobs = []
        if last_t is not None:
            jobs += self._collect(last_t)
            if flush:
                jobs += self._collect(None, flush=True)
        if jobs:
            yield from self._process(jobs)
        if flush:
            yield from self.flush_detector()

    # -- the work ----------------------------------------------------------------------------
    def _process(self, jobs: list[Job]) -> list[Event]:
        """Embed a batch of window sets, then detect and emit window set by window set."""
        out = self._outputs()
        start_ns = time.monotonic_ns()
        for j in jobs:
            self.latency["queue_wait"].observe((start_ns - j.ready_ns) / 1e9)
        batch = self._embed(jobs, self.config.max_batch)
        if batch.ran:
            self.latency["preprocess"].observe(batch.preprocess_s)
            self.latency["model"].observe(batch.model_s)
        self.counters.tally([j.windowset.windows for j in jobs], batch.embeddings,
                            self.modalities)
        if any(batch.embeddings):
            self._progress.embedded(time.monotonic(), (time.monotonic_ns() - start_ns) / 1e9)
        emitted: list[Event] = []
        for job, embeddings in zip(jobs, batch.embeddings):
            found = self._detect(job, embeddings, batch, out)
            if found is not None:
                emitted += found.events
        return emitted

    # -- reload ------------------------------------------------------------------------------
    def reload(self, *, anchor_set: AnchorSet | None = None,
               thresholds: dict[str, float] | None = None,
               detector_config: DetectorConfig | None = None, detector: Detector | None = None,
               sinks: Sequence[EventSink] | None = None) -> list[EventSink]:
        """Change anchors, thresholds or detector settings (in place, keeping the state of the
        anchors that stay; or swap in a whole new ``detector``) and/or the sinks, between two
        windows; the streams keep running. Returns the sinks that were replaced (the caller
        closes them)."""
        if anchor_set is not None:
            build.check_space(self.embedder, anchor_set)
        with self._swap_lock:
            old = self._sinks
            self._sinks = list(sinks) if sinks is not None else old
            if detector is not None:
                self._detector = detector
            out = Outputs(self._detector, list(self._sinks), self.on_event, self.on_window)
        closing: list[Event] = []
        if detector is None and (anchor_set is not None or thresholds is not None
                                 or detector_config is not None):
            with self._detect_lock:
                closing = list(out.detector.reload(anchor_set=anchor_set, thresholds=thresholds,
                                                   config=detector_config) or [])
        if anchor_set is not None:
            self._anchor_set = anchor_set
        for ev in closing:                 # intervals of anchors that went away
            self._detect.emit(ev, out)
        return old if sinks is not None else []

    def flush_detector(self) -> list[Event]:
        """End every active interval (``end`` events to the sinks); used at shutdown."""
        out = self._outputs()
        with self._detect_lock:
            events = list(out.detector.flush(self.counters.last_window_end_ns))
        for ev in events:
            self._detect.emit(ev, out)
        return events

    def _outputs(self) -> Outputs:
        with self._swap_lock:
            return Outputs(self._detector, list(self._sinks), self.on_event, self.on_window)

    @property
    def detector(self) -> Detector:
        return self._detector

    @property
    def sinks(self) -> list[EventSink]:
        return list(self._sinks)

    # -- health and metrics ------------------------------------------------------------------
    def stream_health(self) -> dict[str, dict[str, Any]]:
        return _health.stream_health(self.sources, self.stream_infos, self.start_failures,
                                     self.counters.copy(self.counters.samples), self._refused())

    def health(self) -> dict[str, Any]:
        """Per-stream health, queue and drops, threads and progress. ``status`` is ``ok``,
        ``degraded`` (a stream degraded or refusing samples, errors dominating recent windows)
        or ``failing`` (a stream disconnected, a pipeline thread dead, or samples arriving but
        no window embedded for ``stall_hops`` hops); ``reasons`` says why. The daemon keeps
        running in every case. Other reports (e.g. the encoders each modality runs) go in as
        further keys of this dict and findings of ``edgebind.pipeline.health.findings``."""
        now = time.monotonic()
        streams = self.stream_health()
        if self._recent.due(now):       # also when the windows thread is dead
            self._recent.add(self.counters.totals(self._refused()), now)
        recent = self._recent.delta()
        findings = _health.findings(streams, recent, self.modalities, self._progress, now,
                                    self.threads_alive() if self._running else None,
                                    self._threads.deaths)
        c = self.counters
        return {"status": verdict(findings), "reasons": [f.reason for f in findings],
                "streams": streams,
                "queue": {"depth": len(self._queue), "capacity": self._queue.capacity,
                          "dropped": self._queue.dropped},
                "worker": {"alive": self.worker_alive(), "windows": c.windows_done,
                           "last_window_end_ns": c.last_window_end_ns},
                "threads": self.threads_alive(),
                "progress": {**self._progress.report(now), **recent_windows(recent)},
                "errors": c.copy(c.errors), **self.encoder_report()}

    def encoder_report(self) -> dict[str, Any]:
        """``{"cpu": ..., "encoders": {modality: variant, status, golden-set check, fallbacks}}``
        of a bundle embedder (``edgebind.runtime.Bundle.report``); empty for torch towers."""
        return _health.encoder_report(self.embedder)

    def _refused(self) -> dict[str, int]:
        return _health.refused_samples(self._assembler,
                                       self.counters.copy(self.counters.sample_errors))

    def threads_alive(self) -> dict[str, bool]:
        return self._threads.alive()

    def progressing(self) -> bool:
        """True while the pipeline runs and turns the samples it gets into embeddings: both
        threads alive and not stalled. The daemon pings the systemd watchdog only then."""
        return _health.progressing(self._running, self.threads_alive(), self._progress)

    def metrics(self) -> dict[str, Any]:
        """Counters, gauges and latency histograms for ``/metrics`` and benchmarks."""
        return metrics(self.counters, self._refused(), self._queue, self._assembler, self.sinks,
                       self.encoder_report().get("encoders", {}))
