"""Measuring a bundle (``edgebind bench``): latency, throughput, peak memory and accuracy of its
encoders.

Every figure belongs to the CPU it was measured on: the report starts with its model, instruction
set and INT8 target (``edgebind.runtime.cpu``), and marks INT8 variants made for another target.

Every (modality, precision) runs in its own worker process (``edgebind.tools.bench_worker``), so
peak memory is that encoder's alone and backends never compete for the cores. ``compare_torch``
times the eager torch tower the same way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def tower_gflops(modality: str, config: dict, clips: int = 3) -> float:
    """Approximate GFLOPs (2 x MACs) of one sample through a tower with ImageBind's token counts
    (audio: per sample of ``clips`` clips)."""
    d = int(config.get(f"{modality}_embed_dim", 0))
    blocks = int(config.get(f"{modality}_num_blocks", 0))
    tokens = {"vision": 257, "text": 77, "audio": 229, "depth": 197, "thermal": 197, "imu": 251}[modality]
    keys = tokens + (modality in ("audio", "depth", "thermal", "imu"))
    per_block = 24 * tokens * d * d + 4 * tokens * keys * d
    stem_in = {"vision": 3 * 2 * 14 * 14, "text": 0, "audio": 256, "depth": 256, "thermal": 256,
               "imu": 48}[modality]
    total = blocks * per_block + 2 * (tokens - 1) * stem_in * d
    total += 2 * d * int(config.get("out_embed_dim", 0))
    return total * (clips if modality == "audio" else 1) / 1e9


def measure_bundle(bundle: Path, *, backend: str = "auto", modalities: Sequence[str] | None = None,
                   precisions: Sequence[str] | None = None, batches: Sequence[int] = (1, 8),
                   threads: int | None = None, seconds: float = 3.0, compare_torch: bool = False,
                   gemm: bool = False, show: bool = True) -> dict[str, Any]:
    """The bench report of ``bundle``; ``show`` prints the CPU and each row as it is measured."""
    from edgebind.runtime.cpu import detect
    from edgebind.runtime.manifest import Manifest

    manifest = Manifest.read(bundle / "manifest.json")
    cpu = detect()
    report = {"bundle": str(bundle), "space_id": manifest.space_id, "threads": threads,
              "cpu_count": os.cpu_count(), "cpu": cpu.to_dict(), "results": []}
    if show:
        print(f"cpu: {cpu.describe()}, {os.cpu_count()} cores")
    if gemm:
        report["ort_fp32_gemm"] = _spawn_gemm(threads)
    spec = {"bundle": str(bundle), "backend": backend, "threads": threads,
            "batches": list(batches), "seconds": seconds}
    with tempfile.TemporaryDirectory(prefix="edgebind-bench-") as tmp:
        for m in modalities or list(manifest.encoders):
            if m not in manifest.encoders:
                raise ValueError(f"the bundle has no {m!r} encoder; it has "
                                 f"{', '.join(manifest.encoders)}")
            wanted = [p for p in manifest.encoders[m].variants if p != "torch"
                      and (precisions is None or p in precisions)]
            if compare_torch:
                wanted.append("torch-eager")
            rows = _measure_modality(manifest, m, wanted, spec, Path(tmp), cpu, show)
            _ratios(rows, report)
            report["results"].extend(rows)
    return report


def _measure_modality(manifest: Any, m: str, precisions: list[str], common: dict[str, Any],
                      tmp: Path, cpu: Any, show: bool) -> list[dict[str, Any]]:
    """One row per precision of tower ``m``, each with its accuracy against FP32."""
    from edgebind.runtime.accuracy import compare
    embs, rows = {}, []
    for p in precisions:
        # A tower with a dynamic clip axis gets one clip: what the pipeline sends it for windows
        # no longer than a clip.
        clips = 1 if isinstance(manifest.encoders[m].input.shape[1], str) else None
        spec = {**common, "modality": m, "precision": p,
                "emb_out": str(tmp / f"{m}.{p}.npy"), "clips": clips}
        row = _spawn(spec)
        v = manifest.encoders[m].variants.get(p)
        if v is not None and v.targets:
            row["targets"] = list(v.targets)
            row["for_this_cpu"] = cpu.target in v.targets
        if "error" not in row:
            embs[p] = np.load(spec["emb_out"])
            row["gflops_per_sample"] = round(tower_gflops(m, manifest.model.get("config", {}),
                                                          clips or 3), 3)
        rows.append(row)
        if show:
            _print_row(row)
    ref = embs.get("fp32", embs.get("torch-eager"))
    for row in rows:
        if ref is not None and row["precision"] in embs:
            acc = compare(ref, embs[row["precision"]])
            row["vs_fp32"] = {k: acc[k] for k in ("cosine_mean", "centred_cosine_mean",
                                                  "centred_cosine_min", "nn_agreement")}
    return rows


def print_summary(report: dict[str, Any]) -> None:
    """Accuracy against FP32, the speed ratios and the GEMM roofline, after the rows."""
    for r in report["results"]:
        if "vs_fp32" in r:
            print(f"  {r['modality']:8s} {r['precision']:11s} centred cosine to FP32 "
                  f"{r['vs_fp32']['centred_cosine_mean']:.5f}  "
                  f"NN agreement {r['vs_fp32']['nn_agreement']:.3f}")
    for k, v in report.get("speedups", {}).items():
        print(f"  {k}: {v:.2f}x")
    if "ort_fp32_gemm" in report:
        print(f"  ONNX Runtime FP32 GEMM: {report['ort_fp32_gemm']}")


def _spawn(spec: dict) -> dict:
    r = subprocess.run([sys.executable, "-m", "edgebind.tools.bench_worker", "--worker",
                        json.dumps(spec)], capture_output=True, text=True)
    if r.returncode != 0:
        return {"modality": spec["modality"], "precision": spec["precision"],
                "error": (r.stderr.strip().splitlines() or ["worker failed"])[-1][:300]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _spawn_gemm(threads):
    code = ("import json,sys; from edgebind.tools.bench_worker import gemm_rate; "
            f"print(json.dumps(gemm_rate({threads!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-300:]}


def _ratios(rows: list[dict], report: dict) -> None:
    """Throughput ratios at the largest batch: ORT FP32 / torch eager, INT8 / FP32, FP16 / FP32."""
    by = {r["precision"]: r for r in rows if "batches" in r and r.get("for_this_cpu", True)}
    for r in rows:   # the INT8 variant made for this CPU stands for "int8" in the ratios
        if "batches" in r and r.get("for_this_cpu") and r["precision"].startswith("int8"):
            by["int8"] = r
    if not by:
        return
    m = rows[0]["modality"]
    big = str(max(int(b) for b in next(iter(by.values()))["batches"]))
    tp = {p: r["batches"][big]["throughput_per_s"] for p, r in by.items()}
    sp = report.setdefault("speedups", {})
    if "fp32" in tp and "torch-eager" in tp:
        sp[f"{m} fp32/torch (batch {big})"] = tp["fp32"] / tp["torch-eager"]
    if "int8" in tp and "torch-eager" in tp:
        sp[f"{m} int8/torch (batch {big})"] = tp["int8"] / tp["torch-eager"]
    for p in ("int8", "fp16"):
        if p in tp and "fp32" in tp:
            sp[f"{m} {p}/fp32 (batch {big})"] = tp[p] / tp["fp32"]
    gemm = report.get("ort_fp32_gemm", {}).get("gflops_per_s")
    if gemm and "fp32" in by:
        gf = by["fp32"].get("gflops_per_sample", 0) * tp["fp32"]
        by["fp32"]["achieved_gflops_per_s"] = round(gf, 1)
        sp[f"{m} fp32 share of ORT GEMM rate"] = gf / gemm


def _print_row(row: dict) -> None:
    if "error" in row:
        print(f"{row['modality']:8s} {row['precision']:11s} ERROR {row['error']}")
        return
    for b, t in row["batches"].items():
        print(f"{row['modality']:8s} {row['precision']:11s} {row['backend']:12s} batch {b:>3s}: "
              f"p50 {t['p50_ms']:8.2f} ms  p99 {t['p99_ms']:8.2f} ms  {t['throughput_per_s']:8.1f}/s  "
              f"peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)
