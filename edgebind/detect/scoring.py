"""Pure numpy math of detection: similarities, fusion, decision values and smoothing."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from edgebind.modality import MODALITIES


def check_embedding(modality: str, vec: np.ndarray, dim: int) -> np.ndarray:
    """A (D,) finite, non-zero embedding as unit-norm float64, or ValueError naming the problem."""
    if modality not in MODALITIES:
        raise ValueError(f"embedding for unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
    a = np.asarray(vec)
    if a.ndim == 2 and a.shape[0] == 1:
        a = a[0]
    if a.shape != (dim,):
        raise ValueError(f"{modality} embedding has shape {a.shape}; the anchor set's dim is {dim}, "
                         f"so expected ({dim},)")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{modality} embedding has dtype {a.dtype}; expected real numbers")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{modality} embedding contains NaN or infinite values (bad window or encoder)")
    peak = float(np.max(np.abs(a)))
    if peak > 0:
        a = a / peak                         # no overflow in the norm for huge values
    n = float(np.linalg.norm(a))
    if n < 1e-12:
        raise ValueError(f"{modality} embedding is all zeros")
    return a / n


def cosine_scores(unit_vec: np.ndarray, anchor_matrix: np.ndarray) -> np.ndarray:
    """Cosine of one unit vector against unit anchor rows: (D,), (A, D) -> (A,)."""
    return anchor_matrix.astype(np.float64) @ unit_vec


def weighted_fusion(per_modality: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-anchor weighted mean of per-modality scores. ``weights[m]`` is (A,) (per-event modality
    weights); anchors whose present modalities all weigh 0 get NaN (no evidence)."""
    mods = list(per_modality)
    s = np.stack([per_modality[m] for m in mods])          # (M, A)
    w = np.stack([weights[m] for m in mods])               # (M, A)
    tot = w.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (w * s).sum(0) / np.where(tot > 0, tot, 1.0), np.nan)


def embedding_sum(units: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray | None:
    """ImageBind's embedding-sum fusion: the renormalised (weighted) sum of unit embeddings of
    several modalities. None when the weights cancel everything."""
    acc = sum(float((weights or {}).get(m, 1.0)) * v for m, v in units.items())
    n = float(np.linalg.norm(acc))
    return None if n < 1e-12 else acc / n


def margin_values(target: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Score minus the best background score, per target anchor (background empty: the score)."""
    if background.size == 0:
        return target.copy()
    return target - np.nanmax(background)


def softmax_values(target: np.ndarray, background: np.ndarray, temperature: float) -> np.ndarray:
    """Per target anchor, its probability against the background anchors only:
    exp(s/T) / (exp(s/T) + sum_b exp(b/T)). Targets do not compete with each other, because
    several events can happen at once."""
    t = target / temperature
    b = background / temperature
    if b.size == 0:
        return np.ones_like(t)
    m = np.maximum(t, np.max(b))
    return np.exp(t - m) / (np.exp(t - m) + np.exp(b[None, :] - m[:, None]).sum(1))
