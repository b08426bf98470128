"""Generated model-ready inputs for exports, tests and benchmarks (numpy only)."""
from __future__ import annotations

import numpy as np

from edgebind.modality import INPUT_SPECS


def example_input(modality: str, batch: int = 2, seed: int = 0) -> np.ndarray:
    """Valid, varied model inputs of the modality's reference shape.

    Float inputs are smooth random fields with a per-sample gain and offset, so that embeddings
    differ between samples (plain white noise gives near-identical embeddings, which makes any
    accuracy figure meaningless). Text: random token sequences between SOT and EOT.
    """
    spec = INPUT_SPECS[modality]
    rng = np.random.default_rng(seed)
    if modality == "text":
        ids = np.zeros((batch, 77), dtype=np.int64)
        for i in range(batch):
            n = int(rng.integers(1, 20))
            ids[i, 0] = 49406
            ids[i, 1:n + 1] = rng.integers(1, 49000, n)
            ids[i, n + 1] = 49407
        return ids
    shape = (batch, *spec.shape)
    coarse_shape = shape[:-2] + tuple(max(1, s // 16) for s in shape[-2:])
    coarse = rng.standard_normal(coarse_shape)
    reps = [1] * (len(shape) - 2) + [-(-s // c) for s, c in zip(shape[-2:], coarse_shape[-2:])]
    smooth = np.kron(coarse, np.ones(reps[-2:]))[..., :shape[-2], :shape[-1]]
    gain = rng.uniform(0.3, 1.5, (batch,) + (1,) * (len(shape) - 1))
    offset = rng.uniform(-1.0, 1.0, (batch,) + (1,) * (len(shape) - 1))
    x = gain * (0.7 * smooth + 0.3 * rng.standard_normal(shape)) + offset
    return x.astype(np.float32)
