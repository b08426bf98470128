"""Benchmark edgebind.sim and check how separable its events are with simple features.

Prints one JSON object:
- clips_per_s / ms_per_clip: sample_clip throughput (one process, CPU time and wall time);
- world_realtime_factor: simulated seconds per wall second for World("default") with all streams;
- separability (with --separability): per modality, the held-out top-1 accuracy of a softmax
  regression on hand-made numpy features (chance = 1/8). It is a cheap proxy: learned towers
  see far more, so "well above chance, below 100 %" is what we want from it.

    python scripts/bench_sim.py [--clips 64] [--world-s 10] [--separability 60] [--difficulty 1]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from edgebind.sim import EVENTS, World, sample_clip


def _band_energies(x: np.ndarray, rate: float, n_fft: int, bands: np.ndarray) -> np.ndarray:
    """Framewise log energies in frequency bands: (frames, len(bands) - 1)."""
    hop = n_fft // 2
    m = (len(x) - n_fft) // hop + 1
    idx = np.arange(n_fft)[None, :] + hop * np.arange(m)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2
    f = np.fft.rfftfreq(n_fft, 1.0 / rate)
    out = np.stack([spec[:, (f >= lo) & (f < hi)].sum(1) for lo, hi in zip(bands[:-1], bands[1:])], 1)
    return np.log(out + 1e-10)


def features(c, modality: str) -> np.ndarray:
    if modality == "vision":
        img = c.vision.astype(np.float32) / 255.0
        small = img.reshape(8, 28, 8, 28, 3).mean((1, 3))
        hist = [np.histogram(img[..., k], 8, (0, 1))[0] / img[..., k].size for k in range(3)]
        return np.concatenate([small.ravel(), *hist])
    if modality == "depth":
        d = c.depth
        small = d.reshape(8, 28, 8, 28).mean((1, 3))
        inval = (d == 0).reshape(8, 28, 8, 28).mean((1, 3))
        hist = np.histogram(d[d > 0], 16, (0, 8))[0] / d.size
        return np.concatenate([small.ravel(), inval.ravel(), hist])
    if modality == "thermal":
        t = c.thermal
        small = t.reshape(6, 20, 8, 20).mean((1, 3)) - np.median(t)
        hist = np.histogram(t - np.median(t), 20, (-10, 50))[0] / t.size
        return np.concatenate([small.ravel(), hist, [t.max() - np.median(t)]])
    if modality == "audio":
        e = _band_energies(c.audio, 16000, 512, np.geomspace(40, 8000, 25))
        return np.concatenate([e.mean(0), e.std(0), e.max(0) - e.mean(0)])
    if modality == "imu":
        x = c.imu - c.imu.mean(0)
        parts = [x.std(0), np.abs(x).max(0)]
        for k in (2, 0, 3):
            e = _band_energies(x[:, k], 400, 64, np.array([1, 5, 10, 20, 30, 45, 60, 80, 120, 200.0]))
            parts += [e.mean(0), e.std(0)]
        return np.concatenate(parts)
    raise ValueError(modality)


def softmax_regression(xtr, ytr, xte, yte, classes: int, steps: int = 600, lam: float = 1e-3) -> float:
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    w = np.zeros((xtr.shape[1], classes))
    b = np.zeros(classes)
    onehot = np.eye(classes)[ytr]
    lr = 0.5
    for _ in range(steps):
        z = xtr @ w + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(xtr)
        w -= lr * (xtr.T @ g + lam * w)
        b -= lr * g.sum(0)
    return float(np.mean(np.argmax(xte @ w + b, 1) == yte))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=64, help="clips to time (default 64)")
    ap.add_argument("--world-s", type=float, default=10.0, help="simulated seconds of World to time")
    ap.add_argument("--separability", type=int, default=0,
                    help="clips per event for the separability check (0 = skip; 60 is a good value)")
    ap.add_argument("--difficulty", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    sample_clip(rng, difficulty=args.difficulty)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.clips):
        sample_clip(rng, difficulty=args.difficulty)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"clips": args.clips, "clips_per_s": round(args.clips / wall, 1),
           "ms_per_clip_wall": round(1000 * wall / args.clips, 2),
           "ms_per_clip_cpu": round(1000 * cpu / args.clips, 2), "difficulty": args.difficulty}
    t0 = time.perf_counter()
    n = sum(1 for _ in World("default", seed=args.seed, duration_s=args.world_s).samples())
    wall = time.perf_counter() - t0
    out.update(world_s=args.world_s, world_samples=n, world_realtime_factor=round(args.world_s / wall, 2))
    if args.separability:
        mods = ("vision", "depth", "thermal", "audio", "imu")
        feats: dict[str, list] = {m: [] for m in mods}
        labels = []
        for i in range(args.separability):
            for k, e in enumerate(EVENTS):
                c = sample_clip(rng, e, difficulty=args.difficulty)
                labels.append(k)
                for m in mods:
                    feats[m].append(features(c, m))
        y = np.array(labels)
        n_tr = int(0.7 * len(y))
        sep = {}
        for m in mods:
            x = np.array(feats[m], dtype=np.float64)
            sep[m] = round(softmax_regression(x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:], len(EVENTS)), 3)
        out["separability_top1"] = sep
        out["separability_clips"] = int(len(y))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
