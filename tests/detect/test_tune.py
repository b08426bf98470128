"""Detector tuning on synthetic recordings whose right answer is known: glass shows weakly
(cosine 0.45) and dog strongly (0.8) while they happen, both sit near 0.3 otherwise, with one
dog-like distractor at 0.6. The tuner must put glass's level between 0.3 and 0.45 and dog's
above the distractor, reaching precision and recall 1; files round-trip and refuse other spaces."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.detect import DetectorConfig
from edgebind.detect.tune import (Recording, load_tuned, pooled, replay, save_tuned, tune)
from tests.detect.test_detector import HOP, SPACE, emb, make_set

S = 1_000_000_000


def recording(rng: np.random.Generator) -> Recording:
    truth = [("glass", 5 * S, 8 * S), ("dog", 15 * S, 19 * S)]
    windows = []
    for k in range(4, 60):
        t_end = k * HOP
        g = 0.45 if 5 * S <= t_end <= 8 * S else 0.3
        d = 0.8 if 15 * S <= t_end <= 19 * S else (0.6 if 25 * S <= t_end <= 26 * S else 0.3)
        noise = rng.uniform(-0.02, 0.02, 2)
        windows.append((t_end - 4 * HOP, t_end,
                        {"audio": emb(g + noise[0], d + noise[1], 0.2).astype(np.float32)}))
    return Recording(windows, truth)


def test_tune_finds_levels_that_separate_events_from_background():
    rng = np.random.default_rng(0)
    recs = [recording(rng) for _ in range(3)]
    aset = make_set()
    naive = pooled(replay(recs, aset, DetectorConfig(threshold=0.25), ["glass", "dog"]))
    assert naive["precision"] < 0.5          # one level for all: background fires
    best = tune(recs, aset, ["glass", "dog"],
                grid={"decision": ["threshold"], "ema_alpha": [1.0]},
                base={"hysteresis": 0.0})
    assert best["score"]["precision"] == 1.0 and best["score"]["recall"] == 1.0, best
    assert 0.32 < best["thresholds"]["glass"] <= 0.45
    assert 0.62 < best["thresholds"]["dog"] <= 0.8
    # the levels carry over to recordings the tuner never saw
    fresh = [recording(np.random.default_rng(9))]
    cfg = DetectorConfig.from_dict(best["detector"])
    again = pooled(replay(fresh, aset, cfg, ["glass", "dog"], best["thresholds"]))
    assert again["precision"] == 1.0 and again["recall"] == 1.0


def test_tuned_file_round_trip_and_space_check(tmp_path):
    best = {"detector": DetectorConfig(decision="margin", ema_alpha=0.5).to_dict(),
            "thresholds": {"glass": 0.12, "dog": 0.3},
            "score": {"precision": 1.0, "recall": 0.5}}
    path = save_tuned(tmp_path / "detector.json", best, SPACE, {"scenario": "demo", "seeds": [1]})
    cfg, levels = load_tuned(path, SPACE)
    assert cfg.decision == "margin" and cfg.ema_alpha == 0.5 and levels == {"glass": 0.12, "dog": 0.3}
    with pytest.raises(ValueError, match="retune it for this bundle"):
        load_tuned(path, "ebs1-other00000000000000")
    doc = json.loads(path.read_text())
    doc["thresholds"]["dog"] = "high"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="thresholds"):
        load_tuned(tmp_path / "bad.json", SPACE)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable tuned-detector file"):
        load_tuned(tmp_path / "junk.json")
    doc = json.loads(path.read_text())
    doc["detector"]["ema_alpha"] = 7
    (tmp_path / "badcfg.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="ema_alpha"):
        load_tuned(tmp_path / "badcfg.json")
