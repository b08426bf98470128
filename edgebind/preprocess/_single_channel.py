"""Shared tail of the single-channel modalities (depth, thermal): float32 map -> (1, S, S)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from edgebind.preprocess._geometry import resize_center_crop
from edgebind.preprocess._validate import as_array, describe


def as_2d(x: object, what: str) -> np.ndarray:
    """H×W or H×W×1 array -> H×W (no copy); anything else is a ValueError/TypeError."""
    arr = as_array(x, what)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D H×W (or H×W×1) array, got {describe(arr)}")
    if arr.size == 0:
        raise ValueError(f"{what}: expected a non-empty image, got shape {arr.shape}")
    return arr


def resize_crop_float(m: np.ndarray, size: int) -> np.ndarray:
    """H×W float map -> (size, size) float32 via Pillow mode 'F' bicubic + centre crop (as image)."""
    pil = Image.fromarray(np.ascontiguousarray(m, dtype=np.float32))
    return np.asarray(resize_center_crop(pil, size), dtype=np.float32)
