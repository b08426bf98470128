#!/usr/bin/env python3
"""Throughput of edgebind.preprocess on this CPU; prints one JSON object.

Usage: python scripts/bench_preprocess.py [--seconds-per-case 1.0]
Speed is measured here, never asserted by tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from typing import Callable

import numpy as np

import edgebind.preprocess as P


def rate(fn: Callable[[], object], budget_s: float) -> float:
    """Calls per second of ``fn`` over about ``budget_s`` seconds (after one warm-up call)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= budget_s:
            return n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds-per-case", type=float, default=1.0)
    budget = ap.parse_args().seconds_per_case
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore", P.AudioLengthWarning)

    rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    a16 = (0.1 * rng.standard_normal(160000)).astype(np.float32)
    a441 = (0.1 * rng.standard_normal(441000)).astype(np.float32)
    texts = [f"a photo of a {w} in the {p}" for w in ("dog", "robot arm", "glass breaking")
             for p in ("kitchen", "warehouse", "street at night")]
    dep = rng.uniform(0.3, 8.0, (480, 640)).astype(np.float32)
    thr = rng.uniform(280.0, 310.0, (480, 640)).astype(np.float32)
    t_ns = np.arange(0, 6 * 10**9, 5 * 10**6, dtype=np.int64)  # 200 Hz, 6 s
    rows = rng.standard_normal((t_ns.size, 6)).astype(np.float32)

    win16 = P.AudioWindow(10.0)
    win16.push(a16, 16000)
    win5 = P.AudioWindow(5.0)
    win5.push(a16[:80000], 16000)
    win441 = P.AudioWindow(10.0)
    win441.push(a441, 44100)
    hop16 = a16[:1600]  # a 100 ms hop, then features

    def stream16() -> None:
        win16.push(hop16, 16000)
        win16.features()

    def tok() -> None:
        P.tokenize(texts)

    def tok_uncached() -> None:
        P.tokenize([f"{t} number {rng.integers(1 << 30)}xq{rng.integers(1 << 30)}" for t in texts])

    out = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "numpy": np.__version__},
        "images_per_s_640x480": rate(lambda: P.image(rgb), budget),
        "audio_seconds_per_s_10s_16k": 10 * rate(lambda: P.audio(a16, 16000), budget),
        "audio_seconds_per_s_10s_44k1": 10 * rate(lambda: P.audio(a441, 44100), budget),
        "audio_stream_features_per_s_10s_16k_100ms_hop": rate(stream16, budget),
        "audio_stream_features_per_s_5s_16k": rate(win5.features, budget),
        "audio_stream_features_per_s_10s_44k1": rate(win441.features, budget),
        "tokenize_strings_per_s_cached": len(texts) * rate(tok, budget),
        "tokenize_strings_per_s_fresh_words": len(texts) * rate(tok_uncached, budget),
        "depth_per_s_640x480": rate(lambda: P.depth(dep), budget),
        "thermal_per_s_640x480": rate(lambda: P.thermal(thr), budget),
        "imu_windows_per_s_200hz": rate(lambda: P.imu(rows, t_ns), budget),
    }
    print(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in out.items()},
                     indent=1))


if __name__ == "__main__":
    main()
