"""AudioWindow: features equal audio() on the concatenated last-W-seconds waveform."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebind.preprocess import AudioLengthWarning, AudioWindow, audio


def _chunks(x: np.ndarray, sizes: list[int]):
    i, k = 0, 0
    while i < len(x):
        s = sizes[k % len(sizes)]
        yield x[i:i + s]
        i, k = i + s, k + 1


@pytest.mark.parametrize("rate,channels,seconds", [(16000, 1, 5.0), (44100, 2, 3.0), (8000, 1, 2.0)])
def test_stream_equals_batch(rate, channels, seconds):
    rng = np.random.default_rng(rate)
    total = int(7.3 * rate)
    x = (0.2 * rng.standard_normal((total, channels)) + 0.05).astype(np.float32)
    win = AudioWindow(seconds)
    for c in _chunks(x, [1234, 17, 4000, 1]):
        win.push(c, rate)
    assert win.ready and win.samples == win.capacity == round(seconds * rate)
    expected = audio(x[-win.capacity:], rate, layout="frames_first")
    np.testing.assert_array_equal(win.features(), expected)
    np.testing.assert_array_equal(win.waveform(), x[-win.capacity:].T.astype(np.float64))


def test_partial_window_and_big_chunk():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 20000).astype(np.float32)
    win = AudioWindow(2.0, rate=16000)
    win.push(x[:10000], 16000)
    win.push(x[:0], 16000)  # empty callbacks are a no-op
    assert not win.ready and win.samples == 10000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioLengthWarning)
        np.testing.assert_array_equal(win.features(), audio(x[:10000], 16000))
    win.push(np.concatenate([x, x]), 16000)  # one chunk longer than the window
    np.testing.assert_array_equal(win.features(), audio(np.concatenate([x, x])[-32000:], 16000))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=30))
def test_fuzz_chunking(sizes):
    x = np.sin(np.arange(sum(sizes)) * 0.01).astype(np.float32)
    win = AudioWindow(0.1)
    i = 0
    for s in sizes:
        win.push(x[i:i + s], 16000)
        i += s
    np.testing.assert_array_equal(win.waveform()[0], x[-win.capacity:])


def test_errors():
    win = AudioWindow(1.0)
    with pytest.raises(ValueError, match="no samples"):
        win.features()
    win.push(np.zeros(100, np.float32), 16000)
    with pytest.raises(ValueError, match="25 ms"):
        win.features()
    with pytest.raises(ValueError, match="rate 8000"):
        win.push(np.zeros(100, np.float32), 8000)
    with pytest.raises(ValueError, match="channel"):
        win.push(np.zeros((100, 2), np.float32), 16000)
    with pytest.raises(ValueError, match="frames_first|channels_first"):
        win.push(np.zeros((2, 100), np.float32), 16000)
    win.reset()
    win.push(np.zeros((100, 2), np.float32), 8000)
    assert win.rate == 8000
    with pytest.raises(ValueError, match="seconds"):
        AudioWindow(0)
