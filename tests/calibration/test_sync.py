"""Time offsets from shared events, against known injected offsets."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.calibration import sync
from tests.calibration.synth import tap_signals


@pytest.mark.parametrize("delay_s, seed", [(0.0373, 0), (-0.0121, 1), (0.2505, 2), (0.0, 3)])
def test_imu_tap_vs_audio_offset_within_1ms(delay_s, seed):
    taps = np.sort(np.random.default_rng(seed).uniform(1, 11, 5))
    (ti, rows), (ta, x) = tap_signals(taps, 12.0, delay_s, seed=seed)
    imu = sync.activity("imu", (ti * 1e9).astype(np.int64), rows)
    aud = sync.activity("audio", (ta * 1e9).astype(np.int64), x[:, None], 16000)
    est = sync.estimate_offset(imu, aud)
    # The audio runs late by delay: its correction is -delay.
    assert abs(est.offset_ns / 1e9 + delay_s) < 1e-3
    assert est.peak > 0.5 and est.ambiguity < 0.8


def test_light_switch_camera_vs_thermal():
    # A light goes on at 3.0 s; thermal (8 fps) stamps 60 ms late, camera at 15 fps.
    tc = np.arange(0, 6, 1 / 15)
    tt = np.arange(0, 6, 1 / 8) + 0.004
    cam = np.where(tc >= 3.0, 200.0, 20.0)[:, None, None] * np.ones((1, 4, 4))
    th = np.where(tt >= 3.0, 301.0, 295.0)[:, None, None] * np.ones((1, 4, 4))
    a = sync.activity("vision", (tc * 1e9).astype(np.int64), cam)
    b = sync.activity("thermal", ((tt + 0.060) * 1e9).astype(np.int64), th)
    est = sync.estimate_offset(a, b, smooth_s=0.03)
    # Frame-rate limited: within one thermal frame period.
    assert abs(est.offset_ns / 1e9 + 0.060) < 1 / 8


def test_parabolic_peak_is_exact_for_a_parabola():
    x = np.arange(10.0)
    y = -(x - 4.3) ** 2
    assert sync.parabolic_peak(y, 4) == pytest.approx(4.3)
    assert sync.parabolic_peak(y, 0) == 0.0


def test_no_event_is_a_clear_error():
    t = np.arange(0, 5e9, 2.5e6).astype(np.int64)
    flat = (t, np.zeros(len(t)))
    with pytest.raises(ValueError, match="no onset"):
        sync.estimate_offset(flat, flat)


def test_too_little_overlap():
    t1 = np.arange(0, 1e9, 1e6).astype(np.int64)
    with pytest.raises(ValueError, match="overlap"):
        sync.estimate_offset((t1, np.ones(len(t1))), (t1 + int(0.9e9), np.ones(len(t1))))
