"""Depth (metres, or uint16 sensor units) -> (1, S, S) float32 normalised disparity.

The reference ships no depth loader. The one official hint (the maintainer's omnivore code) is
``disparity = baseline * focal / clip(depth_m, 0.01, 50)``; everything after it (invalid pixels,
resize, crop, normalisation) is our documented choice, kept in :class:`DepthParams` so a bundle
manifest records exactly what its model was trained/evaluated with. See docs/preprocessing.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgebind.preprocess._params import Params, check_finite, check_positive
from edgebind.preprocess._single_channel import as_2d, resize_crop_float

INVALID_POLICIES = ("max_range", "zero_disparity")


@dataclass(frozen=True)
class DepthParams(Params):
    """Depth -> disparity parameters.

    baseline_m, focal_px: disparity = baseline_m * focal_px / depth, in pixels. Defaults are the
        Kinect baseline (0.075 m; 0.095 for RealSense/Xtion) and the NYU-D Kinect colour focal
        length (518.86 px at 640×480), i.e. the training sensor, not necessarily yours.
    min_depth_m, max_depth_m: the official clip range.
    depth_scale: metres per unit of integer (uint16) input; 0.001 for millimetre sensors.
    invalid: what 0 / NaN / inf / negative depth ("no return") becomes: 'max_range' (disparity
        at max_depth_m: far away, the physical meaning of no return) or 'zero_disparity'.
    max_invalid_fraction: above this fraction of invalid pixels the frame is refused (ValueError);
        1.0 accepts everything.
    mean, std: applied to the disparity in pixels. Defaults are issue #107's NYU-D statistics
        (0.0418 / 0.0295), which match disparity written as 0.075/d without a focal length,
        multiplied by 518.86 to our pixel scale. Unverified upstream: see docs/preprocessing.md.
    """

    baseline_m: float = 0.075
    focal_px: float = 518.86
    min_depth_m: float = 0.01
    max_depth_m: float = 50.0
    depth_scale: float = 0.001
    invalid: str = "max_range"
    max_invalid_fraction: float = 0.9
    size: int = 224
    mean: float = 0.0418 * 518.86
    std: float = 0.0295 * 518.86

    def __post_init__(self) -> None:
        o = "DepthParams"
        for name in ("baseline_m", "focal_px", "min_depth_m", "max_depth_m", "depth_scale", "std"):
            check_positive(o, name, getattr(self, name))
        if self.max_depth_m <= self.min_depth_m:
            raise ValueError(f"{o}: max_depth_m ({self.max_depth_m}) must exceed min_depth_m ({self.min_depth_m})")
        if self.invalid not in INVALID_POLICIES:
            raise ValueError(f"{o}.invalid must be one of {INVALID_POLICIES}, got {self.invalid!r}")
        check_finite(o, "max_invalid_fraction", self.max_invalid_fraction)
        if not 0.0 <= self.max_invalid_fraction <= 1.0:
            raise ValueError(f"{o}.max_invalid_fraction must be in [0, 1], got {self.max_invalid_fraction}")
        check_positive(o, "size", self.size, integer=True)
        check_finite(o, "mean", self.mean)


def depth_to_metres(depth: Any, params: DepthParams | None = None) -> np.ndarray:
    """H×W float metres, or uint16 sensor units × depth_scale, -> H×W float64 metres (NaN kept)."""
    p = params or DepthParams()
    d = as_2d(depth, "depth")
    if d.dtype == np.uint16:
        return d.astype(np.float64) * p.depth_scale
    if not np.issubdtype(d.dtype, np.floating):
        raise TypeError(f"depth: expected float metres or uint16 sensor units, got dtype {d.dtype}")
    return d.astype(np.float64)


def disparity(depth_m: np.ndarray, params: DepthParams | None = None) -> tuple[np.ndarray, float]:
    """H×W metres -> (H×W disparity in pixels, fraction of invalid pixels). Pure math."""
    p = params or DepthParams()
    with np.errstate(invalid="ignore"):
        invalid = ~np.isfinite(depth_m) | (depth_m <= 0)
    d = np.clip(np.where(invalid, p.max_depth_m, depth_m), p.min_depth_m, p.max_depth_m)
    disp = p.baseline_m * p.focal_px / d
    if p.invalid == "zero_disparity":
        disp[invalid] = 0.0
    return disp, float(invalid.mean())


def depth(depth_map: Any, params: DepthParams | None = None) -> np.ndarray:
    """Depth image -> (1, size, size) float32 model input.

    ``depth_map``: H×W (or H×W×1) float metres, or uint16 in sensor units (× depth_scale).
    Steps: invalid pixels -> policy, clip, disparity, Pillow bicubic resize of the short side to
    ``size``, centre crop (as images), ``(x - mean) / std``.
    """
    p = params or DepthParams()
    disp, bad = disparity(depth_to_metres(depth_map, p), p)
    if bad > p.max_invalid_fraction:
        raise ValueError(f"depth: {bad:.1%} of pixels are invalid (0/NaN/inf), more than "
                         f"max_invalid_fraction={p.max_invalid_fraction:.1%}; sensor blocked or no return")
    x = resize_crop_float(disp, p.size)
    return ((x - np.float32(p.mean)) / np.float32(p.std)).astype(np.float32)[None]
