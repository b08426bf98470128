"""The evaluation's numpy metrics on hand-made embeddings (no model needed)."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.evaluate import (chance, embedding_arithmetic, evaluate_embeddings, goals,
                               hit_rate, markdown, retrieval_recall, zero_shot_predictions)
from edgebind.evaluation.linear_probe import fit_linear_probe


def _clusters(n=200, classes=4, dim=16, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    y = np.arange(n) % classes
    return centres[y] + noise * rng.normal(size=(n, dim)), y, centres


def test_zero_shot_and_hit_rate():
    anchors = np.eye(3)
    emb = np.array([[2.0, 0.1, 0], [0, 0, 1.0], [0.1, 1.0, 0]])
    pred = zero_shot_predictions(emb, anchors)
    assert pred.tolist() == [0, 2, 1]
    active = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1]], bool)  # row 2: two events active
    assert hit_rate(pred, active) == pytest.approx(2 / 3)


def test_linear_probe_learns_separable_classes_and_not_noise():
    x, y, _ = _clusters()
    probe = fit_linear_probe(x[:150], y[:150], 4)
    assert probe.converged and probe.grad_max <= 1e-6
    assert (probe.predict(x[150:]) == y[150:]).mean() > 0.95
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(200, 16))
    probe = fit_linear_probe(noise[:150], y[:150], 4)
    assert (probe.predict(noise[150:]) == y[150:]).mean() < 0.5


def _objective(probe, x, y, l2=1e-3):
    z = (x - probe.mean) / probe.std
    logits = z @ probe.w + probe.b
    logp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    return -logp[np.arange(len(y)), y].mean() + 0.5 * l2 * (probe.w ** 2).sum()


def test_linear_probe_runs_to_the_optimum_not_to_a_step_count():
    # Overlapping classes in 24 dimensions: a short run stops short of the optimum.
    x, y, _ = _clusters(n=400, classes=5, dim=24, noise=1.2, seed=3)
    short = fit_linear_probe(x, y, 5, max_iters=20)
    full = fit_linear_probe(x, y, 5)
    assert not short.converged and short.iters == 20
    assert full.converged and full.iters > 20
    assert _objective(full, x, y) < _objective(short, x, y) - 1e-4
    # Converged from a step size that overshoots at first (it halves instead of diverging) and
    # from the default: the same optimum, so the same predictions.
    wild = fit_linear_probe(x, y, 5, lr=50.0)
    assert wild.converged and np.all(np.isfinite(wild.w))
    assert _objective(wild, x, y) == pytest.approx(_objective(full, x, y), abs=1e-8)
    assert (wild.predict(x) == full.predict(x)).all()


def test_chance_counts_windows_with_two_events():
    active = np.zeros((8, 8), bool)
    active[np.arange(8), np.arange(8)] = True
    assert chance(active) == pytest.approx(1 / 8)
    active[:2, 7] = True                                 # two of eight windows hold two events
    assert chance(active) == pytest.approx(10 / 64)


def test_retrieval_recall_by_hand():
    q = np.array([[1.0, 0], [0, 1.0], [1.0, 1.0]])
    g = np.array([[1.0, 0.1], [1.0, 0], [1.0, 1.0]])
    # q0 -> best g1 (rank of g0 = 1); q1 -> best g2 (rank of g1 = 2); q2 -> g2 first
    r = retrieval_recall(q, g, ks=(1, 2, 3))
    assert r == {"R@1": pytest.approx(1 / 3), "R@2": pytest.approx(2 / 3), "R@3": 1.0}


def test_embedding_arithmetic_finds_scenes_with_both_events():
    rng = np.random.default_rng(0)
    centres = np.eye(3)
    active, vision = [], []
    for _ in range(20):
        for combo in ([0], [1], [2], [0, 1]):
            a = np.zeros(3, bool)
            a[combo] = True
            active.append(a)
            vision.append(centres[combo].sum(0) + 0.05 * rng.normal(size=3))
    active, vision = np.array(active), np.array(vision)
    audio = vision.copy()  # a perfectly aligned second modality
    res = embedding_arithmetic(vision, audio, active)
    assert res is not None and res["queries"] > 0
    assert res["top1_has_both"] > 0.9 > res["vision_only_top1_has_both"]
    assert embedding_arithmetic(vision, audio, active[:, :1]) is None  # no two-event scenes


def test_table_goals_and_markdown():
    x, y, centres = _clusters(n=240, classes=8, dim=32, noise=0.2)
    active = np.eye(8, dtype=bool)[y]
    emb = {"vision": x, "audio": x + 0.05, "imu": np.random.default_rng(2).normal(size=x.shape)}
    rep = evaluate_embeddings({k: v[120:] for k, v in emb.items()}, active[120:], centres,
                              {k: v[:120] for k, v in emb.items() if k != "vision"}, y[:120])
    assert rep["vision_to_text_top1"] > 0.95
    assert rep["modalities"]["audio"]["zero_shot_top1"] > 0.95
    assert rep["modalities"]["imu"]["zero_shot_top1"] < 0.4
    assert rep["chance"] == rep["chance_uniform"] == pytest.approx(1 / 8)   # one event each
    assert rep["modalities"]["audio"]["linear_probe_fit"]["converged"]
    g = goals(rep)
    assert g["audio_emergent>=0.50"] and not g["imu_emergent>=0.50"]
    assert "linear_probe<=0.97_for_2" in g
    text = markdown({**rep, "seed": 7})
    assert "| audio |" in text and "linear-probe reference" in text and "supervised" not in text
