"""Band-limited polyphase resampling, numerically the reference's default (windowed sinc, Hann).

For rates reduced by their gcd to ``orig -> new``, output sample ``j*new + i`` sits at input time
``j*orig + i*orig/new`` (in input samples). It is a dot product of the zero-padded input block
starting at ``j*orig - width`` with phase ``i``'s kernel: a sinc low-pass at
``base = min(orig, new) * rolloff`` (in units of the reduced rates), tapered by a Hann window
``cos(pi*t/(2*lpw))**2`` over ``|t| <= lpw`` zero crossings, gain ``base/orig``. ``width =
ceil(lpw*orig/base)`` input samples each side; the output is cut to ``ceil(new*N/orig)``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@lru_cache(maxsize=16)
def sinc_kernel(orig: int, new: int, lowpass_filter_width: int = 6,
                rolloff: float = 0.99) -> tuple[np.ndarray, int]:
    """(new, 2*width + orig) float64 polyphase kernels and ``width``, for reduced rates."""
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    taps = np.arange(-width, width + orig, dtype=np.float64) / orig   # input offsets, in blocks
    phase = -np.arange(new, dtype=np.float64)[:, None] / new           # output phases
    t = np.clip((phase + taps[None, :]) * base, -lowpass_filter_width, lowpass_filter_width)
    window = np.cos(t * (math.pi / lowpass_filter_width / 2)) ** 2
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, 1.0, np.sin(t) / t)
    kernel = sinc * window * (base / orig)
    kernel.setflags(write=False)
    return kernel, width


def resample(x: np.ndarray, orig_rate: int, new_rate: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99) -> np.ndarray:
    """Resample (C, N) along the last axis from ``orig_rate`` to ``new_rate`` Hz, in float64.

    Equal rates return the input unchanged (as the reference does).
    """
    if orig_rate == new_rate:
        return x
    g = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // g, int(new_rate) // g
    kernel, width = sinc_kernel(orig, new, lowpass_filter_width, rolloff)
    c, n = x.shape
    padded = np.zeros((c, n + 2 * width + orig), dtype=np.float64)
    padded[:, width:width + n] = x
    blocks = sliding_window_view(padded, kernel.shape[1], axis=-1)[:, ::orig]  # (C, n//orig+1, K)
    out = (blocks @ kernel.T).reshape(c, -1)                                    # (C, blocks*new)
    target = -(-new * n // orig)
    return np.ascontiguousarray(out[:, :target])
