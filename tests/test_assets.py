"""The default tiny model shipped in the package: present, small, loadable, in one space with its
anchors, and reproducing its recorded evaluation (emergent zero-shot goals included)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind import assets

MAX_BYTES = 45_000_000   # issue 13's budget: FP32 + one INT8 file per sensor tower, INT8 text hub


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
    from edgebind.sim import CAPTIONS, EVENTS

    emb = Embedder.from_bundle(_bundle())
    aset = AnchorSet.load(assets.default_anchors_path(), space_id=emb.space_id)
    assert set(aset.names) == set(EVENTS) and aset.dim == emb.embed_dim
    a = aset.matrix()
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # each anchor is its event's captions through the bundle's text tower: captions land on
    # their own event's anchor far more often than chance (1/8)
    hits = total = 0
    for event in EVENTS:
        t = emb.embed(text=list(CAPTIONS[event]))["text"]
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        best = (t @ a.T).argmax(axis=1)
        hits += sum(aset.names[i] == event for i in best)
        total += len(best)
    assert hits / total >= 0.4, hits / total


@pytest.mark.slow
def test_recorded_evaluation_reproduces():
    """A fresh evaluation of the shipped bundle (same held-out seed, rendered anew through the
    bundle's own preprocessing) gives the numbers recorded when it was built."""
    from edgebind.evaluate import evaluate_bundle
    recorded = json.loads((assets.DEFAULT_DIR / "eval.json").read_text())
    small = recorded.get("small_check")
    if small is None:
        pytest.skip("eval.json has no small_check record")
    got = evaluate_bundle(_bundle(), seed=small["seed"], n=small["n"], n_probe=small["n_probe"],
                          anchors=assets.default_anchors_path())
    assert got["difficulty"] == recorded["difficulty"]
    assert got["vision_to_text_top1"] == pytest.approx(small["vision_to_text_top1"], abs=0.011)
    for m, row in small["modalities"].items():
        assert got["modalities"][m]["zero_shot_top1"] == pytest.approx(row["zero_shot_top1"],
                                                                       abs=0.011), m
    # emergent zero-shot: the recorded table's best sensor is well above chance (1/8)
    assert max(r["zero_shot_top1"] for r in got["modalities"].values()) >= 0.4


def test_a_pipeline_embedder_leaves_the_text_hub_closed():
    """Pipelines embed sensor windows only; the text hub (most of the bundle) is not opened."""
    from edgebind.embedder import Embedder
    from edgebind.runtime import load_bundle
    with load_bundle(_bundle(), skip=("text",)) as b:
        assert "text" not in b.encoders and "text" not in b.choices and "vision" in b.encoders
    emb = Embedder.from_bundle(_bundle(), text=False)
    assert "text" not in emb.modalities and emb.text_tokenizer is None
    with pytest.raises(ValueError, match="no text tower"):
        emb.prepare("text", ["glass breaking"])
