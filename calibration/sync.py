"""Time offset between two streams from shared events (a tap felt by the IMU and heard by the
microphone; a light switched on in camera and thermal): cross-correlate onset envelopes,
then refine the peak by parabolic interpolation for sub-sample precision.

Convention (as in edgebind.profile): ``corrected t = recorded t_ns + time_offset_ns``; the
reference stream keeps its offset and the other stream's is set relative to it.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from edgebind.profile import Profile

from edgebind.calibration.report import Check, Result, plot_path, pyplot, save_figure

HELP = "sync: time offset between two streams from a shared event (tap, light switch)"


@dataclass
class SyncEstimate:
    offset_ns: int        # add to the other stream's times to align it with the reference
    peak: float           # normalised cross-correlation at the peak (1 = identical envelopes)
    ambiguity: float      # second-best separate peak / best peak (near 1: unreliable)
    lag_s: np.ndarray     # the correlation curve, for plots
    corr: np.ndarray


def activity(modality: str, t_ns: np.ndarray, data: np.ndarray, rate: float | None = None,
             block_s: float = 0.001) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D "how much is happening" signal (times ns, values) of one stream: IMU: deviation of
    the acceleration magnitude from its median; audio: RMS over ``block_s`` blocks; frames:
    mean intensity."""
    data = np.asarray(data)
    if modality == "imu":
        mag = np.linalg.norm(np.asarray(data, dtype=np.float64)[:, :3], axis=1)
        return np.asarray(t_ns), np.abs(mag - np.median(mag))
    if modality == "audio":
        x = np.asarray(data, dtype=np.float64).reshape(len(data), -1).mean(axis=1)
        n = max(1, int(round(block_s * (rate or 16000))))
        k = len(x) // n
        rms = np.sqrt(np.mean(x[:k * n].reshape(k, n) ** 2, axis=1))
        t = np.asarray(t_ns)[:k * n].reshape(k, n).astype(np.float64).mean(axis=1)
        return t.astype(np.int64), rms
    # frames: data is (N, H, W[, C])
    return np.asarray(t_ns), np.asarray(data, dtype=np.float64).reshape(len(data), -1).mean(axis=1)


