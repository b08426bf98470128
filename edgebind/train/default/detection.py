"""What ships beside the default bundle for detection: the anchor set of the eight simulated
events and ``detector.json``, the detector tuned on streamed demo worlds."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.train.default.config import Recipe


def write_anchors(bundle: Path, path: Path) -> Path:
    """The anchor set of the eight simulated events: each event's captions through the bundle's
    text tower (plain captions, the wording the text tower was trained on)."""
    from edgebind.anchors import AnchorSet, text_anchor
    from edgebind.embedder import Embedder
    from edgebind.sim import CAPTIONS, EVENTS

    emb = Embedder.from_bundle(bundle)

    def encode(texts: list[str]) -> np.ndarray:
        return emb.embed_batch("text", emb.prepare("text", texts))

    anchors = [text_anchor(e, CAPTIONS[e], encode, templates={"default": ("{}",)},
                           background=(e == "quiet_room"), dim=emb.embed_dim) for e in EVENTS]
    aset = AnchorSet(space_id=emb.space_id, dim=emb.embed_dim, anchors=anchors,
                     meta={"source": "edgebind.train.default", "events": list(EVENTS)})
    return aset.save(path)


def tune_detector(bundle: Path, anchors: Path, path: Path, recipe: Recipe,
                  progress: bool = True) -> dict[str, Any]:
    """``detector.json``: the detector setting and per-anchor levels with the best event F1 on
    the tuning worlds, and its precision/recall on the check worlds (never tuned on)."""
    from edgebind.anchors import AnchorSet
    from edgebind.detect import DetectorConfig
    from edgebind.detect.tune import DEFAULT_GRID, pooled, replay, save_tuned, tune
    from edgebind.pipeline.recorder import record_world
    from edgebind.embedder import Embedder
    from edgebind.progress import Counter
    from edgebind.sim.events import QUIET

    emb = Embedder.from_bundle(bundle, threads=recipe.threads)
    aset = AnchorSet.load(anchors, space_id=emb.space_id)
    targets = [a.name for a in aset.targets if a.name != QUIET]   # background, never an event

    def worlds(seeds):
        return [record_world(emb, aset, recipe.tune_scenario, s, difficulty=recipe.difficulty,
                             duration_s=recipe.tune_duration_s) for s in seeds]

    fit_on = worlds(recipe.tune_seeds)
    settings = math.prod(len(v) for v in DEFAULT_GRID.values())
    with Counter(settings, "tune detector", "setting", enabled=progress) as bar:
        best = tune(fit_on, aset, targets, progress=lambda i, n: bar.update())
    check = pooled(replay(worlds(recipe.tune_check_seeds), aset,
                          DetectorConfig.from_dict(best["detector"]), targets, best["thresholds"]))
    info = {"scenario": recipe.tune_scenario, "seeds": list(recipe.tune_seeds),
            "duration_s": recipe.tune_duration_s,
            "difficulty": recipe.difficulty, "check_seeds": list(recipe.tune_check_seeds),
            "check": check}
    save_tuned(path, best, emb.space_id, info, anchors=aset)   # its levels fit these anchors
    return {"tuned": best["score"], "check": check, "detector": best["detector"],
            "thresholds": best["thresholds"]}
