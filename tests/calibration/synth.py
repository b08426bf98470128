"""Synthetic sensor data with known ground truth, and writing it to real MCAP recordings."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgebind.record import Recorder
from edgebind.sample import Sample, StreamInfo

G = 9.80665


def imu_rows(truth_accel: np.ndarray, truth_gyro: np.ndarray, *, accel_scale=np.eye(3),
             accel_bias=np.zeros(3), gyro_bias=np.zeros(3), accel_noise: float = 0.0,
             gyro_noise: float = 0.0, rate: float = 200.0, seed: int = 0) -> np.ndarray:
    """Measured rows from true (N,3) specific force and rate: ``scale @ true + bias + white
    noise`` with noise densities per sqrt(Hz)."""
    rng = np.random.default_rng(seed)
    n = len(truth_accel)
    a = truth_accel @ np.asarray(accel_scale).T + accel_bias
    a = a + rng.standard_normal((n, 3)) * accel_noise * np.sqrt(rate)
    g = truth_gyro + gyro_bias + rng.standard_normal((n, 3)) * gyro_noise * np.sqrt(rate)
    return np.hstack([a, g])


def six_position_truth(rate: float, hold_s: float = 6.0, move_s: float = 2.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """True accel/gyro for holding +x, -x, +y, -y, +z, -z up in turn, turning in between."""
    ups = [np.array(v, float) * G for v in
           ([1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1])]
    acc, gyr = [], []
    nh, nm = int(hold_s * rate), int(move_s * rate)
    for i, u in enumerate(ups):
        acc.append(np.tile(u, (nh, 1)))
        gyr.append(np.zeros((nh, 3)))
        if i + 1 < len(ups):
            w = np.linspace(0, 1, nm)[:, None]
            mid = (1 - w) * u + w * ups[i + 1] + np.sin(np.pi * w) * G * np.array([0.3, 0.5, 0.4])
            acc.append(mid / np.linalg.norm(mid, axis=1, keepdims=True) * G)
            gyr.append(np.tile([1.2, -0.8, 0.5], (nm, 1)) * np.sin(np.pi * w))
    return np.vstack(acc), np.vstack(gyr)


def tap_signals(taps_s: np.ndarray, duration_s: float, audio_delay_s: float, *, imu_rate=400.0,
                audio_rate=16000, seed: int = 0):
    """IMU rows (times s, N×6) and audio (times s, frames) of the same taps; the microphone's
    timestamps run ``audio_delay_s`` late (an event at t is stamped t + delay)."""
    rng = np.random.default_rng(seed)
    t_imu = np.arange(int(duration_s * imu_rate)) / imu_rate + rng.uniform(0, 1 / imu_rate)
    acc = np.tile([0.0, 0.0, G], (len(t_imu), 1)) + rng.normal(0, 0.02, (len(t_imu), 3))
    gyr = rng.normal(0, 0.002, (len(t_imu), 3))
    ta = np.arange(int(duration_s * audio_rate)) / audio_rate
    x = rng.normal(0, 0.003, len(ta))
    for tp in taps_s:
        dt = t_imu - tp
        m = dt >= 0
        acc[m, 2] += 8 * np.exp(-dt[m] / 0.03) * np.cos(2 * np.pi * 60 * dt[m])
        dt = ta - tp
        m = dt >= 0
        x[m] += 0.5 * np.exp(-dt[m] / 0.015) * rng.normal(0, 1, m.sum())
    return (t_imu, np.hstack([acc, gyr])), (ta + audio_delay_s, np.clip(x, -1, 1))


def write_recording(path: Path, streams: dict[str, dict]) -> Path:
    """A real MCAP via Recorder. ``streams[name]`` = {"info": StreamInfo, and either
    "frames": [(t_ns, array)], or "rows": (t_ns (N,), rows (N,6)) written in batches of 20, or
    "audio": (t0_ns, wave (frames,) float32) written in 512-frame chunks}."""
    samples: list[Sample] = []
    rec = Recorder(path, overwrite=True)
    for name, spec in streams.items():
        info: StreamInfo = spec["info"]
        rec.add_stream(info)
        if "frames" in spec:
            samples += [Sample(name, info.modality, int(t), f) for t, f in spec["frames"]]
        elif "rows" in spec:
            t, rows = spec["rows"]
            for i in range(0, len(rows), 20):
                samples.append(Sample(name, "imu", int(t[i]), rows[i:i + 20].astype(np.float32),
                                      row_t_ns=np.asarray(t[i:i + 20], dtype=np.int64)))
        elif "audio" in spec:
            t0, wave = spec["audio"]
            rate = info.rate_hz
            for i in range(0, len(wave) - 511, 512):
                samples.append(Sample(name, "audio", int(t0 + round(i * 1e9 / rate)),
                                      wave[i:i + 512, None].astype(np.float32)))
    samples.sort(key=lambda s: s.t_ns)
    with rec:
        for s in samples:
            rec.write(s)
    return path


def imu_info(name: str = "imu0", rate: float = 200.0) -> StreamInfo:
    return StreamInfo(name, "imu", rate, (20, 6), "m/s^2, rad/s", "bmi088:test")


def audio_info(name: str = "mic", rate: float = 16000.0) -> StreamInfo:
    return StreamInfo(name, "audio", rate, (512, 1), "float32 [-1, 1]", "virtual:mic")
