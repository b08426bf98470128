"""Thermal camera radiometry: gain and offset from two reference temperatures (globally or per
pixel), or a flat-field (one-point non-uniformity) correction from a uniform scene.

Correction (edgebind.profile.ThermalCalibration): ``kelvin = gain * raw + offset``.
"""
from __future__ import annotations

import argparse

import numpy as np

from edgebind.profile import Profile, ThermalCalibration

from edgebind.calibration.report import Check, Result, plot_path, pyplot, save_figure

HELP = "thermal: gain/offset from two reference temperatures, or flat-field correction"


def two_point(raw_cold: np.ndarray | float, raw_hot: np.ndarray | float, t_cold: float,
              t_hot: float) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(gain, offset) mapping raw readings of two references to their temperatures (kelvin);
    scalars or per-pixel maps, whatever the readings are."""
    rc, rh = np.asarray(raw_cold, dtype=np.float64), np.asarray(raw_hot, dtype=np.float64)
    if t_hot == t_cold:
        raise ValueError("the two reference temperatures must differ")
    span = rh - rc
    if np.any(np.abs(span) < 1e-9 * max(1.0, float(np.max(np.abs(rh))))):
        raise ValueError("the two recordings read the same: the sensor does not respond to the "
                         "references (or the same file was given twice)")
    gain = (t_hot - t_cold) / span
    offset = t_cold - gain * rc
    if gain.ndim == 0:
        return float(gain), float(offset)
    return gain, offset


def flat_field_offset(mean_frame: np.ndarray, gain: np.ndarray | float,
                      offset: np.ndarray | float) -> np.ndarray:
    """Per-pixel offset making ``gain * mean_frame + offset`` uniform (at its own mean), for a
    frame averaged over a uniform scene (lens cap, shutter, blackbody)."""
    f = np.asarray(mean_frame, dtype=np.float64)
    corrected = gain * f + offset
    return np.asarray(offset + (corrected.mean() - corrected), dtype=np.float64) + 0 * f


def mean_frame(frames: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Average of the frames (H, W) and the mean per-pixel temporal std (noise, raw units)."""
    stack = np.stack([np.asarray(f, dtype=np.float64).reshape(f.shape[0], f.shape[1])
                      for f in frames])
    if not np.all(np.isfinite(stack)):
        raise ValueError("thermal frames contain NaN or infinity")
    return stack.mean(axis=0), float(stack.std(axis=0).mean()) if len(stack) > 1 else 0.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ref-k", type=float, nargs=2, metavar=("COLD_K", "HOT_K"),
                   help="temperatures (kelvin) of the references seen in the two recordings, "
                        "in the order the recordings are given")
    p.add_argument("--per-pixel", action="store_true",
                   help="two-point: a gain and offset per pixel (stored as .npy sidecars)")
    p.add_argument("--flat-field", action="store_true",
                   help="one recording of a uniform scene: per-pixel offset (flat field)")


def run(args: argparse.Namespace, profile: Profile) -> Result:
    from edgebind.calibration.data import read_frames
    recs = args.recording or []
    read = [read_frames(r, args.stream, ("thermal",), show=args.progress) for r in recs]
    if args.flat_field:
        if len(recs) != 1:
            raise ValueError("thermal --flat-field takes one --recording of a uniform scene")
    elif len(recs) != 2 or args.ref_k is None:
        raise ValueError("thermal needs two --recording files (cold and hot reference) and "
                         "--ref-k COLD_K HOT_K, or one recording with --flat-field")
    stream = read[0].stream
    if any(r.stream != stream for r in read):
        raise ValueError(f"the recordings' thermal streams differ: {[r.stream for r in read]}")
    sec = profile.stream(stream)
    cal = sec.thermal or ThermalCalibration()
    res = Result("thermal", stream)
    means = [mean_frame(r.frames) for r in read]
    if args.flat_field:
        m, noise = means[0]
        before = float(np.std(cal.gain * m + cal.offset))
        cal = ThermalCalibration(cal.gain, flat_field_offset(m, cal.gain, cal.offset))
        after = float(np.std(cal.correct(m)))
        res.estimates.update({"non_uniformity_before_k": before, "non_uniformity_after_k": after,
                              "scene_mean_k": float(np.mean(cal.correct(m)))})
        res.checks.append(Check("residual non-uniformity", after, 0.1, unit="K"))
    else:
        (mc, nc), (mh, nh) = means
        tc, th = args.ref_k
        if args.per_pixel:
            gain, offset = two_point(mc, mh, tc, th)
        else:
            gain, offset = two_point(mc.mean(), mh.mean(), tc, th)
        cal = ThermalCalibration(gain, offset)
        err = [float(np.abs(cal.correct(m) - t).mean()) for m, t in ((mc, tc), (mh, th))]
        g = np.asarray(gain)
        netd = float(np.mean(np.abs(g)) * (nc + nh) / 2)
        res.estimates.update({
            "gain": float(g.mean()) if g.ndim else float(g),
            "offset": float(np.mean(offset)), "per_pixel": bool(args.per_pixel),
            "reference_error_k": err, "temporal_noise_k": netd,
            "non_uniformity_at_hot_k": float(np.std(cal.correct(mh)))})
        res.checks += [Check("mean error at the references", max(err), 0.5, unit="K"),
                       Check("temporal noise (NETD)", netd, 0.1, unit="K"),
                       Check("gain sign", float(np.min(g)), 0.0, ">=")]
        out = plot_path(args.plot_dir, f"thermal_{stream}.png")
        if out is not None and args.per_pixel:
            plt = pyplot()
            fig, axs = plt.subplots(1, 2, figsize=(9, 3.5))
            for ax, arr, title in ((axs[0], gain, "gain"), (axs[1], offset, "offset (K)")):
                im = ax.imshow(arr)
                ax.set_title(title)
                fig.colorbar(im, ax=ax)
            res.plots.append(save_figure(fig, out))
    sec.thermal = cal
    sec.sensor = read[0].info.device or sec.sensor
    return res
