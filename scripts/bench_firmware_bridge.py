#!/usr/bin/env python3
"""Benchmarks of edgebind.firmware_bridge; prints one JSON object.

- decoder: FrameDecoder throughput on one core (process pinned) for realistic traffic mixes,
  compared with the byte rate of a 3 Mbaud UART (8N1: 300 000 bytes/s) -> headroom factor.
- crc: CRC-32C throughput of each backend.
- latency: device sample timestamp -> delivery to the client callback, over a real pty with the
  virtual device (offset 0, drift 0, so device µs == host CLOCK_MONOTONIC µs and the truth is
  exact). Reported for every sample (includes waiting for the batch to fill) and for the last
  sample of each batch (transport + decode + delivery only).

usage: .venv/bin/python scripts/bench_firmware_bridge.py [--quick] [--no-latency]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from edgebind.firmware_bridge import (
    BridgeClient, FrameDecoder, ImuBatch, ThermalFragment, encode,
)
from edgebind.firmware_bridge.crc import crc_backend
from edgebind.firmware_bridge.protocol import THERMAL_MAX_PIXELS

UART_3M_BYTES_PER_S = 3_000_000 / 10


def _imu_frames(n_batches: int, batch: int, rng) -> list[bytes]:
    out = []
    for i in range(n_batches):
        raw = rng.normal(0, 40, (batch, 6)).astype(np.int16)
        raw[:, 2] += 2048  # gravity at +-16 g: many 0x00 low bytes, the COBS slow path
        out.append(encode(ImuBatch(i * 10_000, 0.0048, 0.00106, i * batch,
                                   np.arange(batch, dtype=np.uint32) * 1000, raw, seq=i & 0xFFFF)))
    return out


def _thermal_frames(n_frames: int, w: int, h: int, rng) -> list[bytes]:
    out = []
    npx = w * h
    for f in range(n_frames):
        px = rng.integers(29000, 31000, npx).astype(np.uint16)
        count = -(-npx // THERMAL_MAX_PIXELS)
        for k in range(count):
            sl = px[k * THERMAL_MAX_PIXELS:(k + 1) * THERMAL_MAX_PIXELS]
            out.append(encode(ThermalFragment(f, f, w, h, k, count, k * THERMAL_MAX_PIXELS, 0.01, 0.0, sl)))
    return out


def _interleave(*streams: list[bytes]) -> bytes:
    """Mixes frame lists proportionally, as a device would interleave them."""
    total = sum(len(s) for s in streams)
    pos = [0] * len(streams)
    out = []
    for i in range(total):
        k = max(range(len(streams)), key=lambda j: (len(streams[j]) - pos[j]) / max(1, len(streams[j])))
        out.append(streams[k][pos[k]])
        pos[k] += 1
    return b"".join(out)


def bench_decoder(stream: bytes, chunk: int, crc: str, min_time: float) -> dict:
    best = 0.0
    frames = 0
    t_end = time.perf_counter() + min_time
    reps = 0
    while reps < 3 or time.perf_counter() < t_end:
        dec = FrameDecoder(crc=crc)
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(stream), chunk):
            n += len(dec.feed(stream[i:i + chunk]))
        dt = time.perf_counter() - t0
        best = max(best, len(stream) / dt)
        frames = n
        reps += 1
        assert dec.stats.errors == 0
    return {"MB_per_s": round(best / 1e6, 2), "headroom_vs_3Mbaud": round(best / UART_3M_BYTES_PER_S, 1),
            "frames": frames, "bytes": len(stream), "avg_frame_bytes": round(len(stream) / max(frames, 1), 1),
            "chunk_bytes": chunk, "crc_backend": crc}


def bench_crc(min_time: float) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for size in (140, 1036):
        msgs = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(256)]
        for name in ("numpy", "python"):
            fn = crc_backend(name)
            t0 = time.perf_counter()
            reps = 0
            while reps < 2 or time.perf_counter() - t0 < min_time:
                fn(msgs if name == "numpy" else msgs[:32])
                reps += 1
            nbytes = size * (256 if name == "numpy" else 32) * reps
            out[f"{name}_{size}B_MB_per_s"] = round(nbytes / (time.perf_counter() - t0) / 1e6, 2)
    return out


def bench_latency(seconds: float, imu_batch: int) -> dict:
    from edgebind.firmware_bridge.virtual_device import VirtualDevice, VirtualDeviceOptions

    opt = VirtualDeviceOptions(offset_us=0.0, drift_ppm=0.0, imu_rate=1000, imu_batch=imu_batch,
                               thermal="mlx90640", thermal_rate=8)
    all_lat, last_lat = [], []

    def on_imu(s) -> None:
        now = time.monotonic_ns()
        lat = now - s.device_us * 1000  # device µs == host monotonic µs in this clock model
        all_lat.append(lat)
        last_lat.append(lat[-1:])

    with VirtualDevice(opt) as dev:
        with BridgeClient(dev.path, on_imu=on_imu) as client:
            client.wait_connected(5)
            time.sleep(0.5)
            all_lat.clear()
            last_lat.clear()
            time.sleep(seconds)
            health = client.health
    a = np.concatenate(all_lat) / 1e6
    b = np.concatenate(last_lat) / 1e6
    return {
        "imu_rate_hz": 1000, "imu_batch": imu_batch, "samples": int(a.size),
        "all_samples_ms": {"p50": round(float(np.median(a)), 3), "p99": round(float(np.percentile(a, 99)), 3)},
        "last_in_batch_ms": {"p50": round(float(np.median(b)), 3), "p99": round(float(np.percentile(b, 99)), 3)},
        "frames_missed": health.frames_missed,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    ap.add_argument("--no-latency", action="store_true", help="skip the pty latency part (no C build)")
    args = ap.parse_args()
    min_time = 0.3 if args.quick else 1.0

    cpu = None
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})
    rng = np.random.default_rng(1)
    imu = _imu_frames(2000, 10, rng)
    mixes = {
        "imu_1kHz_batch10": b"".join(imu),
        "imu+mlx90640_8Hz": _interleave(imu, _thermal_frames(16, 32, 24, rng)),
        "imu+lepton_8.7Hz": _interleave(imu, _thermal_frames(17, 160, 120, rng)),
    }
    decoder = {}
    for name, stream in mixes.items():
        decoder[name] = {f"chunk_{c}": bench_decoder(stream, c, "numpy", min_time) for c in (512, 4096)}
    decoder["imu_1kHz_batch10"]["chunk_4096_python_crc"] = bench_decoder(mixes["imu_1kHz_batch10"][:200_000], 4096, "python", 0.0)
    crc = bench_crc(min_time)
    if cpu is not None:
        os.sched_setaffinity(0, saved)

    result = {
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
        "pinned_cpu": cpu, "uart_3Mbaud_bytes_per_s": UART_3M_BYTES_PER_S,
        "decoder": decoder, "crc32c": crc,
    }
    if not args.no_latency:
        secs = 2.0 if args.quick else 4.0
        result["latency"] = [bench_latency(secs, 1), bench_latency(secs, 10)]
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
