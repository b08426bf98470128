"""IMU calibration against simulated sensors with injected bias, scale and noise."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.calibration import imu
from edgebind.profile import ImuCalibration
from tests.calibration.synth import G, imu_rows, six_position_truth

RATE = 200.0
SCALE = np.array([[1.02, 0.004, 0.0], [0.0, 0.97, -0.003], [0.002, 0.0, 1.01]])
A_BIAS = np.array([0.12, -0.08, 0.2])
G_BIAS = np.array([0.01, -0.02, 0.005])


def test_six_position_recovers_scale_and_bias_within_tolerance():
    acc, gyr = six_position_truth(RATE)
    rows = imu_rows(acc, gyr, accel_scale=SCALE, accel_bias=A_BIAS, gyro_bias=G_BIAS,
                    accel_noise=0.002, gyro_noise=2e-4, rate=RATE, seed=1)
    segs = imu.still_segments(rows, RATE)
    assert len(segs) == 6
    means = imu._merge_by_orientation(rows, segs)
    fit = imu.six_position(means)
    # Stated tolerances: bias within 0.01 m/s^2, scale matrix entries within 0.002.
    assert np.abs(fit.bias - A_BIAS).max() < 0.01
    assert np.abs(fit.scale - SCALE).max() < 0.002
    assert fit.residual_rms < 0.01
    # The correction built from the fit undoes the error model.
    cal = ImuCalibration(accel_bias=fit.bias, accel_scale=fit.scale)
    fixed = cal.correct(rows[segs[0][0]:segs[0][1]])
    assert np.allclose(fixed[:, :3].mean(0), [G, 0, 0], atol=0.01)


def test_six_position_names_missing_orientations():
    means = np.array([[G, 0, 0], [-G, 0, 0], [0, G, 0], [0, 0, G], [0, 0, -G]])
    with pytest.raises(ValueError, match=r"missing \['-y'\]"):
        imu.six_position(means)


def test_still_gyro_bias_and_gravity_alignment():
    n = int(120 * RATE)
    tilt = np.radians([4.0, -3.0])  # roll, pitch of the mounting
    up = np.array([np.sin(tilt[1]), np.sin(tilt[0]), 1.0])
    up = up / np.linalg.norm(up) * G
    rows = imu_rows(np.tile(up, (n, 1)), np.zeros((n, 3)), gyro_bias=G_BIAS,
                    accel_noise=0.003, gyro_noise=3e-4, rate=RATE, seed=2)
    gb = rows[:, 3:].mean(0)
    # Tolerance: 4 sigma of the mean of white noise.
    assert np.abs(gb - G_BIAS).max() < 4 * 3e-4 * np.sqrt(RATE) / np.sqrt(n)
    R = imu.gravity_alignment(rows[:, :3].mean(0))
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(R), 1.0)
    aligned = R @ up
    assert np.allclose(aligned, [0, 0, G], atol=0.01)


def test_gravity_alignment_upside_down_and_zero():
    R = imu.gravity_alignment(np.array([0, 0, -G]))
    assert np.allclose(R @ [0, 0, -G], [0, 0, G])
    with pytest.raises(ValueError, match="free fall"):
        imu.gravity_alignment(np.zeros(3))


def test_allan_variance_recovers_noise_density_and_random_walk():
    rate, n = 100.0, int(100.0 * 3600)
    N, K = 0.002, 2e-4
    rng = np.random.default_rng(0)
    x = 0.01 + rng.standard_normal(n) * N * np.sqrt(rate) + \
        np.cumsum(rng.standard_normal(n)) * K / np.sqrt(rate)
    taus, adev = imu.allan_deviation(x, rate)
    p = imu.allan_parameters(taus, adev)
    assert p["noise_density"] == pytest.approx(N, rel=0.05)
    assert p["random_walk"] == pytest.approx(K, rel=0.3)
    # White + random walk only: the curve's minimum is analytic.
    t_min = np.sqrt(3) * N / K
    expected_min = np.sqrt(N**2 / t_min + K**2 * t_min / 3)
    assert p["bias_instability"] * 0.664 == pytest.approx(expected_min, rel=0.1)


def test_allan_needs_enough_samples():
    with pytest.raises(ValueError, match="longer recording"):
        imu.allan_deviation(np.zeros(10), 100.0)
