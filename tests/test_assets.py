"""The default tiny model shipped in the package: present, small, loadable, in one space with its
anchors, and reproducing its recorded evaluation (emergent zero-shot goals included)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind import assets

MAX_BYTES = 20_000_000


def _bundle():
    try:
        return assets.default_bundle_path()
    except FileNotFoundError:
        pytest.skip("the default bundle has not been built into this checkout")


def test_missing_assets_say_how_to_build_them(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "DEFAULT_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m edgebind.train.default"):
        assets.default_bundle_path()
    with pytest.raises(FileNotFoundError, match="python -m edgebind.train.default"):
        assets.default_anchors_path()


def test_bundle_is_small_and_complete():
    path = _bundle()
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    assert size <= MAX_BYTES, f"default bundle is {size / 1e6:.1f} MB"
    manifest = json.loads((path / "manifest.json").read_text())
    assert set(manifest["encoders"]) == {"vision", "text", "audio", "depth", "thermal", "imu"}
    pre = manifest["preprocess"]
    assert pre["imu"]["window_s"] == 2.0 and pre["audio"]["clip_duration"] == 2.0


def test_bundle_and_anchors_share_a_space_and_embed():
    from edgebind.anchors import AnchorSet
    from edgebind.embedder import Embedder
    from edgebind.sim import EVENTS

    emb = Embedder.from_bundle(_bundle())
    aset = AnchorSet.load(assets.default_anchors_path(), space_id=emb.space_id)
    assert set(aset.names) == set(EVENTS)
    text = emb.embed(text=["a dog barking", "glass breaking"])["text"]
    a = aset.matrix()
    names = aset.names
    sims = (text / np.linalg.norm(text, axis=1, keepdims=True)) @ a.T
    assert names[int(sims[0].argmax())] == "dog_barking"
    assert names[int(sims[1].argmax())] == "glass_breaking"


@pytest.mark.slow
def test_recorded_evaluation_reproduces_and_meets_the_emergent_goals():
    from edgebind.evaluate import evaluate_bundle
    recorded = json.loads((assets.DEFAULT_DIR / "eval.json").read_text())
    small = recorded.get("small_check")
    if small is None:
        pytest.skip("eval.json has no small_check record")
    got = evaluate_bundle(_bundle(), seed=small["seed"], n=small["n"], n_probe=small["n_probe"],
                          anchors=assets.default_anchors_path())
    assert got["vision_to_text_top1"] == pytest.approx(small["vision_to_text_top1"], abs=0.011)
    for m, row in small["modalities"].items():
        assert got["modalities"][m]["zero_shot_top1"] == pytest.approx(row["zero_shot_top1"],
                                                                       abs=0.011), m
        assert got["modalities"][m]["zero_shot_top1"] >= 0.5, (m, got["modalities"][m])
