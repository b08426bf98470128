"""Scores -> events: per window, similarity of every modality's embedding to every anchor,
fusion across modalities, a decision value per anchor, temporal smoothing, and a small state
machine per anchor (hysteresis, minimum duration, refractory period)."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgebind.anchors import AnchorSet
from edgebind.detect import scoring
from edgebind.detect.config import DetectorConfig, check_levels
from edgebind.detect.event import Event, monotonic_to_wall_ns
from edgebind.space import check_same_space


@dataclass
class ScoreFrame:
    """What the detector saw in one window (for timelines, calibration and debugging)."""

    t_start_ns: int
    t_end_ns: int
    similarity: dict[str, float]             # fused cosine, every anchor (background included)
    values: dict[str, float]                 # smoothed decision value, target anchors
    raw_values: dict[str, float]             # decision value before smoothing
    levels: dict[str, float]                 # on-level per target anchor
    evidence: dict[str, dict[str, float]]    # modality -> anchor -> cosine
    active: tuple[str, ...]


@dataclass
class _Track:
    state: str = "idle"                      # idle | pending | active
    onset_ns: int = 0
    onset_value: float = math.nan
    onset_similarity: float = math.nan
    onset_evidence: dict[str, float] = field(default_factory=dict)
    peak: float = -math.inf
    peak_similarity: float = math.nan
    peak_evidence: dict[str, float] = field(default_factory=dict)
    seq: int = 0
    refractory_until: int | None = None
    ema: float = math.nan
    history: deque = field(default_factory=deque)


class Detector:
    """``Detector(anchor_set, DetectorConfig(...), thresholds=profile.thresholds)``;
    ``update(t_start_ns, t_end_ns, {modality: embedding}, streams)`` -> list of :class:`Event`."""

    def __init__(self, anchor_set: AnchorSet, config: DetectorConfig | None = None,
                 thresholds: Mapping[str, float] | None = None, *, space_id: str | None = None,
                 clock: Callable[[], tuple[int, int]] | None = None):
        self.config = config or DetectorConfig()
        self.config.validate()
        if space_id is not None:
            check_same_space(space_id, anchor_set.space_id, "the encoder", "the anchor set")
        if not anchor_set.targets:
            raise ValueError("the anchor set has no event anchors (all are background)")
        self._clock = clock
        self._tracks: dict[str, _Track] = {}
        self._seq = 0
        self._last_t_end: int | None = None
        self.frame: ScoreFrame | None = None
        self.windows = 0
        self._set_anchors(anchor_set)
        self.thresholds = self._check_thresholds(thresholds or {}, self.config.decision)

    # -- configuration ------------------------------------------------------------------------------
    def _set_anchors(self, anchor_set: AnchorSet) -> None:
        self.anchor_set = anchor_set
        self.dim = anchor_set.dim
        self._targets = anchor_set.targets
        self._background = anchor_set.background
        self._all = self._targets + self._background
        self._matrices: dict[str | None, np.ndarray] = {}
        self._tracks = {a.name: self._tracks.get(a.name, _Track()) for a in self._targets}

    def _matrix(self, modality: str | None) -> np.ndarray:
        if modality not in self._matrices:
            self._matrices[modality] = self.anchor_set.matrix(modality, self._all).astype(np.float64)
        return self._matrices[modality]

    @staticmethod
    def _check_thresholds(thresholds: Mapping[str, float], decision: str) -> dict[str, float]:
        # A level outside the decision's range would never (or always) fire: refuse it.
        return check_levels(dict(thresholds), "thresholds", decision, "threshold for {name!r}")

    def level(self, name: str) -> float:
        """The on-level of a target anchor: calibrated threshold, else the anchor file's (in
        threshold mode), else the config default for the decision mode."""
        if name in self.thresholds:
            return self.thresholds[name]
        a = self.anchor_set[name]
        if self.config.decision == "threshold" and self.config.use_anchor_thresholds and a.threshold is not None:
            return float(a.threshold)
        return self.config.default_level()

    @property
    def levels(self) -> dict[str, float]:
        return {a.name: self.level(a.name) for a in self._targets}

    def reload(self, anchor_set: AnchorSet | None = None, thresholds: Mapping[str, float] | None = None,
               config: DetectorConfig | None = None, t_ns: int | None = None) -> list[Event]:
        """Swap anchors, thresholds or config (SIGHUP) keeping the state of anchors that stay.
        Active anchors that disappear are closed with an ``end`` event."""
        events: list[Event] = []
        # validate everything first: a bad reload changes nothing
        new_thresholds = None if thresholds is None else self._check_thresholds(
            thresholds, (config or self.config).decision)
        if config is not None:
            config.validate()
        if anchor_set is not None:
            check_same_space(anchor_set.space_id, self.anchor_set.space_id, "the new anchor set",
                             "the running anchor set")
            if not anchor_set.targets:
                raise ValueError("the new anchor set has no event anchors")
        if anchor_set is not None:
            keep = {a.name for a in anchor_set.targets}
            for name in [n for n in self._tracks if n not in keep]:
                events += self._close(name, t_ns)
            self._set_anchors(anchor_set)
        if new_thresholds is not None:
            self.thresholds = new_thresholds
        if config is not None:
            keys = ("smoothing", "ema_alpha", "mean_windows", "decision", "fusion", "temperature")
            if any(getattr(config, k) != getattr(self.config, k) for k in keys):
                # the smoothed values no longer mean the same thing
                for tr in self._tracks.values():
                    tr.ema, tr.history = math.nan, deque()
            self.config = config
            self._matrices = {}
        return events

    # -- scores --------------------------------------------------------------------------------------
    def _weights(self, modality: str) -> np.ndarray:
        cfg = self.config
        base = float(cfg.modality_weights.get(modality, 1.0))
        return np.array([float(cfg.anchor_modality_weights.get(a.name, {}).get(modality, base))
                         for a in self._all])

    def score(self, embeddings: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Fused similarity of every anchor (targets then background) and per-modality cosines.
        Pure with respect to detector state."""
        if not embeddings:
            raise ValueError("no embeddings given; expected {modality: (D,) array} for at least one modality")
        units = {m: scoring.check_embedding(m, v, self.dim) for m, v in embeddings.items()}
        per_mod = {m: scoring.cosine_scores(u, self._matrix(m)) for m, u in units.items()}
        if self.config.fusion == "weighted":
            fused = scoring.weighted_fusion(per_mod, {m: self._weights(m) for m in per_mod})
        else:
            e = scoring.embedding_sum(units, self.config.modality_weights)
            fused = (np.full(len(self._all), np.nan) if e is None
                     else scoring.cosine_scores(e, self._matrix(None)))
        return fused, per_mod

    def decision_values(self, fused: np.ndarray) -> np.ndarray:
        nt = len(self._targets)
        t, b = fused[:nt], fused[nt:]
        b = b[np.isfinite(b)]
        if self.config.decision == "threshold":
            return t.copy()
        if self.config.decision == "margin":
            return scoring.margin_values(t, b)
        return scoring.softmax_values(t, b, self.config.temperature)

    def _smooth(self, tr: _Track, x: float) -> float:
        cfg = self.config
        if not math.isfinite(x):           # no evidence this window: forget the history
            tr.ema, tr.history = math.nan, deque()
            return math.nan
        if cfg.smoothing == "none":
            return x
        if cfg.smoothing == "ema":
            tr.ema = x if not math.isfinite(tr.ema) else cfg.ema_alpha * x + (1 - cfg.ema_alpha) * tr.ema
            return tr.ema
        tr.history.append(x)
        while len(tr.history) > cfg.mean_windows:
            tr.history.popleft()
        return float(np.mean(tr.history))

    # -- events --------------------------------------------------------------------------------------
    def _wall(self, t_ns: int | None) -> int | None:
        if t_ns is None:
            return None
        if self._clock is None:
            return monotonic_to_wall_ns(t_ns)
        mono, wall = self._clock()
        return monotonic_to_wall_ns(t_ns, mono, wall)

    def _event(self, name: str, state: str, tr: _Track, t_ns: int, end_ns: int | None, score: float,
               similarity: float, evidence: dict[str, float], streams: Sequence[str]) -> Event:
        return Event(name=name, state=state, start_ns=tr.onset_ns, end_ns=end_ns, t_ns=t_ns,
                     score=score, threshold=self.level(name) if name in self.anchor_set else math.nan,
                     decision=self.config.decision, evidence=dict(evidence),
                     streams=tuple(streams), space_id=self.anchor_set.space_id, seq=tr.seq,
                     similarity=similarity, wall_start_ns=self._wall(tr.onset_ns),
                     wall_end_ns=self._wall(end_ns))

    def update(self, t_start_ns: int, t_end_ns: int, embeddings: Mapping[str, np.ndarray],
               streams: Sequence[str] = ()) -> list[Event]:
        """Score one window and advance every anchor's state; returns the events it caused.
        Bad input (NaN, wrong dim, unknown modality, time going backwards) raises ValueError
        before any state changes."""
        t_start_ns, t_end_ns = int(t_start_ns), int(t_end_ns)
        if t_end_ns < t_start_ns:
            raise ValueError(f"window ends ({t_end_ns}) before it starts ({t_start_ns})")
        if self._last_t_end is not None and t_end_ns < self._last_t_end:
            raise ValueError(f"windows must arrive in time order: this one ends at {t_end_ns} ns, "
                             f"before the previous one ({self._last_t_end} ns)")
        fused, per_mod = self.score(embeddings)
        raw = self.decision_values(fused)
        self._last_t_end = t_end_ns
        self.windows += 1
        cfg = self.config
        min_dur = int(cfg.min_duration_s * 1e9)
        events: list[Event] = []
        values, levels = {}, {}
        for i, a in enumerate(self._targets):
            tr = self._tracks[a.name]
            v = self._smooth(tr, float(raw[i]))
            values[a.name] = v
            on = levels[a.name] = self.level(a.name)
            off = on - cfg.hysteresis
            ev = {m: float(s[i]) for m, s in per_mod.items()}
            sim = float(fused[i])
            above_on = math.isfinite(v) and v >= on
            above_off = math.isfinite(v) and v >= off
            if tr.state == "idle":
                if above_on and (tr.refractory_until is None or t_end_ns >= tr.refractory_until):
                    tr.state, tr.onset_ns = "pending", t_end_ns
                    tr.onset_value, tr.onset_similarity, tr.onset_evidence = v, sim, ev
                    tr.peak, tr.peak_similarity, tr.peak_evidence = v, sim, ev
            elif tr.state == "pending" and not above_off:
                tr.state = "idle"
            if tr.state in ("pending", "active") and above_off and v > tr.peak:
                tr.peak, tr.peak_similarity, tr.peak_evidence = v, sim, ev
            if tr.state == "pending" and t_end_ns - tr.onset_ns >= min_dur:
                self._seq += 1
                tr.seq, tr.state = self._seq, "active"
                state = "start" if cfg.events == "interval" else "instant"
                events.append(self._event(a.name, state, tr, t_end_ns, None, tr.onset_value,
                                          tr.onset_similarity, tr.onset_evidence, streams))
            elif tr.state == "active" and not above_off:
                if cfg.events == "interval":
                    events.append(self._event(a.name, "end", tr, t_end_ns, t_end_ns, tr.peak,
                                              tr.peak_similarity, tr.peak_evidence, streams))
                tr.state = "idle"
                tr.refractory_until = t_end_ns + int(cfg.refractory_s * 1e9)
        self.frame = ScoreFrame(
            t_start_ns=t_start_ns, t_end_ns=t_end_ns,
            similarity={a.name: float(fused[i]) for i, a in enumerate(self._all)},
            values=values, raw_values={a.name: float(raw[i]) for i, a in enumerate(self._targets)},
            levels=levels, evidence={m: {a.name: float(s[i]) for i, a in enumerate(self._all)}
                                     for m, s in per_mod.items()},
            active=self.active)
        return events

    def _close(self, name: str, t_ns: int | None) -> list[Event]:
        tr = self._tracks.get(name)
        if tr is None or tr.state != "active":
            if tr is not None:
                tr.state = "idle"
            return []
        end = int(t_ns if t_ns is not None else (self._last_t_end or tr.onset_ns))
        tr.state = "idle"
        if self.config.events != "interval":
            return []
        return [self._event(name, "end", tr, end, end, tr.peak, tr.peak_similarity,
                            tr.peak_evidence, ())]

    def flush(self, t_ns: int | None = None) -> list[Event]:
        """End every active interval (at shutdown or when the streams stop)."""
        return [e for name in list(self._tracks) for e in self._close(name, t_ns)]

    # -- read-outs -----------------------------------------------------------------------------------
    @property
    def active(self) -> tuple[str, ...]:
        return tuple(n for n, tr in self._tracks.items() if tr.state == "active")

    @property
    def scores(self) -> dict[str, float]:
        """Last smoothed decision value per event anchor (compare with :attr:`levels`)."""
        return dict(self.frame.values) if self.frame else {}

    @property
    def similarities(self) -> dict[str, float]:
        """Last fused cosine per anchor, background included."""
        return dict(self.frame.similarity) if self.frame else {}
