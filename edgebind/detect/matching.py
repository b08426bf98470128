"""Event-level scoring of detections against a ground-truth timeline (``edgebind demo`` and the
detector tuner use it).

Scoring (event level): every ``start`` (or ``instant``) event is a detection at its onset time.
A detection matches a ground-truth occurrence of the same event when its onset lies within
``[truth start - tolerance, truth end + tolerance]`` (tolerance: ``--tolerance``, default 2 s,
one window: a window ending up to one window length after the truth ends still shows it, and
the decision is made at the window's end). Matching is one to one, in time order; a second
detection of an occurrence already matched counts as a false positive. precision = matched
detections / detections; recall = matched occurrences / occurrences. Only event anchors count
(background anchors and ``quiet_room`` are not events).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Match:
    precision: float
    recall: float
    detections: int
    occurrences: int
    true_positives: int
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)     # (detection idx, truth idx)

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall,
                "detections": self.detections, "occurrences": self.occurrences,
                "true_positives": self.true_positives, "false_positives": self.false_positives,
                "missed": self.missed}


def match_events(detections: Sequence[tuple[str, int]],
                 truth: Sequence[tuple[str, int, int]], tolerance_s: float) -> Match:
    """Event-level one-to-one matching (see the module doc). ``detections``: (name, onset_ns);
    ``truth``: (name, start_ns, end_ns). Pure function."""
    tol = int(tolerance_s * 1e9)
    used = [False] * len(truth)
    pairs, fps = [], []
    for di, (name, t) in sorted(enumerate(detections), key=lambda x: x[1][1]):
        best = None
        for ti, (tname, a, b) in enumerate(truth):
            if not used[ti] and tname == name and a - tol <= t <= b + tol:
                if best is None or a < truth[best][1]:
                    best = ti
        if best is None:
            fps.append({"name": name, "t_s": t / 1e9})
        else:
            used[best] = True
            pairs.append((di, best))
    tp = len(pairs)
    missed = [{"name": n, "start_s": a / 1e9, "end_s": b / 1e9}
              for (n, a, b), u in zip(truth, used) if not u]
    return Match(precision=tp / len(detections) if detections else (1.0 if not truth else 0.0),
                 recall=tp / len(truth) if truth else 1.0, detections=len(detections),
                 occurrences=len(truth), true_positives=tp, false_positives=fps, missed=missed,
                 pairs=pairs)
