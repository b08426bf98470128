"""The vector arithmetic of anchors: unit-norm rows and their (weighted) means."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize(v: np.ndarray, what: str = "embedding") -> np.ndarray:
    """Unit-norm float32 copy of ``v`` (last axis); refuses NaN/inf and zero vectors."""
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contains NaN or infinite values")
    peak = np.max(np.abs(a), axis=-1, keepdims=True) if a.size else np.ones(a.shape[:-1] + (1,))
    a = a / np.where(peak > 0, peak, 1.0)    # no overflow in the norm for huge values
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError(f"{what} has zero norm; it points nowhere in the embedding space")
    return (a / n).astype(np.float32)


def ensemble(embeddings: np.ndarray, weights: Sequence[float] | None = None,
             what: str = "embeddings") -> np.ndarray:
    """Mean of normalised rows (optionally weighted), renormalised: (N, D) -> (D,)."""
    e = normalize(np.atleast_2d(embeddings), what)
    w = np.ones(len(e)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(e),) or not np.all(np.isfinite(w)):
        raise ValueError(f"{what}: expected {len(e)} finite weights, got {list(np.atleast_1d(w))}")
    return normalize((w[:, None] * e.astype(np.float64)).sum(0),
                     f"{what} (weighted sum cancels out)")
