"""Input checks shared by the modality functions: every error names what was expected and got."""
from __future__ import annotations

from typing import Any

import numpy as np


def describe(x: Any) -> str:
    """Short description of an input for error messages: type, shape and dtype where present."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} dtype {x.dtype}"
    return type(x).__name__


def as_array(x: Any, what: str) -> np.ndarray:
    """``x`` as an ndarray; TypeError for things that are not array-like numbers."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes, dict)) or x is None:
        raise TypeError(f"{what}: expected a numpy array, got {describe(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{what}: expected a numpy array, got {describe(x)} ({exc})") from None
    if arr.dtype == object:
        raise TypeError(f"{what}: expected a numeric array, got {describe(x)} of objects")
    return arr


def require_float(arr: np.ndarray, what: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what}: expected a float array, got dtype {arr.dtype}")


def require_finite(arr: np.ndarray, what: str) -> None:
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{what}: expected finite values, got {bad} NaN/inf of {arr.size}")


def require_nonempty(arr: np.ndarray, what: str) -> None:
    if arr.size == 0:
        raise ValueError(f"{what}: expected a non-empty array, got shape {arr.shape}")


def half_even_offset(n: int, size: int) -> int:
    """Centre-crop offset as the reference computes it: ``int(round((n - size) / 2))``.

    Python's round is half-to-even, so 299 -> 224 starts at 38, not 37 (max diff 1.79 otherwise).
    """
    return int(round((n - size) / 2))
