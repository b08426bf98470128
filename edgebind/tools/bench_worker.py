"""The measuring side of ``edgebind bench``: each (modality, precision) runs in a fresh process
(``python -m edgebind.tools.bench_worker SPEC``), so peak memory is that encoder's alone and
backends never compete for the cores (torch and ONNX Runtime fight over threads when they share
a process)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

HELD_OUT = 24  # inputs embedded by every variant, compared against FP32


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


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
