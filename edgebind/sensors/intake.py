"""Where samples enter the window assembler: one stream's state, and each sample checked,
corrected and turned into what its ring buffer stores.

This is the edge of the window path: a sample is validated here once (shape, dtype, and for
audio finiteness, after its correction) and everything downstream trusts what was stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from edgebind.sample import NS, Sample, StreamInfo
from edgebind.sensors.ring import RingBuffer

Correction = Callable[[np.ndarray], np.ndarray]


@dataclass
class StreamState:
    info: StreamInfo
    ring: RingBuffer
    offset_ns: int = 0
    correction: Correction | None = None
    newest_ns: int | None = None         # newest sample start seen (for out-of-order)
    off_timeline: bool = False           # its clock disagrees with the timeline (jumped)
    channels: int | None = None          # audio channel count, fixed by the first chunk


def prepare_sample(st: StreamState, s: Sample) -> tuple[int, int, Any]:
    """Validate one sample and convert it to what the ring stores: (start, end, item)."""
    t = int(s.t_ns) + st.offset_ns
    x = s.data
    if not isinstance(x, np.ndarray):
        raise ValueError(f"data must be a numpy array, got {type(x).__name__}")
    m = st.info.modality
    if m == "vision":
        return t, t, _vision(st, x)
    if m in ("depth", "thermal"):
        return t, t, _scalar_frame(st, m, x)
    if m == "audio":
        x = _audio(st, x)
        dur = int(round((x.shape[0] - 1) * NS / st.info.rate_hz))
        return t, t + dur, x
    rt, x = _imu(st, s, x, t)
    return int(rt[0]), int(rt[-1]), (rt, x)


def _vision(st: StreamState, x: np.ndarray) -> np.ndarray:
    if x.ndim != 3 or x.shape[2] != 3 or x.dtype != np.uint8:
        raise ValueError(f"vision frame must be uint8 H×W×3 RGB, got {x.dtype}{x.shape}")
    return x if st.correction is None else _corrected(st, x, np.uint8)


def _scalar_frame(st: StreamState, m: str, x: np.ndarray) -> np.ndarray:
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"{m} frame must be H×W, got shape {x.shape}")
    if x.dtype != np.float32:
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{m} frame must be numeric, got {x.dtype}")
        x = x.astype(np.float32)
    # No finiteness check: depth NaN marks invalid pixels, and a correction may keep them.
    return x if st.correction is None else _corrected(st, x, np.float32)


def _audio(st: StreamState, x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"audio chunk must be float frames×channels, got {x.dtype}{x.shape}")
    if st.channels is None:
        st.channels = x.shape[1]
    elif x.shape[1] != st.channels:
        raise ValueError(f"audio chunk has {x.shape[1]} channels, the stream has "
                         f"{st.channels}")
    if not st.info.rate_hz > 0:
        raise ValueError(f"audio stream rate_hz must be > 0, got {st.info.rate_hz}")
    if st.correction is not None:
        x = _corrected(st, x, np.float32)
    # The one finiteness check of the audio path: windows, preprocessing and the model trust it.
    if not np.isfinite(x).all():
        after = "" if st.correction is None else f" (after the correction of {st.info.stream!r})"
        raise ValueError(f"audio chunk contains NaN or inf{after}")
    return x


def _imu(st: StreamState, s: Sample, x: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim != 2 or x.shape[1] != 6 or x.shape[0] == 0:
        raise ValueError(f"imu batch must be N×6 [ax ay az gx gy gz], got shape {x.shape}")
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("imu batch contains NaN or inf")
    if s.row_t_ns is not None:
        rt = np.asarray(s.row_t_ns)
        if rt.shape != (x.shape[0],) or not np.issubdtype(rt.dtype, np.integer):
            raise ValueError(f"imu row_t_ns must be int ({x.shape[0]},), got {rt.dtype}{rt.shape}")
        rt = rt.astype(np.int64) + st.offset_ns
    else:
        rate = st.info.rate_hz if st.info.rate_hz > 0 else 400.0
        rt = t + np.round(np.arange(x.shape[0]) * (NS / rate)).astype(np.int64)
    if st.correction is not None:
        y = np.asarray(st.correction(x), dtype=np.float64)
        if y.shape != x.shape or not np.isfinite(y).all():
            raise ValueError(f"imu correction returned {y.dtype}{y.shape}, expected finite "
                             f"{x.shape}")
        x = y
    if (np.diff(rt) < 0).any():
        order = np.argsort(rt, kind="stable")
        rt, x = rt[order], x[order]
    return rt, x


def _corrected(st: StreamState, x: np.ndarray, dtype: Any) -> np.ndarray:
    """``st.correction(x)`` checked: same shape, the modality's dtype."""
    assert st.correction is not None
    y = np.asarray(st.correction(x))
    if y.shape != x.shape:
        raise ValueError(f"correction of {st.info.stream!r} returned shape {y.shape}, "
                         f"expected {x.shape}")
    if y.dtype != dtype:
        if dtype == np.uint8:
            raise ValueError(f"correction of {st.info.stream!r} returned {y.dtype}, a vision "
                             "frame must stay uint8")
        y = y.astype(dtype)
    return y


def guess_rate(s: Sample) -> float:
    """The rate of a stream nobody configured: the sample's ``meta['rate_hz']`` or a default."""
    r = s.meta.get("rate_hz") if isinstance(s.meta, dict) else None
    if isinstance(r, (int, float)) and r > 0:
        return float(r)
    return {"audio": 16000.0, "imu": 400.0}.get(s.modality, 0.0)
