"""IMU rows (N×6, SI units) with int64 ns timestamps -> (6, 2000) float32 on a uniform grid.

The reference ships no IMU loader; the paper says 5 s windows of accelerometer + gyroscope X/Y/Z
(from Ego4D) at 2000 time steps. We resample by linear interpolation onto ``n_samples`` points
spaced ``window_s / n_samples`` apart, the last one exactly at the window end, channel order
ax ay az gx gy gz, with an optional per-channel scale. Timestamps must strictly increase (we do
not sort: out-of-order rows mean a clock or driver bug upstream, which must not be hidden).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgebind.preprocess._params import Params, check_finite, check_positive
from edgebind.preprocess._validate import as_array, describe, require_finite, require_float
from edgebind.sample import NS

CHANNELS = ("ax", "ay", "az", "gx", "gy", "gz")


@dataclass(frozen=True)
class ImuParams(Params):
    """IMU window parameters.

    window_s, n_samples: 5 s and 2000 steps (paper; the model needs exactly 2000), i.e. 400 Hz.
    scale: per-channel multiplier after resampling, in output order. Default 1 (SI: m/s², rad/s,
        ROS REP-103, which is also how Ego4D distributes its IMU data as far as we know);
        (1/9.80665,)*3 + (1.0,)*3 gives accelerations in g.
    channel_order: which input column feeds each output row (a permutation of 0..5).
    max_gap_s: a gap between consecutive rows longer than this, inside the window, is an error;
        the data must also reach within max_gap_s of both window ends (edges are held).
    """

    window_s: float = 5.0
    n_samples: int = 2000
    scale: tuple[float, ...] = (1.0,) * 6
    channel_order: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    max_gap_s: float = 0.1

    def __post_init__(self) -> None:
        o = "ImuParams"
        check_positive(o, "window_s", self.window_s)
        check_positive(o, "n_samples", self.n_samples, integer=True)
        check_positive(o, "max_gap_s", self.max_gap_s)
        if not isinstance(self.scale, tuple) or len(self.scale) != 6:
            raise ValueError(f"{o}.scale must be 6 numbers, got {self.scale!r}")
        for v in self.scale:
            check_finite(o, "scale", v)
        if not isinstance(self.channel_order, tuple) or sorted(self.channel_order) != list(range(6)) \
                or any(isinstance(c, bool) or not isinstance(c, int) for c in self.channel_order):
            raise ValueError(f"{o}.channel_order must be a permutation of 0..5, got {self.channel_order!r}")


def grid_offsets_s(params: ImuParams) -> np.ndarray:
    """Sample times relative to the window end, seconds: -(n-1)*dt ... 0, dt = window/n."""
    dt = params.window_s / params.n_samples
    return (np.arange(params.n_samples, dtype=np.float64) - (params.n_samples - 1)) * dt


def _check_inputs(samples: Any, timestamps_ns: Any) -> tuple[np.ndarray, np.ndarray]:
    x = as_array(samples, "imu samples")
    require_float(x, "imu samples")
    if x.ndim != 2 or x.shape[1] != 6:
        raise ValueError(f"imu samples: expected shape (N, 6) [ax ay az gx gy gz], got {describe(x)}")
    t = as_array(timestamps_ns, "imu timestamps")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"imu timestamps: expected integer nanoseconds (int64), got dtype {t.dtype}; "
                        "convert seconds with np.round(t_s * 1e9).astype(np.int64)")
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(f"imu timestamps: expected shape ({x.shape[0]},) matching the samples, got {describe(t)}")
    if x.shape[0] < 2:
        raise ValueError(f"imu: need at least 2 samples to interpolate, got {x.shape[0]}")
    require_finite(x, "imu samples")
    t = t.astype(np.int64)
    steps = np.diff(t)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        raise ValueError(f"imu timestamps: expected strictly increasing, got t[{i}]={t[i]} then "
                         f"t[{i + 1}]={t[i + 1]} (sort or deduplicate upstream)")
    return x, t


def imu(samples: Any, timestamps_ns: Any, *, end_ns: int | None = None,
        params: ImuParams | None = None) -> np.ndarray:
    """N×6 float rows + (N,) int64 ns timestamps -> (6, n_samples) float32.

    The window ends at ``end_ns`` (default: the last timestamp) and spans ``window_s``.
    Raises TypeError/ValueError for bad shapes or dtypes, NaN/inf, non-increasing timestamps,
    data that does not cover the window (within ``max_gap_s``), or a gap over ``max_gap_s``.
    """
    p = params or ImuParams()
    x, t = _check_inputs(samples, timestamps_ns)
    end = int(t[-1]) if end_ns is None else int(end_ns)
    rel = (t - end).astype(np.float64) / NS            # seconds before the window end; exact ints first
    grid = grid_offsets_s(p)
    if rel[0] > grid[0] + p.max_gap_s or rel[-1] < -p.max_gap_s:
        raise ValueError(f"imu: data spans [{rel[0]:+.3f}, {rel[-1]:+.3f}] s around the window end, "
                         f"the window needs [{grid[0]:+.3f}, 0] s (max_gap_s={p.max_gap_s})")
    # Gaps between rows that bracket any part of the window.
    inside = (rel[1:] > grid[0]) & (rel[:-1] < 0)
    gaps = np.diff(rel)[inside]
    if gaps.size and gaps.max() > p.max_gap_s:
        i = int(np.flatnonzero(inside)[np.argmax(gaps)])
        raise ValueError(f"imu: gap of {gaps.max():.3f} s between rows {i} and {i + 1} inside the "
                         f"window exceeds max_gap_s={p.max_gap_s}")
    out = np.empty((6, p.n_samples), dtype=np.float64)
    for row, col in enumerate(p.channel_order):
        out[row] = np.interp(grid, rel, x[:, col]) * p.scale[row]
    return out.astype(np.float32)
