"""IMU calibration: gyro bias and gravity alignment from a still recording, accelerometer scale
and bias from six positions (each axis up and down), and Allan variance noise parameters.

Model (as in edgebind.profile.ImuCalibration): ``measured = scale @ true + bias``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgebind.profile import ImuCalibration, Profile

from edgebind.calibration.report import Check, Result, plot_path, pyplot, save_figure

G = 9.80665
HELP = "IMU: gyro/accel bias, six-position accel scale, gravity alignment, Allan variance"
AXES = ("ax", "ay", "az", "gx", "gy", "gz")


# -- pure math ---------------------------------------------------------------------------------

def still_segments(rows: np.ndarray, rate_hz: float, window_s: float = 0.5,
                   min_s: float = 2.0, factor: float = 4.0) -> list[tuple[int, int]]:
    """Row ranges [i0, i1) where the IMU is at rest: windows whose accel and gyro spread stay
    within ``factor`` times the quietest windows' spread, merged, at least ``min_s`` long."""
    n = max(2, int(round(window_s * rate_hz)))
    k = len(rows) // n
    if k < 1:
        return []
    w = rows[:k * n].reshape(k, n, 6)
    spread = np.linalg.norm(w[:, :, :3].std(axis=1), axis=1)
    gspread = np.linalg.norm(w[:, :, 3:].std(axis=1), axis=1)
    gmean = np.linalg.norm(w[:, :, 3:].mean(axis=1) - np.median(w[:, :, 3:].mean(axis=1), axis=0),
                           axis=1)
    # Quiet reference: the 20th percentile window (some of the recording must be still).
    ref_a = max(np.percentile(spread, 20), 1e-6)
    ref_g = max(np.percentile(gspread, 20), 1e-7)
    still = (spread <= factor * ref_a) & (gspread <= factor * ref_g) & (gmean <= 10 * factor * ref_g)
    segs: list[tuple[int, int]] = []
    i = 0
    while i < k:
        if still[i]:
            j = i
            while j < k and still[j]:
                j += 1
            # Drop the edge windows: the device may still be settling there.
            a, b = (i + 1, j - 1) if j - i > 2 else (i, j)
            if (b - a) * n >= min_s * rate_hz:
                segs.append((a * n, b * n))
            i = j
        else:
            i += 1
    return segs


def gravity_alignment(accel_mean: np.ndarray) -> np.ndarray:
    """The smallest rotation R with ``R @ accel_mean`` along +z (a level robot at rest reads
    +g on z). Yaw is unobservable from gravity and left unchanged."""
    a = np.asarray(accel_mean, dtype=np.float64)
    norm = np.linalg.norm(a)
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("cannot align to gravity: mean acceleration is zero (free fall?)")
    u = a / norm
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(u, z)
    s, c = np.linalg.norm(v), float(u @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1 - c) / s**2)


@dataclass
class SixPositionFit:
    scale: np.ndarray        # (3, 3): measured = scale @ true + bias
    bias: np.ndarray         # (3,)
    residual_rms: float      # m/s², fit residual over the positions
    orientations: list[str]  # e.g. ["+x", "-x", ...] in input order


def six_position(means: np.ndarray, g: float = G) -> SixPositionFit:
    """Least-squares accelerometer scale (3×3, misalignment included) and bias from the mean
    readings of still positions, each with one axis along gravity (up or down)."""
    means = np.asarray(means, dtype=np.float64).reshape(-1, 3)
    truth, names = [], []
    for m in means:
        i = int(np.argmax(np.abs(m)))
        sign = 1.0 if m[i] > 0 else -1.0
        t = np.zeros(3)
        t[i] = sign * g
        truth.append(t)
        names.append(("+" if sign > 0 else "-") + "xyz"[i])
    missing = sorted({s + a for s in "+-" for a in "xyz"} - set(names))
    if missing:
        raise ValueError(f"six-position calibration needs each axis up and down; found "
                         f"{sorted(set(names))}, missing {missing}")
    X = np.hstack([np.array(truth), np.ones((len(truth), 1))])
    coef, *_ = np.linalg.lstsq(X, means, rcond=None)
    scale, bias = coef[:3].T, coef[3]
    resid = means - X @ coef
    return SixPositionFit(scale, bias, float(np.sqrt(np.mean(resid**2))), names)


