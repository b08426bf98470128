"""Viewable 8-bit previews of depth (metres) and thermal (kelvin) images.

Foxglove's Image panel maps a single-channel float image onto black..white between its
"min value" and "max value" settings (0 and 1 by default), so a 32FC1 thermal frame (~300 K) or
a depth frame in metres shows as a saturated white square. A preview is the same frame
colour-mapped to RGB8 between a per-frame range, viewable with no settings at all; the raw
values stay on their own channel. Numpy only (the device side and the recorder use it).
"""
from __future__ import annotations

import numpy as np

# Key colours of a dark-blue → green → yellow → white ramp (perceptually increasing
# lightness, readable in grey-scale prints); interpolated to a 256-entry table once.
_KEYS = np.array([[0, 0, 48], [40, 20, 140], [0, 120, 180], [30, 170, 90],
                  [210, 200, 30], [250, 120, 20], [255, 255, 255]], dtype=np.float64)
LUT = np.stack([np.interp(np.linspace(0, len(_KEYS) - 1, 256), np.arange(len(_KEYS)),
                          _KEYS[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)
INVALID = np.array([0, 0, 0], dtype=np.uint8)   # NaN / inf / zero depth: black

# Fixed fallback ranges, used when a frame has no spread (a flat wall, an empty room).
DEFAULT_RANGE = {"depth": (0.0, 10.0), "thermal": (273.15, 323.15)}


def value_range(data: np.ndarray, modality: str) -> tuple[float, float]:
    """(low, high) of the frame's finite values (depth: > 0), read on a strided subsample so a
    large frame costs little; the modality's fixed range when the frame is flat or empty."""
    step = max(1, int(np.sqrt(data.size / 4096)))
    sub = np.asarray(data[::step, ::step], dtype=np.float32)
    ok = np.isfinite(sub) & ((sub > 0) if modality == "depth" else True)
    if ok.any():
        lo, hi = float(sub[ok].min()), float(sub[ok].max())
        if hi - lo > 1e-6:
            return lo, hi
    return DEFAULT_RANGE.get(modality, (0.0, 1.0))


def colourise(data: np.ndarray, modality: str,
              lo_hi: tuple[float, float] | None = None) -> np.ndarray:
    """H×W float/uint16 → H×W×3 uint8 through the colour table between ``lo_hi`` (default:
    the frame's own range). Invalid pixels (non-finite; depth <= 0) are black. 16UC1 depth is
    millimetres (REP 118) and is scaled to metres first."""
    a = np.asarray(data)
    if a.ndim != 2:
        raise ValueError(f"a preview needs an H×W image, got shape {a.shape}")
    if modality == "depth" and a.dtype == np.uint16:
        a = a.astype(np.float32) * np.float32(0.001)
    a = a.astype(np.float32, copy=False)
    lo, hi = lo_hi if lo_hi is not None else value_range(a, modality)
    with np.errstate(invalid="ignore"):
        idx = np.clip((a - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255)
        bad = ~np.isfinite(a) | ((a <= 0) if modality == "depth" else False)
    out = LUT[np.nan_to_num(idx, nan=0.0).astype(np.uint8)]
    out[bad] = INVALID
    return out


__all__ = ["DEFAULT_RANGE", "LUT", "colourise", "value_range"]
