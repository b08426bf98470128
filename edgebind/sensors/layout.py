"""The layout maths of series windows: audio chunks placed on a frame grid, IMU rows resampled
onto the preprocessor's time grid. Pure functions of what a ring buffer returned."""
from __future__ import annotations

import math

import numpy as np

from edgebind.sample import NS
from edgebind.sensors.ring import Entry


def ns(seconds: float) -> int:
    return int(round(float(seconds) * NS))


def grid_ceil(t: int, step: int) -> int:
    """Smallest multiple of ``step`` >= ``t`` (absolute grid: same ends in every run)."""
    return -((-t) // step) * step


def lay_audio(chunks: list[Entry], start: int, n: int, frame_ns: float, jitter_ns: int,
              channels: int) -> tuple[np.ndarray, int]:
    """Place chunks on a frame grid starting at ``start``. Host timestamps of audio blocks
    jitter but the frames between them do not: chunks that start within ``jitter_ns`` of where
    the previous one ended form one seamless run, placed at the median of its chunks' implied
    start times (robust to the jitter of any single chunk); a later start opens a new run after
    a zero gap; a chunk overlapping its predecessor loses its overlapping head.

    Returns (channels × frames float64, C-contiguous; number of frames covered): the layout and
    dtype the audio preprocessing computes in, so this copy is the only conversion the samples
    go through on their way to the model.
    """
    runs: list[tuple[list[np.ndarray], list[float]]] = []   # (chunks, implied run starts)
    cursor = 0.0                                           # nominal end of the current run
    for e in chunks:
        x, t = e.item, float(e.t_ns)
        if runs and abs(t - cursor) <= jitter_ns:
            pass
        elif runs and t < cursor:                          # overlap: keep the new part only
            skip = int(math.ceil((cursor - t) / frame_ns - 1e-9))
            x, t = x[skip:], cursor
            if x.shape[0] == 0:
                continue
        else:
            runs.append(([], []))
            cursor = t
        parts, implied = runs[-1]
        done = sum(p.shape[0] for p in parts)
        implied.append(t - done * frame_ns)
        parts.append(x)
        cursor += x.shape[0] * frame_ns
    out = np.zeros((channels, n), dtype=np.float64)
    mask = np.zeros(n, dtype=bool)
    for parts, implied in runs:
        i0 = int(round((float(np.median(implied)) - start) / frame_ns))
        for x in parts:                                    # chunks are frames × channels
            a, b = max(i0, 0), min(i0 + x.shape[0], n)
            if a < b:
                out[:, a:b] = x[a - i0:b - i0].T
                mask[a:b] = True
            i0 += x.shape[0]
    return out, int(mask.sum())


def imu_on_grid(t: np.ndarray, x: np.ndarray, end: int, n: int, w: int, gap: int
                ) -> tuple[np.ndarray, np.ndarray, int] | str:
    """Rows ``x`` at times ``t`` (sorted, unique) linearly resampled to ``n`` points on the grid
    ``edgebind.preprocess.imu`` uses (last point at ``end``, spacing ``w / n``): (grid int64,
    (n, 6) float32, rows used), or why the rows do not cover the window."""
    grid = end - np.round((n - 1 - np.arange(n)) * (w / n)).astype(np.int64)
    keep = (t >= grid[0] - gap) & (t <= end + gap)
    t, x = t[keep], x[keep]
    reason = imu_coverage(t, int(grid[0]), end, gap)
    if reason:
        return reason
    rel = (t - end).astype(np.float64)
    g = (grid - end).astype(np.float64)
    out = np.empty((n, 6), dtype=np.float32)
    for c in range(6):
        out[:, c] = np.interp(g, rel, x[:, c])
    return grid, out, int(t.size)


def imu_coverage(t: np.ndarray, first: int, end: int, gap: int) -> str:
    """Why rows at ``t`` do not cover ``[first, end]`` (empty string when they do)."""
    if t.size < 2:
        return f"{t.size} IMU row(s) near the window, need at least 2"
    if t[0] > first + gap:
        return f"IMU rows start {(t[0] - first) / NS:.3f} s after the window start"
    if t[-1] < end - gap:
        return f"IMU rows end {(end - t[-1]) / NS:.3f} s before the window end"
    inside = (t[1:] > first) & (t[:-1] < end)
    d = np.diff(t)[inside]
    if d.size and d.max() > gap:
        return f"gap of {d.max() / NS:.3f} s between IMU rows inside the window"
    return ""
