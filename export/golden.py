"""The golden set an exporter puts beside each encoder (format: ``edgebind.runtime.golden``), and
the agreement threshold each variant is held to on a device.

Inputs: ``n`` held-out inputs, the first the one the least accurate quantized variant gets most
wrong, the rest spread over the tower's embedding space. They are stored as 8-bit codes, so the
FP32 reference is computed on the decoded inputs, not the originals. Threshold: the agreement
the exporter measured for the variant on these inputs, less a margin per precision that covers
other CPUs' float rounding but not a kernel that computes something else.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from edgebind.runtime import golden as G

MARGIN = {"fp32": 1e-3, "torch": 1e-3, "fp16": 5e-3}
QUANTIZED_MARGIN = 0.01
DEFAULT_N = {"text": 8}   # token ids cost nothing; other inputs are 8-bit images or spectra
N = 4


def threshold(family: str, agreement_min: float) -> float:
    margin = MARGIN.get(family, QUANTIZED_MARGIN)
    return float(np.floor((agreement_min - margin) * 1e4) / 1e4)


def _fold_identical_clips(x: np.ndarray, dynamic_clips: bool) -> np.ndarray:
    """Audio inputs whose clips are all one clip (the 2 s window, 2 s clip case) are stored as
    that one clip when the encoder takes any clip count: a third of the bytes, same embedding."""
    if not dynamic_clips or x.ndim < 3 or x.shape[1] < 2:
        return x
    if all(np.array_equal(x[:, 0], x[:, k]) for k in range(1, x.shape[1])):
        return x[:, :1]
    return x


def build(modality: str, held: np.ndarray, ref: np.ndarray, worst: np.ndarray | None,
          embed: Callable[[np.ndarray], np.ndarray], dynamic_clips: bool = False,
          n: int | None = None) -> G.GoldenSet:
    """``held``: held-out inputs, ``ref``: their FP32 embeddings, ``worst``: per-input centred
    cosine of the least accurate variant (or None), ``embed``: the FP32 reference model."""
    n = n or DEFAULT_N.get(modality, N)
    idx = G.choose(ref, worst, n)
    inputs = G.quantised_copy(_fold_identical_clips(held[idx], dynamic_clips))
    reference = np.asarray(embed(inputs), dtype=np.float32)
    centre = np.asarray(ref, dtype=np.float64).mean(0).astype(np.float32)
    return G.GoldenSet(inputs, reference, centre)


def per_input_cosine(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    c = ref.mean(0)
    a, b = ref - c, got - c
    return np.sum(a * b, 1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def write(golden: G.GoldenSet, folder: Path, modality: str) -> Path:
    return golden.save(Path(folder) / f"{modality}{G.SUFFIX}")
