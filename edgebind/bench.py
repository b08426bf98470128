"""``edgebind bench``: latency, throughput, peak memory and accuracy of a bundle's encoders.

Every figure belongs to the CPU it was measured on: the report starts with its model, instruction
set and INT8 target (``edgebind.runtime.cpu``), and marks INT8 variants made for another target.

Every (modality, precision) runs in its own worker process, so peak memory is that encoder's
alone and backends never compete for the cores (torch and ONNX Runtime fight over threads when
they share a process). ``--compare-torch`` times the eager torch tower the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HELD_OUT = 24  # inputs embedded by every variant, compared against FP32


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", type=Path, required=True, help="bundle directory to measure")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "tensorrt", "torch"],
                   help="backend for the bundle's variants (default: best available)")
    p.add_argument("--modalities", default=None, help="comma-separated subset (default: all in the bundle)")
    p.add_argument("--precision", default=None, help="comma-separated subset (default: all runnable)")
    p.add_argument("--batch", default="1,8", help="batch sizes to time (default 1,8)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seconds", type=float, default=3.0, help="timing budget per batch size (default 3)")
    p.add_argument("--compare-torch", action="store_true",
                   help="also time the eager torch tower in a separate process on the same inputs")
    p.add_argument("--gemm", action="store_true",
                   help="also measure ONNX Runtime's FP32 GEMM rate (2048^3 MatMul) as a roofline")
    p.add_argument("--json", action="store_true", help="print one JSON document")


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


def _time(fn, x: np.ndarray, seconds: float) -> dict:
    for _ in range(2):
        fn(x)
    lat = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(lat) < 5:
        t0 = time.perf_counter()
        fn(x)
        lat.append(time.perf_counter() - t0)
    a = np.array(lat) * 1000
    return {"iterations": len(lat), "p50_ms": float(np.percentile(a, 50)),
            "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)),
            "throughput_per_s": float(len(x) * len(a) / (a.sum() / 1000))}


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec: dict) -> dict:
    """Runs in a fresh process: load one encoder, embed the held-out set, time each batch size."""
    from edgebind.runtime.sample_inputs import example_input
    m, precision = spec["modality"], spec["precision"]
    rss0 = _peak_rss_mb()
    if precision == "torch-eager":
        import torch
        if spec["threads"]:
            torch.set_num_threads(spec["threads"])
        model = _torch_model(spec, m)

        def fn(x):
            with torch.inference_mode():
                return model({m: torch.from_numpy(x)})[m].numpy()
        backend = "torch"
    else:
        from edgebind.runtime import load_bundle
        # Exactly this variant, checked on its golden set; a failed check is an error here.
        enc = load_bundle(spec["bundle"], backend=spec["backend"], precision=precision,
                          modalities=[m], threads=spec["threads"], warmup=True,
                          fallback=False).encoders[m]
        fn, backend = enc.embed, enc.backend
    clips = spec.get("clips")   # audio: the clip count the pipeline sends this bundle

    def sample(n: int, seed: int) -> np.ndarray:
        x = example_input(m, n, seed=seed)
        return np.ascontiguousarray(x[:, :clips]) if clips else x
    held = sample(HELD_OUT, 777)
    emb = np.concatenate([fn(held[i:i + 8]) for i in range(0, HELD_OUT, 8)])
    np.save(spec["emb_out"], emb)
    result = {"modality": m, "precision": precision, "backend": backend, "batches": {}}
    if clips:
        result["clips"] = clips
    for b in spec["batches"]:
        result["batches"][str(b)] = _time(fn, sample(b, 5), spec["seconds"])
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["rss_before_load_mb"] = round(rss0, 1)
    return result


def _torch_model(spec: dict, m: str):
    """The eager tower with the bundle's weights: its torch variant, or the same preset and seed."""
    from edgebind import models
    from edgebind.runtime.manifest import Manifest
    manifest = Manifest.read(Path(spec["bundle"]) / "manifest.json")
    variants = manifest.encoders[m].variants
    if "torch" in variants:
        return models.load_checkpoint(str(Path(spec["bundle"]) / variants["torch"].file.file),
                                      config=manifest.model["config"], modalities=[m])
    source = str(manifest.model.get("source", ""))
    if source.startswith("random-init:seed="):
        import torch
        from edgebind.export.source import space_id_of
        torch.manual_seed(int(source.split("=", 1)[1]))
        model = models.build(manifest.model["config"])
        if space_id_of(model.state_dict()) != manifest.space_id:
            raise RuntimeError("rebuilding the preset did not reproduce the bundle's weights")
        return model
    raise RuntimeError(f"--compare-torch needs the tower's weights: export with --precision "
                       f"...,torch (the bundle has {', '.join(variants)})")


