"""Tune a detector on labelled streams: record each window's embeddings once (the real pipeline
over simulated worlds: ``edgebind.pipeline.recorder.record_world``, above this package), then
replay them through real ``Detector`` objects for every candidate setting and score the events
with the demo's one-to-one matching. Torch-free.

In the threshold and margin modes every anchor's on/off state is independent of the others, so
one replay at a level scores that level for every anchor at once; each anchor then keeps the
level with its best F1, and the candidate settings are ranked by the pooled F1.

``edgebind.train.default`` uses it to ship ``detector.json`` beside the default anchors (tuned on
demo-scenario seeds that ``edgebind demo`` does not use by default); ``edgebind.detect.tuned``
reads such files and applies them the same way in the daemon, the pipeline and the demo.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

# The file format lives in edgebind.detect.tuned; re-exported for the tuner's callers.
from edgebind.detect.tuned import FORMAT, load_tuned, save_tuned  # noqa: F401


def __getattr__(name: str) -> Any:
    # The old home of record_world. Resolved only when asked for, so that importing the
    # detector never imports the pipeline above it; callers import it from its new home.
    if name == "record_world":
        from edgebind.pipeline.recorder import record_world
        return record_world
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Recording:
    """Per-window embeddings of one stream and its labelled ground truth."""

    windows: list[tuple[int, int, dict[str, np.ndarray]]]
    truth: list[tuple[str, int, int]]


def replay(recordings: Iterable[Recording], anchor_set: Any, config: Any, targets: Sequence[str],
           thresholds: Mapping[str, float] | None = None,
           tolerance_s: float = 2.0) -> dict[str, tuple[int, int, int]]:
    """Per target anchor: (matched, detections, occurrences) summed over the recordings."""
    from edgebind.detect import Detector
    from edgebind.detect.matching import match_events

    counts = {n: [0, 0, 0] for n in targets}
    for rec in recordings:
        det = Detector(anchor_set, config, thresholds=thresholds)
        onsets: dict[str, list] = {n: [] for n in targets}
        for t0, t1, emb in rec.windows:
            for ev in det.update(t0, t1, emb):
                if ev.name in onsets and ev.state in ("start", "instant"):
                    onsets[ev.name].append((ev.name, int(ev.start_ns)))
        for n in targets:
            m = match_events(onsets[n], [t for t in rec.truth if t[0] == n], tolerance_s)
            c = counts[n]
            c[0] += m.true_positives
            c[1] += m.detections
            c[2] += m.occurrences
    return {n: (c[0], c[1], c[2]) for n, c in counts.items()}


def f1(matched: int, detections: int, occurrences: int) -> float:
    p = matched / detections if detections else 0.0
    r = matched / occurrences if occurrences else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def pooled(counts: Mapping[str, tuple[int, int, int]]) -> dict[str, float]:
    tp = sum(c[0] for c in counts.values())
    nd = sum(c[1] for c in counts.values())
    nt = sum(c[2] for c in counts.values())
    return {"precision": tp / nd if nd else 0.0, "recall": tp / nt if nt else 0.0,
            "f1": f1(tp, nd, nt), "matched": tp, "detections": nd, "occurrences": nt}


# Kept small: each setting replays every window once per level (about 4 ms per window here).
DEFAULT_GRID: dict[str, list[Any]] = {
    "decision": ["threshold", "margin"],
    "ema_alpha": [0.5, 1.0],
    "modality_weights": [{}, {"audio": 2.0}, {"audio": 3.0}],
}
LEVELS = {"threshold": np.round(np.arange(0.0, 0.8, 0.03), 3),
          "margin": np.round(np.arange(-0.1, 0.5, 0.03), 3)}


def tune(recordings: Sequence[Recording], anchor_set: Any, targets: Sequence[str],
         grid: Mapping[str, Sequence[Any]] = DEFAULT_GRID,
         base: Mapping[str, Any] | None = None, tolerance_s: float = 2.0,
         progress: Any = None) -> dict[str, Any]:
    """The best setting (pooled F1 over ``targets``) and its per-anchor levels."""
    from edgebind.detect import DetectorConfig

    keys = list(grid)
    best: dict[str, Any] | None = None
    combos = list(itertools.product(*(grid[k] for k in keys)))
    for i, values in enumerate(combos):
        setting = {**(base or {}), **dict(zip(keys, values))}
        decision = setting.get("decision", "threshold")
        scores: dict[str, list[tuple[float, float]]] = {n: [] for n in targets}
        for level in LEVELS[decision]:
            cfg = DetectorConfig.from_dict({**setting, decision: float(level),
                                            "use_anchor_thresholds": False})
            counts = replay(recordings, anchor_set, cfg, targets, tolerance_s=tolerance_s)
            for n, c in counts.items():
                scores[n].append((f1(*c), float(level)))
        # Per anchor, the middle of the levels that tie for the best F1: the widest margin on
        # both sides (the lowest such level would sit on the edge of false alarms).
        per_anchor = {}
        for n, sc in scores.items():
            top = max(f for f, _ in sc)
            tied = [lv for f, lv in sc if f >= top - 1e-9]
            per_anchor[n] = (top, tied[len(tied) // 2])
        levels = {n: v[1] for n, v in per_anchor.items()}
        cfg = DetectorConfig.from_dict({**setting, "use_anchor_thresholds": False})
        result = pooled(replay(recordings, anchor_set, cfg, targets, levels, tolerance_s))
        if best is None or result["f1"] > best["score"]["f1"]:
            best = {"detector": cfg.to_dict(), "thresholds": levels, "score": result}
        if progress is not None:
            progress(i + 1, len(combos))
    assert best is not None
    return best