def allan_deviation(x: np.ndarray, rate_hz: float, n_taus: int = 50,
                    max_fraction: float = 1 / 9) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Allan deviation of a rate signal ``x`` (N,) or (N, C) sampled at ``rate_hz``.
    Returns (taus (T,), adev (T,) or (T, C)); taus up to ``max_fraction`` of the length."""
    x = np.asarray(x, dtype=np.float64)
    x2 = x.reshape(len(x), -1)
    n = len(x2)
    m_max = int(n * max_fraction)
    if m_max < 2:
        raise ValueError(f"Allan variance needs a longer recording ({n} samples)")
    ms = np.unique(np.round(np.logspace(0, np.log10(m_max), n_taus)).astype(int))
    theta = np.vstack([np.zeros((1, x2.shape[1])), np.cumsum(x2 - x2.mean(0), axis=0)]) / rate_hz
    taus = ms / rate_hz
    adev = np.empty((len(ms), x2.shape[1]))
    for k, m in enumerate(ms):
        d = theta[2 * m:] - 2 * theta[m:-m] + theta[:-2 * m]
        adev[k] = np.sqrt(np.mean(d**2, axis=0) / (2 * taus[k] ** 2))
    return taus, adev.reshape(len(ms), *x.shape[1:])


def allan_parameters(taus: np.ndarray, adev: np.ndarray) -> dict[str, float | None]:
    """Noise density N (value of the slope -1/2 line at tau = 1 s), bias instability
    (minimum / 0.664), rate random walk K (slope +1/2 line at tau = 3 s; None if the curve
    never turns up within the recording)."""
    lt, la = np.log10(taus), np.log10(np.maximum(adev, 1e-300))
    slope = np.gradient(la, lt) if len(lt) > 2 else np.full_like(lt, -0.5)
    white = np.abs(slope + 0.5) < 0.15
    n_density = (float(np.median(adev[white] * np.sqrt(taus[white]))) if white.any()
                 else float(adev[0] * np.sqrt(taus[0])))
    i_min = int(np.argmin(adev))
    bias_inst = float(adev[i_min] / np.sqrt(2 * np.log(2) / np.pi))
    walk = (slope - 0.5 > -0.15) & (np.arange(len(taus)) > i_min)
    k_walk = float(np.median(adev[walk] / np.sqrt(taus[walk] / 3))) if walk.any() else None
    return {"noise_density": n_density, "bias_instability": bias_inst, "random_walk": k_walk,
            "bias_instability_tau_s": float(taus[i_min]),
            # Minimum at the longest tau: the curve is still falling, the true floor is lower.
            "bias_instability_upper_bound": bool(i_min == len(taus) - 1)}


# -- the command -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=("auto", "still", "six"), default="auto",
                   help="still: the whole recording at rest (gyro bias, gravity alignment, "
                        "Allan variance); six: six still positions, each axis up then down "
                        "(accelerometer scale and bias); auto: six if six orientations are found")
    p.add_argument("--gravity", type=float, default=G, help="local gravity in m/s² (default %(default)s)")
    p.add_argument("--no-allan", action="store_true", help="skip the Allan variance")


def run(args: argparse.Namespace, profile: Profile) -> Result:
    from edgebind.calibration.data import read_imu
    rec = _one_recording(args)
    s = read_imu(rec, args.stream, show=args.progress)
    rate = s.rate_hz
    res = Result("imu", s.stream)
    sec = profile.stream(s.stream)
    cal = sec.imu or ImuCalibration()
    segs = still_segments(s.rows, rate)
    still_rows = sum(b - a for a, b in segs)
    means = np.array([s.rows[a:b, :3].mean(0) for a, b in segs]).reshape(-1, 3)
    mode = args.mode
    if mode == "auto":
        mode = "six" if len(_orientations(means)) == 6 else "still"
    res.estimates.update({"mode": mode, "rate_hz": rate, "duration_s": len(s.rows) / rate,
                          "still_segments": len(segs), "still_fraction": still_rows / len(s.rows)})
    if mode == "six":
        means = _merge_by_orientation(s.rows, segs)
        fit = six_position(means, args.gravity)
        cal.accel_scale, cal.accel_bias = fit.scale, fit.bias
        still = np.concatenate([s.rows[a:b] for a, b in segs])
        cal.gyro_bias = still[:, 3:].mean(0)
        res.estimates.update({"accel_bias": fit.bias, "accel_scale_factors": np.diag(fit.scale),
                              "accel_scale": fit.scale, "gyro_bias": cal.gyro_bias,
                              "fit_residual_rms": fit.residual_rms})
        res.checks += [
            Check("six-position fit residual", fit.residual_rms, 0.05, unit="m/s²"),
            Check("accel bias |b|", float(np.linalg.norm(fit.bias)), 0.5, unit="m/s²"),
            Check("accel scale error max |s-1|", float(np.max(np.abs(np.diag(fit.scale) - 1))), 0.05),
        ]
    else:
        rows = s.rows
        if not segs:
            res.notes.append("no still stretch detected; using the whole recording")
        gyro_bias = rows[:, 3:].mean(0)
        # Gravity as seen after the accelerometer calibration already in the profile.
        acc = np.linalg.solve(cal.accel_scale, (rows[:, :3] - cal.accel_bias).T).T.mean(0)
        cal.gyro_bias = gyro_bias
        cal.rotation = gravity_alignment(acc)
        tilt = float(np.degrees(np.arccos(np.clip(acc[2] / np.linalg.norm(acc), -1, 1))))
        res.estimates.update({"gyro_bias": gyro_bias, "gravity_vector": acc,
                              "tilt_deg": tilt, "rotation": cal.rotation})
        res.checks += [
            Check("still fraction", still_rows / len(rows), 0.9, ">="),
            Check("gyro bias |b|", float(np.linalg.norm(gyro_bias)), 0.05, unit="rad/s"),
            Check("gravity magnitude error", abs(float(np.linalg.norm(acc)) - args.gravity), 0.3,
                  unit="m/s²"),
            Check("still duration", len(rows) / rate, 60.0, ">=", "s"),
        ]
        if not args.no_allan:
            _allan(rows, rate, cal, res, args.plot_dir, s.stream)
    sec.imu = cal
    sec.sensor = s.info.device or sec.sensor
    return res


def _allan(rows: np.ndarray, rate: float, cal: ImuCalibration, res: Result,
           plot_dir: Path | None, stream: str) -> None:
    try:
        taus, adev = allan_deviation(rows, rate)
    except ValueError as exc:
        res.notes.append(f"Allan variance skipped: {exc}")
        return
    params = {AXES[c]: allan_parameters(taus, adev[:, c]) for c in range(6)}
    for kind, cols in (("accel", range(3)), ("gyro", range(3, 6))):
        for p in ("noise_density", "bias_instability", "random_walk"):
            vals = [params[AXES[c]][p] for c in cols if params[AXES[c]][p] is not None]
            if vals:
                cal.noise[f"{kind}_{p}"] = float(np.mean(vals))
    res.estimates["noise"] = dict(cal.noise)
    res.estimates["allan"] = params
    res.checks += [
        Check("gyro noise density", cal.noise.get("gyro_noise_density", np.nan), 1e-3,
              unit="rad/s/√Hz"),
        Check("accel noise density", cal.noise.get("accel_noise_density", np.nan), 1e-2,
              unit="m/s²/√Hz"),
    ]
    if any(p["bias_instability_upper_bound"] for p in params.values()):
        res.notes.append("the Allan curve is still falling at the longest tau: bias instability "
                         "is an upper bound")
    if len(rows) / rate < 600:
        res.notes.append("Allan variance from under 10 minutes: bias instability and random "
                         "walk are rough; record an hour at rest for good values")
    out = plot_path(plot_dir, f"imu_allan_{stream}.png")
    if out is not None:
        plt = pyplot()
        fig, axs = plt.subplots(1, 2, figsize=(10, 4))
        for c in range(6):
            ax = axs[c // 3]
            ax.loglog(taus, adev[:, c], label=AXES[c])
        for ax, title, unit in ((axs[0], "accelerometer", "m/s²"), (axs[1], "gyroscope", "rad/s")):
            ax.set_title(f"Allan deviation: {title}")
            ax.set_xlabel("tau (s)")
            ax.set_ylabel(f"deviation ({unit})")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        res.plots.append(save_figure(fig, out))


def _orientations(means: np.ndarray) -> set[str]:
    out = set()
    for m in means:
        i = int(np.argmax(np.abs(m)))
        if abs(m[i]) > 0.7 * np.linalg.norm(m):  # clearly one axis along gravity
            out.add(("+" if m[i] > 0 else "-") + "xyz"[i])
    return out


def _merge_by_orientation(rows: np.ndarray, segs: list[tuple[int, int]]) -> np.ndarray:
    groups: dict[str, list[np.ndarray]] = {}
    for a, b in segs:
        m = rows[a:b, :3].mean(0)
        i = int(np.argmax(np.abs(m)))
        groups.setdefault(("+" if m[i] > 0 else "-") + "xyz"[i], []).append(rows[a:b, :3])
    return np.array([np.concatenate(v).mean(0) for v in groups.values()])


def _one_recording(args: argparse.Namespace) -> Path:
    recs = args.recording or []
    if len(recs) != 1:
        raise ValueError(f"calibrate {args.calibrate_command} takes one --recording FILE.mcap "
                         f"(got {len(recs)})")
    return Path(recs[0])
