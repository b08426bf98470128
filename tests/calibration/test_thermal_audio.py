"""Thermal two-point/flat-field and audio levels on synthetic data with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.calibration import audio, thermal
from edgebind.profile import ThermalCalibration


def test_two_point_exact_global_and_per_pixel():
    rng = np.random.default_rng(0)
    gain = 0.04 + 0.002 * rng.standard_normal((6, 8))     # K per count, per pixel
    offset = 150 + 3 * rng.standard_normal((6, 8))
    raw_at = lambda T: (T - offset) / gain                 # what the sensor reads at T kelvin
    g, o = thermal.two_point(raw_at(293.15), raw_at(333.15), 293.15, 333.15)
    np.testing.assert_allclose(g, gain, rtol=1e-9)
    np.testing.assert_allclose(o, offset, rtol=1e-9)
    cal = ThermalCalibration(g, o)
    np.testing.assert_allclose(cal.correct(raw_at(310.0)), 310.0, atol=1e-3)
    gs, os_ = thermal.two_point(1000.0, 2000.0, 300.0, 320.0)
    assert (gs, os_) == (0.02, 280.0)


def test_two_point_refuses_identical_readings():
    with pytest.raises(ValueError, match="read the same"):
        thermal.two_point(np.ones((2, 2)), np.ones((2, 2)), 290.0, 300.0)
    with pytest.raises(ValueError, match="must differ"):
        thermal.two_point(1.0, 2.0, 300.0, 300.0)


def test_flat_field_makes_a_uniform_scene_uniform():
    rng = np.random.default_rng(1)
    fpn = 0.8 * rng.standard_normal((12, 16))              # fixed-pattern offset, kelvin
    frames = [300.0 + fpn + 0.05 * rng.standard_normal((12, 16)) for _ in range(50)]
    m, noise = thermal.mean_frame(frames)
    off = thermal.flat_field_offset(m, 1.0, 0.0)
    corrected = ThermalCalibration(1.0, off).correct(frames[0])
    assert np.std(corrected) < 0.1 < np.std(frames[0])
    assert noise == pytest.approx(0.05, rel=0.2)
    with pytest.raises(ValueError, match="NaN"):
        thermal.mean_frame([np.full((2, 2), np.nan)])


def test_audio_levels_known_tone_and_noise():
    rate = 16000
    t = np.arange(rate * 4) / rate
    rng = np.random.default_rng(0)
    x = 10 ** (-60 / 20) * np.sqrt(2) * rng.standard_normal(len(t))   # -57 dBFS RMS noise
    x[rate:2 * rate] += 0.25 * np.sin(2 * np.pi * 440 * t[rate:2 * rate])  # -12 dBFS peak tone
    lv = audio.levels(x, rate)
    assert lv["noise_floor_dbfs"] == pytest.approx(-57.0, abs=1.0)
    assert lv["peak_dbfs"] == pytest.approx(-12.0, abs=0.3)
    assert lv["clipping_ratio"] == 0.0
    gain = audio.recommend_gain(lv, target_peak_dbfs=-6.0)
    assert 0 < gain <= 6.0   # limited by the peak target and the noise-floor cap (-50 dBFS)
    clipped = np.clip(x * 8, -1, 1)
    lv2 = audio.levels(clipped, rate)
    assert lv2["clipping_ratio"] > 1e-3
    assert audio.recommend_gain(lv2) < 0


def test_audio_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        audio.levels(np.array([0.0, np.nan] * 2000), 16000)
    with pytest.raises(ValueError, match="too short"):
        audio.levels(np.zeros(10), 16000)