def _spawn(spec: dict) -> dict:
    r = subprocess.run([sys.executable, "-m", "edgebind.bench", "--worker", json.dumps(spec)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return {"modality": spec["modality"], "precision": spec["precision"],
                "error": (r.stderr.strip().splitlines() or ["worker failed"])[-1][:300]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def gemm_rate(threads: int | None) -> dict:
    """ONNX Runtime's FP32 MatMul rate on this machine (the roofline the towers are held to)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper
    n = 2048
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    from edgebind.runtime.backends.onnxruntime import session_options
    s = ort.InferenceSession(model.SerializeToString(), session_options(threads),
                             providers=["CPUExecutionProvider"])
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    r = _time(lambda x: s.run(None, {"a": x, "b": x}), a, 3.0)
    return {"gflops_per_s": round(2 * n**3 / (r["p50_ms"] / 1000) / 1e9, 1), "size": n}


def run(args: argparse.Namespace) -> int:
    from edgebind.runtime.accuracy import compare
    from edgebind.runtime.manifest import Manifest

    manifest = Manifest.read(args.bundle / "manifest.json")
    modalities = args.modalities.split(",") if args.modalities else list(manifest.encoders)
    wanted = args.precision.split(",") if args.precision else None
    batches = [int(b) for b in args.batch.split(",")]
    from edgebind.runtime.cpu import detect
    cpu = detect()
    report = {"bundle": str(args.bundle), "space_id": manifest.space_id, "threads": args.threads,
              "cpu_count": os.cpu_count(), "cpu": cpu.to_dict(), "results": []}
    if not args.json:
        print(f"cpu: {cpu.describe()}, {os.cpu_count()} cores")
    if args.gemm:
        report["ort_fp32_gemm"] = _spawn_gemm(args.threads)
    with tempfile.TemporaryDirectory(prefix="edgebind-bench-") as tmp:
        for m in modalities:
            if m not in manifest.encoders:
                raise ValueError(f"the bundle has no {m!r} encoder; it has {', '.join(manifest.encoders)}")
            precisions = [p for p in manifest.encoders[m].variants if p != "torch"
                          and (wanted is None or p in wanted)]
            if args.compare_torch:
                precisions.append("torch-eager")
            embs, rows = {}, []
            for p in precisions:
                # A tower with a dynamic clip axis gets one clip: what the pipeline sends it
                # for windows no longer than a clip.
                clips = 1 if isinstance(manifest.encoders[m].input.shape[1], str) else None
                spec = {"bundle": str(args.bundle), "backend": args.backend, "modality": m,
                        "precision": p, "threads": args.threads, "batches": batches,
                        "seconds": args.seconds, "emb_out": str(Path(tmp) / f"{m}.{p}.npy"),
                        "clips": clips}
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
                if not args.json:
                    _print_row(row)
            ref = embs.get("fp32", embs.get("torch-eager"))
            for row in rows:
                if ref is not None and row["precision"] in embs:
                    acc = compare(ref, embs[row["precision"]])
                    row["vs_fp32"] = {k: acc[k] for k in ("cosine_mean", "centred_cosine_mean",
                                                          "centred_cosine_min", "nn_agreement")}
            _ratios(rows, report)
            report["results"].extend(rows)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in report["results"]:
            if "vs_fp32" in r:
                print(f"  {r['modality']:8s} {r['precision']:11s} centred cosine to FP32 "
                      f"{r['vs_fp32']['centred_cosine_mean']:.5f}  NN agreement {r['vs_fp32']['nn_agreement']:.3f}")
        for k, v in report.get("speedups", {}).items():
            print(f"  {k}: {v:.2f}x")
        if "ort_fp32_gemm" in report:
            print(f"  ONNX Runtime FP32 GEMM: {report['ort_fp32_gemm']}")
    return 0


def _spawn_gemm(threads):
    code = ("import json,sys; from edgebind.bench import gemm_rate; "
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


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
