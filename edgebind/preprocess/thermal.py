"""Thermal (kelvin) -> (1, S, S) float32.

The reference ships no thermal loader; its training data (LLVIP) are 8-bit images from a camera
with automatic gain, and the community pipeline is Resize + CenterCrop + ToTensor (values in
[0, 1], no Normalize). We map kelvin linearly onto [0, 1] over a range (fixed, or per frame like
the camera's AGC), resize and crop like images, clamp to [0, 1] as an 8-bit image would be, then
apply an optional mean/std. Every choice is a :class:`ThermalParams` field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgebind.preprocess._params import Params, check_finite, check_positive
from edgebind.preprocess._single_channel import as_2d, resize_crop_float
from edgebind.preprocess._validate import require_finite

MODES = ("fixed", "per_frame")


@dataclass(frozen=True)
class ThermalParams(Params):
    """Thermal normalisation parameters.

    mode: 'fixed' maps [t_min_k, t_max_k] to [0, 1] (stable across frames, absolute temperature
        kept: a fire stays bright); 'per_frame' maps the [low_percentile, high_percentile]
        temperatures of each frame (like the AGC that produced LLVIP), never narrower than
        min_span_k so a uniform scene does not amplify noise.
    t_min_k, t_max_k: default -20 °C .. 50 °C, the span of people, rooms and outdoor scenes.
    mean, std: applied after mapping to [0, 1]; defaults 0 / 1 (no normalisation, as the
        community pipeline).
    """

    mode: str = "fixed"
    t_min_k: float = 253.15
    t_max_k: float = 323.15
    low_percentile: float = 1.0
    high_percentile: float = 99.0
    min_span_k: float = 1.0
    mean: float = 0.0
    std: float = 1.0
    size: int = 224

    def __post_init__(self) -> None:
        o = "ThermalParams"
        if self.mode not in MODES:
            raise ValueError(f"{o}.mode must be one of {MODES}, got {self.mode!r}")
        check_positive(o, "t_min_k", self.t_min_k)
        check_positive(o, "t_max_k", self.t_max_k)
        if self.t_max_k <= self.t_min_k:
            raise ValueError(f"{o}: t_max_k ({self.t_max_k}) must exceed t_min_k ({self.t_min_k})")
        check_finite(o, "low_percentile", self.low_percentile)
        check_finite(o, "high_percentile", self.high_percentile)
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError(f"{o}: need 0 <= low_percentile < high_percentile <= 100, got "
                             f"{self.low_percentile}, {self.high_percentile}")
        check_positive(o, "min_span_k", self.min_span_k)
        check_finite(o, "mean", self.mean)
        check_positive(o, "std", self.std)
        check_positive(o, "size", self.size, integer=True)


def temperature_range(kelvin: np.ndarray, params: ThermalParams) -> tuple[float, float]:
    """The (low, high) kelvin mapped to 0 and 1 for this frame."""
    if params.mode == "fixed":
        return params.t_min_k, params.t_max_k
    lo, hi = np.percentile(kelvin, [params.low_percentile, params.high_percentile])
    if hi - lo < params.min_span_k:
        mid = (hi + lo) / 2
        lo, hi = mid - params.min_span_k / 2, mid + params.min_span_k / 2
    return float(lo), float(hi)


def thermal(kelvin: Any, params: ThermalParams | None = None) -> np.ndarray:
    """H×W (or H×W×1) float kelvin -> (1, size, size) float32 model input."""
    p = params or ThermalParams()
    k = as_2d(kelvin, "thermal")
    if not np.issubdtype(k.dtype, np.floating):
        raise TypeError(f"thermal: expected float kelvin, got dtype {k.dtype} "
                        "(convert raw counts with the camera's radiometric calibration first)")
    require_finite(k, "thermal")
    k = k.astype(np.float64)
    if k.min() < 0:
        raise ValueError(f"thermal: expected kelvin (>= 0), got a minimum of {k.min():.2f} "
                         "(°C input? add 273.15)")
    lo, hi = temperature_range(k, p)
    unit = np.clip((k - lo) / (hi - lo), 0.0, 1.0)
    x = np.clip(resize_crop_float(unit, p.size), 0.0, 1.0)  # bicubic overshoot, as 8-bit would
    return ((x - np.float32(p.mean)) / np.float32(p.std)).astype(np.float32)[None]
