"""How far a quantized tower is from FP32, in numbers that mean something.

Raw cosine to FP32 is near 1 for any input when all of a tower's embeddings point the same way
(as with random weights), so the report also gives the cosine after subtracting the FP32 mean
embedding (centred) and nearest-neighbour agreement among the held-out inputs, and top-1
agreement against anchors where those are given."""
from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(_unit(a) * _unit(b), axis=-1)


def nearest_neighbours(e: np.ndarray) -> np.ndarray:
    u = _unit(e)
    sim = u @ u.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(1)


def compare(reference: np.ndarray, candidate: np.ndarray,
            anchors: np.ndarray | None = None) -> dict:
    """Accuracy of ``candidate`` embeddings against ``reference`` ones (same inputs, same order)."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {candidate.shape}")
    cos = rowwise_cosine(reference, candidate)
    mean = reference.mean(0, keepdims=True)
    centred = rowwise_cosine(reference - mean, candidate - mean)
    report = {
        "n": int(reference.shape[0]),
        "max_abs_diff": float(np.abs(reference - candidate).max()),
        "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
        "centred_cosine_mean": float(centred.mean()), "centred_cosine_min": float(centred.min()),
    }
    if reference.shape[0] >= 3:
        report["nn_agreement"] = float(np.mean(nearest_neighbours(reference) ==
                                               nearest_neighbours(candidate)))
    if anchors is not None and len(anchors):
        a = _unit(anchors)
        report["top1_agreement"] = float(np.mean((_unit(reference) @ a.T).argmax(1) ==
                                                 (_unit(candidate) @ a.T).argmax(1)))
    return report
