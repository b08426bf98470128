"""IMU windowing: known sinusoid, window placement, scaling, bad input (incl. fuzzing)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgebind.preprocess import ImuParams, imu
from edgebind.preprocess.imu import grid_offsets_s

NS = 1_000_000_000


def _stream(rate_hz=200.0, seconds=7.0, t0_ns=123_456_789_000):
    t = t0_ns + np.round(np.arange(int(seconds * rate_hz)) / rate_hz * NS).astype(np.int64)
    ts = (t - t0_ns) / NS
    x = np.stack([np.sin(2 * np.pi * 1.5 * ts + k) for k in range(6)], axis=1)
    return x.astype(np.float32), t, ts


def test_sinusoid_resampled_on_the_grid():
    x, t, _ = _stream()
    out = imu(x, t)
    assert out.shape == (6, 2000) and out.dtype == np.float32
    grid = (t[-1] - t[0]) / NS + grid_offsets_s(ImuParams())
    for k in range(6):
        # Linear interpolation of a 1.5 Hz sine sampled at 200 Hz: error <= (w*dt)^2/8 ~ 5.5e-4.
        np.testing.assert_allclose(out[k], np.sin(2 * np.pi * 1.5 * grid + k), atol=1e-3)


def test_grid_spacing_and_end():
    g = grid_offsets_s(ImuParams())
    assert g[-1] == 0 and g[0] == pytest.approx(-5 + 5 / 2000)
    np.testing.assert_allclose(np.diff(g), 5 / 2000)


def test_explicit_end_and_channel_order_and_scale():
    x, t, ts = _stream()
    end = t[0] + 6 * NS
    out = imu(x, t, end_ns=end)
    np.testing.assert_allclose(out[0, -1], np.sin(2 * np.pi * 1.5 * 6.0), atol=1e-3)
    p = ImuParams(scale=(1 / 9.80665,) * 3 + (2.0,) * 3, channel_order=(3, 4, 5, 0, 1, 2))
    o2 = imu(x, t, end_ns=end, params=p)
    np.testing.assert_allclose(o2[0], out[3] / 9.80665, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(o2[3], out[0] * 2.0, rtol=1e-6)


def test_constant_signal_exact():
    t = np.arange(0, 6 * NS, NS // 100, dtype=np.int64)
    x = np.tile(np.array([0, 0, 9.81, 0.1, -0.2, 0.3], np.float32), (len(t), 1))
    np.testing.assert_allclose(imu(x, t), np.tile(x[0][:, None], (1, 2000)))


@pytest.mark.parametrize("mutate,exc,msg", [
    (lambda x, t: (x[:, :5], t), ValueError, r"\(N, 6\)"),
    (lambda x, t: (x.astype(np.int32), t), TypeError, "float"),
    (lambda x, t: (x, t / NS), TypeError, "nanoseconds"),
    (lambda x, t: (x, t[:-1]), ValueError, "matching"),
    (lambda x, t: (x[:1], t[:1]), ValueError, "at least 2"),
    (lambda x, t: (np.where(np.arange(len(x))[:, None] == 3, np.nan, x), t), ValueError, "finite"),
    (lambda x, t: (x, t[::-1].copy()), ValueError, "strictly increasing"),
    (lambda x, t: (x, np.concatenate([t[:10], t[9:-1]])), ValueError, "strictly increasing"),
    (lambda x, t: (x[-200:], t[-200:]), ValueError, "window needs"),
    (lambda x, t: (np.delete(x, np.s_[500:560], 0), np.delete(t, np.s_[500:560])), ValueError, "gap"),
])
def test_bad_input(mutate, exc, msg):
    x, t, _ = _stream()
    bx, bt = mutate(x, t)
    with pytest.raises(exc, match=msg):
        imu(bx, bt)


def test_end_beyond_data_is_refused():
    x, t, _ = _stream()
    with pytest.raises(ValueError, match="window needs"):
        imu(x, t, end_ns=int(t[-1]) + NS)


def test_params_validation_and_roundtrip():
    p = ImuParams(window_s=2.0, scale=(0.5,) * 6)
    assert ImuParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    for bad in ({"scale": (1.0,) * 5}, {"channel_order": (0, 0, 1, 2, 3, 4)}, {"window_s": -1},
                {"n_samples": 2.5}):
        with pytest.raises((ValueError, TypeError)):
            ImuParams(**bad)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(5, 7)),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
       st.lists(st.integers(-10**9, 10**10), min_size=0, max_size=40))
def test_fuzz_validation(x, ts):
    """Arbitrary rows/timestamps give either a finite (6, 2000) window or a ValueError."""
    t = np.asarray(ts, dtype=np.int64)
    try:
        out = imu(x, t, params=ImuParams(max_gap_s=1.0))
    except ValueError as e:
        assert str(e).startswith("imu")
        return
    assert out.shape == (6, 2000) and np.isfinite(out).all()
