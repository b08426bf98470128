"""One audio clip per window: when every clip of the reference sampler is the same span (2 s
windows, 2 s clips), the tower runs once, and the embedding stays the reference's."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind import preprocess as pp
from edgebind.embedder import stack_items


def _wave(seconds, seed=0, rate=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)


def test_a_window_of_one_clip_is_one_clip_and_the_reference_first_clip():
    w = _wave(2.0)
    ref = pp.audio(w, 16000)
    one = pp.audio(w, 16000, fold_identical_clips=True)
    assert ref.shape == (3, 1, 128, 204) and one.shape == (1, 1, 128, 204)
    np.testing.assert_array_equal(one[0], ref[0])
    # the reference's other clips repeat the first but for a second, near-zero mean subtraction
    np.testing.assert_allclose(ref[1:], np.repeat(one, 2, axis=0), rtol=0, atol=1e-5)


def test_longer_audio_keeps_the_reference_three_distinct_clips():
    w = _wave(5.0, seed=1)
    np.testing.assert_array_equal(pp.audio(w, 16000, fold_identical_clips=True), pp.audio(w, 16000))


def test_embedding_is_the_reference_within_float_rounding():
    torch = pytest.importorskip("torch")
    from edgebind.embedder import Embedder
    emb = Embedder("tiny", modalities=["audio"], seed=2)
    items = [(_wave(2.0, seed=s), 16000) for s in range(3)]
    folded = emb.prepare("audio", items)
    assert folded.shape[1] == 1
    emb.fold_audio_clips = False
    reference = emb.prepare("audio", items)
    assert reference.shape[1] == 3
    a, b = emb.embed_batch("audio", folded), emb.embed_batch("audio", reference)
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
    del torch


def test_the_exported_tower_takes_one_clip(all_targets_bundle):
    from edgebind.embedder import Embedder
    emb = Embedder.from_bundle(all_targets_bundle, precision="fp32", threads=2)
    assert emb.bundle.encoders["audio"].input_shape[:2] == ("batch", "clips")
    assert emb.fold_audio_clips
    items = [(_wave(2.0, seed=s), 16000) for s in range(2)]
    folded = emb.prepare("audio", items)
    emb.fold_audio_clips = False
    reference = emb.prepare("audio", items)
    a, b = emb.embed_batch("audio", folded), emb.embed_batch("audio", reference)
    assert folded.shape[1] == 1 and np.abs(a - b).max() <= 1e-5 * np.abs(b).max()


def test_mixed_clip_counts_batch_together_unchanged():
    one = pp.audio(_wave(2.0), 16000, fold_identical_clips=True)[None]
    three = pp.audio(_wave(5.0, seed=3), 16000)[None]
    batch = stack_items([one, three, one])
    assert batch.shape == (3, 3, 1, 128, 204)
    np.testing.assert_array_equal(batch[0], np.repeat(one[0], 3, axis=0))
    np.testing.assert_array_equal(batch[1], three[0])
    imu = [np.zeros((1, 6, 2000), np.float32)] * 2
    assert stack_items(imu).shape == (2, 6, 2000)
