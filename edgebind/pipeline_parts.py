"""The pipeline's parts that are not the pipeline: its configuration and the sane range of each
setting, the latency histogram, the drop-oldest window queue, and the records it hands out.
``edgebind.pipeline`` re-exports all of them."""
from __future__ import annotations

import heapq
import threading
from bisect import bisect_left
from collections import deque
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from edgebind.sample import Sample

# Stages whose latency is recorded (seconds). ``end_to_end`` runs from the window's end (live: on
# the sensors' clock; synchronous: from when the window was assembled) to its events being handed
# to the sinks; ``end_to_end_excl_model`` subtracts the model time of the window's batch,
# ``end_to_end_excl_encoder`` its preprocessing and model time.
STAGES = ("end_to_end", "end_to_end_excl_model", "end_to_end_excl_encoder", "queue_wait",
          "assemble", "preprocess", "model", "detect", "emit")
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0)


# -- metrics ---------------------------------------------------------------------------------
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


class DropOldestQueue:
    """A bounded FIFO: ``put`` never blocks; when full the oldest item is discarded and counted."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"queue capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._items: deque = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self._closed = False

    def put(self, item: Any) -> int:
        """Append; returns how many old items were dropped to make room (0 or 1)."""
        with self._cond:
            dropped = 0
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
                dropped = 1
            self._items.append(item)
            self._cond.notify()
            return dropped

    def get_batch(self, max_items: int, timeout_s: float | None = None) -> list:
        """Wait for at least one item (or close/timeout), then take up to ``max_items``."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout_s)
            out = []
            while self._items and len(out) < max_items:
                out.append(self._items.popleft())
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed_and_empty(self) -> bool:
        with self._cond:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


# -- configuration and records ------------------------------------------------------------------
# Sane ranges (lo, hi, lo allowed?): outside them a value is a typo that would crash start-up
# (``window_s = 1e300``), divide by a zero-length hop (``hop_s = 1e-300``) or kill a thread
# (``poll_interval_s = 1e300``).
LIMITS: dict[str, tuple[float, float, bool]] = {
    "window_s": (0.0, 600.0, False), "hop_s": (0.001, 3600.0, True),
    "frame_tolerance_s": (0.0, 60.0, True), "lateness_s": (0.0, 60.0, True),
    "queue_size": (1, 100_000, True), "max_batch": (1, 1024, True),
    "poll_interval_s": (0.001, 10.0, True), "warmup_s": (0.0, 3600.0, True),
    "stall_hops": (1, 100_000, True),
}
INTEGER_KEYS = ("queue_size", "max_batch", "stall_hops")


def expected(name: str) -> str:
    """What ``PipelineConfig.<name>`` must be, in words (for errors naming a config key)."""
    lo, hi, closed = LIMITS[name]
    if name in INTEGER_KEYS:
        return f"an integer >= {lo} and <= {hi}"
    if lo == 0 and closed:
        return f"a number of seconds >= 0 and <= {hi:g}"
    return f"a positive number of seconds {f'from {lo:g} ' if lo else ''}up to {hi:g}"


def within(name: str, v: Any) -> bool:
    from edgebind.checks import is_finite_number
    lo, hi, closed = LIMITS[name]
    if name in INTEGER_KEYS and not (isinstance(v, int) and not isinstance(v, bool)):
        return False
    return is_finite_number(v) and (v >= lo if closed else v > lo) and v <= hi


@dataclass
class PipelineConfig:
    """Window assembly, queueing and batching. ``window_s=None`` takes the windows the bundle's
    model was trained on (its audio clip length and IMU window)."""

    window_s: float | None = None
    hop_s: float = 0.5
    frame_tolerance_s: float = 0.1
    lateness_s: float = 0.1
    queue_size: int = 16
    max_batch: int = 8
    poll_interval_s: float = 0.02
    modalities: tuple[str, ...] | None = None   # towers to run; default: every one with a stream
    # Windows ending less than this after the first sample are not scored (counted as warm-up):
    # before then the audio and IMU windows cannot be full, and frames alone would decide.
    # None: the longest model window; 0: score from the first window.
    warmup_s: float | None = None
    # Health turns failing, and the systemd watchdog stops being pinged, when samples arrive but
    # no window has been embedded for this many hops (at least liveness.MIN_STALL_S seconds).
    stall_hops: int = 10

    def validate(self) -> None:
        for name in LIMITS:
            v = getattr(self, name)
            if v is None and name in ("window_s", "warmup_s"):
                continue
            if not within(name, v):
                raise ValueError(f"PipelineConfig.{name}: expected {expected(name)}, got {v!r:.40}")

    @property
    def stall_s(self) -> float:
        from edgebind.liveness import MIN_STALL_S
        return max(self.stall_hops * self.hop_s, MIN_STALL_S)


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
    frame: Any = None


@dataclass
class _Job:
    windowset: Any
    ready_ns: int      # monotonic time the assembler handed it out
    ref_ns: int        # what end_to_end latency is measured from


def model_windows(embedder: Any) -> dict[str, float]:
    """Per-modality window lengths the bundle's model was trained on: audio = its clip
    length, IMU = its IMU window (frames use the frame nearest the window end)."""
    pre = getattr(embedder, "preprocess", None)
    if pre is None:
        return {"audio": 2.0, "imu": 2.0}
    return {"audio": float(pre.audio.clip_duration), "imu": float(pre.imu.window_s)}


def _as_dict(x: Any) -> dict:
    if isinstance(x, dict):
        return dict(x)
    if is_dataclass(x):
        return asdict(x)
    return dict(vars(x))


def _scores_dict(scores: Any, names: Sequence[str] | None = None) -> dict[str, float]:
    if scores is None:
        return {}
    if isinstance(scores, dict):
        return {str(k): float(v) for k, v in scores.items()}
    arr = np.asarray(scores, dtype=np.float64).ravel()
    names = list(names or [f"anchor{i}" for i in range(len(arr))])
    return {n: float(v) for n, v in zip(names, arr)}


def merge_samples(iterables: Iterable[Iterable[Sample]]) -> Iterator[Sample]:
    """Merge per-source sample iterators into one, ordered by ``t_ns``."""
    return heapq.merge(*iterables, key=lambda s: s.t_ns)
