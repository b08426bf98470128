"""Is the pipeline doing its job? Decided from what it has done recently, not from whether its
threads exist: a worker stuck in inference, a bundle that fails every window or an assembler
that raises on every poll all leave the threads alive.

``Progress`` keeps the times of the last sample, poll and embedded window; ``Recent`` keeps
snapshots of cumulative counters so ratios (refused samples, failed windows) are taken over the
last few seconds, not since start. ``verdict`` turns findings into ``ok``/``degraded``/``failing``.
The watchdog (``edgebind run``) pings only while ``Progress.stalled`` says nothing.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Iterable, Mapping

LEVELS = ("ok", "degraded", "failing")
# Below this the stall clock would trip on one slow batch of a busy CPU.
MIN_STALL_S = 5.0
# A stream is degraded when at least this share of its recent samples was refused.
REFUSED_SHARE = 0.1
# Errors "dominate" when more than this share of recent windows (of a modality) failed.
FAILED_SHARE = 0.5
# ... and at least this many failed, so one bad window does not flip the status.
MIN_FAILURES = 3
# No progress for this many times the slowest recent batch is a stall, whatever stall_s says.
SLOW_BATCHES = 4


@dataclass(frozen=True)
class Finding:
    level: str        # "degraded" or "failing"
    reason: str


def verdict(findings: Iterable[Finding]) -> str:
    """The worst level among ``findings`` (``ok`` when there are none)."""
    return max((f.level for f in findings), key=LEVELS.index, default="ok")


def _now() -> float:
    return time.monotonic()


class Progress:
    """When the pipeline last received a sample, polled the assembler and embedded a window.

    Stalled means: samples keep arriving (within ``stall_s``) but no window has been embedded
    for ``stall_s`` (after ``grace_s`` from the first sample, the time the first window needs),
    or the windows thread has not polled for ``stall_s``. No samples at all is not a stall: the
    streams' own health reports that, and restarting would not bring a sensor back. On a device
    where one batch takes longer, ``stall_s`` stretches to ``SLOW_BATCHES`` of the slowest
    recent batch: a slow model is not a stuck one."""

    def __init__(self, stall_s: float, grace_s: float):
        self.configured_s = max(float(stall_s), MIN_STALL_S)
        self.grace_s = float(grace_s)
        self._batches: deque[float] = deque(maxlen=32)    # written by the worker only
        self._slowest = 0.0
        self.reset()

    @property
    def stall_s(self) -> float:
        return max(self.configured_s, SLOW_BATCHES * self._slowest)

    def reset(self, now: float | None = None) -> None:
        t = _now() if now is None else now
        self.started_at = t
        self.first_sample_at: float | None = None
        self.last_sample_at: float | None = None
        self.last_embedded_at: float | None = None
        self.last_poll_at = t

    def sample(self, now: float) -> None:
        if self.first_sample_at is None:
            self.first_sample_at = now
        self.last_sample_at = now

    def embedded(self, now: float, batch_s: float = 0.0) -> None:
        self.last_embedded_at = now
        self._batches.append(batch_s)
        self._slowest = max(self._batches)

    def polled(self, now: float) -> None:
        self.last_poll_at = now

    def stalled(self, now: float | None = None) -> str | None:
        """Why the pipeline is stuck, or None."""
        now = _now() if now is None else now
        if now - self.last_poll_at > self.stall_s:
            return f"the windows thread has not polled for {now - self.last_poll_at:.0f} s"
        if self.last_sample_at is None or now - self.last_sample_at > self.stall_s:
            return None
        since = self.last_embedded_at
        if since is None:
            since = self.first_sample_at + self.grace_s      # type: ignore[operator]
        if now - since > self.stall_s:
            what = "no window embedded" if self.last_embedded_at is None else \
                f"no window embedded for {now - since:.0f} s"
            return f"{what} while samples arrive (stall after {self.stall_s:g} s)"
        return None

    def report(self, now: float | None = None) -> dict[str, float | None]:
        now = _now() if now is None else now

        def ago(t: float | None) -> float | None:
            return None if t is None else round(now - t, 3)
        return {"last_embedded_s_ago": ago(self.last_embedded_at),
                "last_sample_s_ago": ago(self.last_sample_at), "stall_after_s": self.stall_s}


class Recent:
    """Snapshots of cumulative counters; ``delta()`` is how much each grew over about the last
    ``horizon_s`` seconds. Thread-safe; memory is bounded by ``min_gap_s``."""

    def __init__(self, horizon_s: float, min_gap_s: float = 0.5):
        self.horizon_s, self.min_gap_s = float(horizon_s), float(min_gap_s)
        self._snaps: deque[tuple[float, dict[str, int]]] = deque()
        self._lock = threading.Lock()

    def due(self, now: float) -> bool:
        """Whether a new snapshot would be kept (callers skip gathering totals otherwise)."""
        with self._lock:
            return not self._snaps or now - self._snaps[-1][0] >= self.min_gap_s

    def add(self, totals: Mapping[str, int], now: float | None = None) -> None:
        now = _now() if now is None else now
        with self._lock:
            if self._snaps and now - self._snaps[-1][0] < self.min_gap_s:
                self._snaps[-1] = (self._snaps[-1][0], dict(totals))   # refresh the newest
            else:
                self._snaps.append((now, dict(totals)))
            # Keep one snapshot older than the horizon: the base of the delta.
            while len(self._snaps) > 2 and now - self._snaps[1][0] >= self.horizon_s:
                self._snaps.popleft()

    def delta(self) -> dict[str, int]:
        with self._lock:
            if not self._snaps:
                return {}
            # One snapshot: everything counted so far is recent.
            base = self._snaps[0][1] if len(self._snaps) > 1 else {}
            last = self._snaps[-1][1]
        return {k: v - base.get(k, 0) for k, v in last.items()}


def share(part: int, whole: int) -> float:
    return part / whole if whole > 0 else 0.0


def stream_findings(streams: dict[str, dict], recent: Mapping[str, int]) -> list[Finding]:
    """Findings from each stream's state, and its share of recently refused samples (which
    also goes into the stream's entry: ``refused``, ``refused_recent``, a degraded state)."""
    out = []
    for name, st in streams.items():
        got, bad = recent.get(f"received:{name}", 0), recent.get(f"refused:{name}", 0)
        st["refused_recent"] = bad
        if bad >= MIN_FAILURES and share(bad, got) >= REFUSED_SHARE:
            if st.get("state") in ("ok", None):
                st["state"] = "degraded"
            out.append(Finding("degraded", f"stream {name}: {bad} of its last {got} samples "
                                           "were refused"))
        state = st.get("state")
        if state == "disconnected":
            why = st.get("last_error")
            out.append(Finding("failing", f"stream {name} disconnected"
                                          + (f" ({why})" if why else "")))
        elif state not in ("ok", "degraded") or (state == "degraded" and not bad):
            out.append(Finding("degraded", f"stream {name} is {state}"))
    return out


def window_findings(recent: Mapping[str, int], modalities: Iterable[str]) -> list[Finding]:
    """Degraded when failures dominate recent windows: overall, per modality, or in the
    detector."""
    out = []
    total = recent.get("windows", 0)
    for key, what in (("windows_failed", "windows had no embedding"),
                      ("detect_failed", "windows failed in the detector")):
        bad = recent.get(key, 0)
        if bad >= MIN_FAILURES and share(bad, total) > FAILED_SHARE:
            out.append(Finding("degraded", f"{bad} of the last {total} {what}"))
    for m in modalities:
        ok, bad = recent.get(f"{m}:embedded", 0), recent.get(f"{m}:failed", 0)
        if bad >= MIN_FAILURES and share(bad, ok + bad) > FAILED_SHARE:
            out.append(Finding("degraded", f"{m}: {bad} of the last {ok + bad} windows failed "
                                           "to embed"))
    return out


def recent_windows(recent: Mapping[str, int]) -> dict[str, int]:
    return {"windows_recent": recent.get("windows", 0),
            "windows_failed_recent": recent.get("windows_failed", 0)}
