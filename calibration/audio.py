"""Microphone levels: noise floor, peak, clipping and DC offset, and a gain recommendation."""
from __future__ import annotations

import argparse

import numpy as np

from edgebind.profile import AudioCalibration, Profile

from edgebind.calibration.report import Check, Result, plot_path, pyplot, save_figure

HELP = "audio: noise floor (dBFS), clipping, a gain recommendation"
CLIP_LEVEL = 0.999


def dbfs(x: np.ndarray | float) -> np.ndarray | float:
    """Level in dB relative to full scale (1.0); -inf-safe (floors at -200 dBFS)."""
    return 20 * np.log10(np.maximum(np.abs(x), 1e-10))


def levels(wave: np.ndarray, rate: float, frame_s: float = 0.05) -> dict[str, float]:
    """Noise floor (10th percentile of frame RMS), RMS, peak and 99.9th percentile peak in
    dBFS; fraction of clipped samples; DC offset. ``wave`` (frames,) or (frames, channels)."""
    x = np.asarray(wave, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if x.size == 0:
        raise ValueError("no audio to measure")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinity")
    n = max(1, int(frame_s * rate))
    k = len(x) // n
    if k < 1:
        raise ValueError(f"audio too short ({len(x)} frames) for {frame_s} s analysis frames")
    dc = x.mean(axis=0)
    frames = (x[:k * n] - dc).reshape(k, n, -1)
    rms = np.sqrt(np.mean(frames**2, axis=(1, 2)))
    a = np.abs(x)
    return {"noise_floor_dbfs": float(dbfs(np.percentile(rms, 10))),
            "rms_dbfs": float(dbfs(np.sqrt(np.mean((x - dc) ** 2)))),
            "peak_dbfs": float(dbfs(a.max())),
            "peak_p999_dbfs": float(dbfs(np.percentile(a, 99.9))),
            "clipping_ratio": float(np.mean(a >= CLIP_LEVEL)),
            "dc_offset": float(np.max(np.abs(dc)))}


def recommend_gain(lv: dict[str, float], target_peak_dbfs: float = -6.0,
                   max_noise_floor_dbfs: float = -50.0) -> float:
    """Gain (dB) bringing loud sounds near ``target_peak_dbfs`` without lifting the noise floor
    above ``max_noise_floor_dbfs``; clipping always asks for less gain."""
    if lv["clipping_ratio"] > 1e-4:
        # The real peak is unknown once clipped: back off by the margin and 6 dB more.
        return round(min(target_peak_dbfs - 6.0, -6.0), 1)
    gain = target_peak_dbfs - lv["peak_p999_dbfs"]
    gain = min(gain, max_noise_floor_dbfs - lv["noise_floor_dbfs"])
    return round(float(np.clip(gain, -40.0, 40.0)), 1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target-peak", type=float, default=-6.0,
                   help="where loud sounds should peak, dBFS (default %(default)s)")


def run(args: argparse.Namespace, profile: Profile) -> Result:
    from edgebind.calibration.data import read_audio
    from edgebind.calibration.imu import _one_recording
    s = read_audio(_one_recording(args), args.stream, show=args.progress)
    lv = levels(s.wave, s.rate)
    gain = recommend_gain(lv, args.target_peak)
    res = Result("audio", s.stream)
    res.estimates.update({**lv, "recommended_gain_db": gain, "duration_s": len(s.wave) / s.rate})
    res.checks += [Check("clipped samples", lv["clipping_ratio"], 1e-4),
                   Check("noise floor", lv["noise_floor_dbfs"], -50.0, unit="dBFS"),
                   Check("peak level (is there sound?)", lv["peak_dbfs"], -40.0, ">=", "dBFS"),
                   Check("DC offset", lv["dc_offset"], 0.01)]
    out = plot_path(args.plot_dir, f"audio_{s.stream}.png")
    if out is not None:
        plt = pyplot()
        x = s.wave.reshape(len(s.wave), -1)
        n = max(1, int(0.05 * s.rate))
        k = len(x) // n
        rms = dbfs(np.sqrt(np.mean(x[:k * n].reshape(k, -1) ** 2, axis=1)))
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(np.arange(k) * n / s.rate, rms)
        ax.axhline(lv["noise_floor_dbfs"], color="g", ls="--", label="noise floor")
        ax.axhline(-50, color="r", ls=":", label="recommended noise floor limit")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("RMS per 50 ms (dBFS)")
        ax.legend()
        res.plots.append(save_figure(fig, out))
    sec = profile.stream(s.stream)
    sec.audio = AudioCalibration(gain, lv["noise_floor_dbfs"], lv["peak_dbfs"], lv["clipping_ratio"])
    sec.sensor = s.info.device or sec.sensor
    return res