def onset_envelope(t_ns: np.ndarray, values: np.ndarray, t0_ns: int, n: int, fs: float,
                   smooth_s: float = 0.003) -> np.ndarray:
    """Rising-edge strength on a uniform grid (t0 + i/fs): the signal resampled, robustly
    normalised, smoothed by a Gaussian of ``smooth_s``, differentiated, half-wave rectified."""
    t = (np.asarray(t_ns, dtype=np.int64) - t0_ns) / 1e9
    grid = np.arange(n) / fs
    v = np.interp(grid, t, np.asarray(values, dtype=np.float64))
    v = v - np.median(v)
    scale = np.median(np.abs(v)) * 1.4826 + 1e-12
    v = v / scale
    sigma = max(smooth_s * fs, 0.5)
    half = int(np.ceil(4 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    v = np.convolve(v, k / k.sum(), mode="same")
    d = np.diff(v, prepend=v[0])
    return np.maximum(d, 0)


def parabolic_peak(y: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak at index ``i`` from the parabola through i-1, i, i+1."""
    if i <= 0 or i >= len(y) - 1:
        return float(i)
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    return float(i) if den >= 0 else float(i + 0.5 * (a - c) / den)


def estimate_offset(ref: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
                    fs: float = 1000.0, max_lag_s: float = 1.0, smooth_s: float = 0.003
                    ) -> SyncEstimate:
    """Offset (ns) to add to ``other``'s times so its events line up with ``ref``'s; both are
    (t_ns, activity) pairs over an overlapping stretch with at least one shared event."""
    t0 = int(max(ref[0][0], other[0][0]))
    t1 = int(min(ref[0][-1], other[0][-1]))
    if t1 - t0 < 2 * max_lag_s * 1e9 / 4:
        raise ValueError(f"the two streams overlap for only {(t1 - t0) / 1e9:.3f} s; record "
                         "both through the shared event")
    n = int((t1 - t0) / 1e9 * fs)
    a = onset_envelope(*ref, t0, n, fs, smooth_s)
    b = onset_envelope(*other, t0, n, fs, smooth_s)
    if not a.any() or not b.any():
        raise ValueError("no onset found in one of the streams (is the event in both?)")
    size = 1 << int(np.ceil(np.log2(2 * n)))
    c = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)
    max_lag = min(int(max_lag_s * fs), n - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = c[lags % size] / (np.linalg.norm(a) * np.linalg.norm(b))
    i = int(np.argmax(corr))
    lag = (parabolic_peak(corr, i) - max_lag) / fs   # other is late by `lag` seconds
    # Ambiguity: best peak outside +-20 ms of the winner (periodic taps alias).
    guard = max(1, int(0.02 * fs))
    rest = np.concatenate([corr[:max(0, i - guard)], corr[i + guard + 1:]])
    amb = float(rest.max() / corr[i]) if rest.size and corr[i] > 0 else 0.0
    return SyncEstimate(int(round(-lag * 1e9)), float(corr[i]), amb, lags / fs, corr)


# -- the command -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--streams", nargs=2, metavar=("REF", "OTHER"),
                   help="reference stream and the stream to align to it (default: the two "
                        "streams of the recording, or --stream as REF and the other one)")
    p.add_argument("--max-offset", type=float, default=1.0,
                   help="largest offset to search, seconds (default %(default)s)")
    p.add_argument("--envelope-rate", type=float, default=1000.0,
                   help="envelope sample rate, Hz (default %(default)s)")


def _series(rec, info, show: bool) -> tuple[np.ndarray, np.ndarray]:
    from edgebind.calibration import data
    if info.modality == "imu":
        s = data.read_imu(rec, info.stream, show)
        return activity("imu", s.t_ns, s.rows)
    if info.modality == "audio":
        s = data.read_audio(rec, info.stream, show)
        return activity("audio", s.t_ns, s.wave, s.rate)
    if info.modality in ("vision", "thermal", "depth"):
        s = data.read_frames(rec, info.stream, (info.modality,), show=show)
        frames = np.stack([np.asarray(f, dtype=np.float32).reshape(f.shape[0], f.shape[1], -1)
                           .mean(axis=2) for f in s.frames])
        return activity(info.modality, s.t_ns, np.nan_to_num(frames))
    raise ValueError(f"sync does not handle {info.modality} stream {info.stream!r}")


def run(args: argparse.Namespace, profile: Profile) -> Result:
    from edgebind.calibration.imu import _one_recording
    from edgebind.record import open_recording
    rec = _one_recording(args)
    with open_recording(rec) as r:
        streams = r.streams
    if args.streams:
        names = list(args.streams)
    else:
        names = ([args.stream] if args.stream else []) + \
                sorted(s for s in streams if s != args.stream)
        if len(names) != 2:
            raise ValueError(f"recording {rec} has streams {sorted(streams)}; name the two to "
                             "align with --streams REF OTHER")
    for n in names:
        if n not in streams:
            raise ValueError(f"recording {rec} has no stream {n!r}; it has {sorted(streams)}")
    if names[0] == names[1]:
        raise ValueError("--streams needs two different streams")
    ref, other = streams[names[0]], streams[names[1]]
    est = estimate_offset(_series(rec, ref, args.progress), _series(rec, other, args.progress),
                          fs=args.envelope_rate, max_lag_s=args.max_offset)
    ref_sec, other_sec = profile.stream(ref.stream), profile.stream(other.stream)
    if ref_sec.time_offset_ns is None:
        ref_sec.time_offset_ns = 0
    other_sec.time_offset_ns = int(ref_sec.time_offset_ns + est.offset_ns)
    res = Result("sync", f"{ref.stream} -> {other.stream}")
    res.estimates.update({"reference": ref.stream, "stream": other.stream,
                          "offset_ms": est.offset_ns / 1e6, "offset_ns": est.offset_ns,
                          "correlation_peak": est.peak, "ambiguity": est.ambiguity,
                          "time_offset_ns": other_sec.time_offset_ns})
    res.checks += [Check("correlation peak", est.peak, 0.3, ">="),
                   Check("ambiguity (second peak / best)", est.ambiguity, 0.8)]
    edge = abs(abs(est.offset_ns) / 1e9 - args.max_offset) < 2 / args.envelope_rate
    if edge:
        res.notes.append("the offset sits at the search limit: raise --max-offset")
        res.checks.append(Check("offset within search range", 0.0, 1.0, ">="))
    out = plot_path(args.plot_dir, f"sync_{ref.stream}_{other.stream}.png")
    if out is not None:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(est.lag_s * 1e3, est.corr)
        ax.axvline(-est.offset_ns / 1e6, color="r", ls="--", label=f"{-est.offset_ns / 1e6:.2f} ms")
        ax.set_xlabel(f"{other.stream} lag behind {ref.stream} (ms)")
        ax.set_ylabel("normalised cross-correlation")
        ax.legend()
        res.plots.append(save_figure(fig, out))
    return res
