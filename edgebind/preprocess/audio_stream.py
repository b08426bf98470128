"""Streaming audio: a ring of the most recent W seconds whose features equal ``audio()``'s.

Samples are kept at the input rate, unprocessed, so ``features()`` on the ring is *identical* to
``audio(last_W_seconds, rate)``: resampling, the clip sampler and the in-place mean quirk all
depend on the whole window, so incremental updates would not reproduce the reference.
The cost per call is one resample (only when rate != 16 kHz) and one batched rfft of
3 x 198 frames; the kernels, window and mel matrix are cached.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgebind.preprocess.audio import (
    AudioParams,
    Layout,
    as_channels_first,
    check_rate,
    features_from_channels_first,
)
from edgebind.preprocess.fbank import FRAME_LENGTH


class AudioWindow:
    """A live ring buffer of the last ``seconds`` of audio; ``features()`` gives the model input.

    ``push(chunk, rate)`` accepts chunks of any length in ``layout`` (default 'frames_first',
    i.e. (N,) or (N, C) as the SDK's Sample data); the rate and channel count are fixed by the
    first push (or the constructor) and a different one raises ValueError (call ``reset()``).
    Before the ring is full, ``features()`` uses what has arrived (``ready`` tells when full).
    """

    def __init__(self, seconds: float = 5.0, rate: int | None = None, *,
                 layout: Layout = "frames_first", params: AudioParams | None = None):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"AudioWindow: seconds must be a positive number, got {seconds!r}")
        self.seconds = float(seconds)
        self.layout: Layout = layout
        self.params = params or AudioParams()
        self._rate: int | None = None
        self._buf: np.ndarray | None = None
        self._write = 0      # next write position in the ring
        self._filled = 0     # valid samples in the ring
        if rate is not None:
            self._rate = check_rate(rate)

    @property
    def rate(self) -> int | None:
        return self._rate

    @property
    def capacity(self) -> int | None:
        """Samples held when full: ``round(seconds * rate)``."""
        return None if self._rate is None else max(1, round(self.seconds * self._rate))

    @property
    def samples(self) -> int:
        return self._filled

    @property
    def ready(self) -> bool:
        """True once the ring holds a full window."""
        return self._rate is not None and self._filled == self.capacity

    def reset(self) -> None:
        """Forget all samples, the rate and the channel count."""
        self._rate, self._buf, self._write, self._filled = None, None, 0, 0

    def push(self, chunk: Any, rate: int) -> None:
        """Append samples (float, [-1, 1]); the oldest fall out once ``seconds`` are held."""
        r = check_rate(rate)
        if self._rate is None:
            self._rate = r
        elif r != self._rate:
            raise ValueError(f"AudioWindow: rate {r} Hz differs from the window's {self._rate} Hz; "
                             "reset() first or use one window per stream")
        x = as_channels_first(chunk, self.layout, allow_empty=True)  # empty chunk: a no-op
        cap = self.capacity
        assert cap is not None
        if self._buf is None:
            self._buf = np.zeros((x.shape[0], cap), dtype=np.float64)
        elif x.shape[0] != self._buf.shape[0]:
            raise ValueError(f"AudioWindow: chunk has {x.shape[0]} channel(s), the window holds "
                             f"{self._buf.shape[0]}")
        if x.shape[1] == 0:
            return
        if x.shape[1] >= cap:           # the chunk alone fills the window
            self._buf[:] = x[:, -cap:]
            self._write, self._filled = 0, cap
            return
        n = x.shape[1]
        first = min(n, cap - self._write)
        self._buf[:, self._write:self._write + first] = x[:, :first]
        self._buf[:, :n - first] = x[:, first:]
        self._write = (self._write + n) % cap
        self._filled = min(cap, self._filled + n)

    def waveform(self) -> np.ndarray:
        """The held samples, oldest first, as (C, N) float64 (a copy)."""
        if self._buf is None or self._filled == 0:
            raise ValueError("AudioWindow: no samples pushed yet")
        if self._filled < self._buf.shape[1]:
            return self._buf[:, :self._filled].copy()
        return np.concatenate((self._buf[:, self._write:], self._buf[:, :self._write]), axis=1)

    def features(self) -> np.ndarray:
        """(3, 1, 128, 204) float32 for the current window, equal to ``audio(waveform(), rate)``."""
        x = self.waveform()
        assert self._rate is not None
        n16 = -(-x.shape[1] * 16000 // self._rate)
        if n16 < FRAME_LENGTH:
            raise ValueError(f"AudioWindow: need at least 25 ms of audio, have {x.shape[1]} "
                             f"samples at {self._rate} Hz")
        return features_from_channels_first(x, self._rate, self.params)
