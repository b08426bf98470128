"""How faithful a bundle's quantized variants are to FP32 where it counts: zero-shot top-1
agreement on held-out simulated windows (the same windows and anchors as ``edgebind eval``), and
centred cosine, per tower and per variant, on this machine.

Torch-free. Used by ``scripts/int8_accuracy.py`` (numbers for people, as JSON) and by the
default-model recipe, which ships an INT8 variant only where it keeps top-1 agreement.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgebind.evaluation import SENSORS, anchors_from_file, hit_rate, zero_shot_predictions
from edgebind.runtime.accuracy import compare

TOWERS = ("vision", *SENSORS)


def heldout(bundle: str | Path, seed: int, n: int, difficulty: float | None = None,
            keys: Sequence[str] = TOWERS, workers: int = 2):
    """Rendered held-out windows at the bundle's training difficulty (as ``edgebind eval``)."""
    from edgebind.preprocess import PreprocessConfig
    from edgebind.runtime.manifest import Manifest
    from edgebind.train.simdata import render

    manifest = Manifest.read(Path(bundle) / "manifest.json")
    pre = PreprocessConfig.from_dict(manifest.preprocess)
    if difficulty is None:
        difficulty = float(manifest.extra.get("training", {}).get("difficulty", 1.0))
    keys = [k for k in keys if k in manifest.encoders]
    data = render(n, seed, pre=pre, difficulty=difficulty, window_s=float(pre.imu.window_s),
                  keys=keys, dtype=np.float32, workers=workers)
    return data, difficulty


def model_input(manifest, modality: str, x: np.ndarray) -> np.ndarray:
    """Cached windows to the encoder's input (audio: the clip axis the cache does not store)."""
    spec = manifest.encoders[modality].input
    x = np.asarray(x, dtype=np.int64 if modality == "text" else np.float32)
    if len(spec.shape) == x.ndim + 1:
        clips = spec.shape[1]
        x = x[:, None] if isinstance(clips, str) else np.repeat(x[:, None], int(clips), axis=1)
    return np.ascontiguousarray(x)


def embed(bundle: str | Path, modality: str, variant: str, x: np.ndarray,
          threads: int | None = None, batch: int = 16, check: bool = True) -> np.ndarray:
    """Embeddings of one exact variant (no fallback: its golden-set check must pass here,
    unless ``check`` is off, to measure what a refused variant would have computed)."""
    from edgebind.runtime import load_bundle
    with load_bundle(bundle, modalities=[modality], precision=variant, threads=threads,
                     fallback=False, verify=False, check=check) as b:
        return _batched(b.encoders[modality], x, batch)


def _batched(enc, x: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([enc.embed(x[i:i + batch]) for i in range(0, len(x), batch)])


def exact_here(variant) -> bool:
    """Whether this CPU computes the variant's INT8 weights as its targets do."""
    from edgebind.runtime.cpu import detect
    weights = variant.info.get("quantization", {}).get("weight_form")
    here = detect().target
    if weights is None or variant.family != "int8":
        return True
    return weights in ("s7", "u8") or here in ("x86-vnni", "arm64")


def embed_as_targets_compute(bundle: str | Path, modality: str, variant: str, x: np.ndarray,
                             threads: int | None = None, batch: int = 16) -> np.ndarray:
    """What the variant's own targets compute: on a CPU that would saturate its weights (s8 on
    AVX2), through the exporter's exact copy (needs the ``export`` extra)."""
    from edgebind.runtime.manifest import Manifest
    manifest = Manifest.read(Path(bundle) / "manifest.json")
    entry = manifest.encoders[modality]
    v = entry.variants[variant]
    if exact_here(v):
        return embed(bundle, modality, variant, x, threads, batch)
    import tempfile
    from edgebind.export.quantize import exact_copy
    from edgebind.runtime.backends.onnxruntime import OnnxRuntimeEncoder
    with tempfile.TemporaryDirectory() as tmp:
        path = exact_copy(Path(bundle) / v.file.file, Path(tmp) / "exact.onnx")
        enc = OnnxRuntimeEncoder(path, modality, variant, entry.input, entry.output,
                                 manifest.space_id, threads=threads)
        return _batched(enc, x, batch)


def faithfulness(fp32: np.ndarray, other: np.ndarray, anchors: np.ndarray,
                 active: np.ndarray) -> dict[str, Any]:
    """Top-1 agreement with FP32 over the anchors, each one's zero-shot top-1, cosines."""
    p_ref = zero_shot_predictions(fp32, anchors)
    p_other = zero_shot_predictions(other, anchors)
    acc = compare(fp32, other)
    return {"n": int(len(fp32)), "top1_agreement": float(np.mean(p_ref == p_other)),
            "zero_shot_top1_fp32": hit_rate(p_ref, active),
            "zero_shot_top1": hit_rate(p_other, active),
            "centred_cosine_mean": acc["centred_cosine_mean"],
            "centred_cosine_min": acc["centred_cosine_min"]}


def quantized_variants(manifest, modality: str) -> list[str]:
    return [k for k, v in manifest.encoders[modality].variants.items()
            if v.family not in ("fp32", "torch") and v.format == "onnx"]


def evaluate_variants(bundle: str | Path, anchors: str | Path, *, seed: int = 7, n: int = 400,
                      difficulty: float | None = None, threads: int | None = None,
                      towers: Sequence[str] = TOWERS, workers: int = 2) -> dict[str, Any]:
    """Per tower and quantized variant: ``faithfulness`` against the tower's FP32 variant."""
    from edgebind.runtime.manifest import Manifest
    from edgebind.sim import EVENTS

    manifest = Manifest.read(Path(bundle) / "manifest.json")
    towers = [m for m in towers if m in manifest.encoders and "fp32" in manifest.encoders[m].variants]
    data, difficulty = heldout(bundle, seed, n, difficulty, towers, workers)
    anchor_emb = anchors_from_file(anchors, EVENTS, manifest.space_id)
    active = data.arrays["events"]
    out: dict[str, Any] = {"seed": seed, "n": n, "difficulty": difficulty, "towers": {}}
    for m in towers:
        x = model_input(manifest, m, data.arrays[m])
        ref = embed(bundle, m, "fp32", x, threads)
        rows = {}
        for key in quantized_variants(manifest, m):
            v = manifest.encoders[m].variants[key]
            row = {"targets": list(v.targets) if v.targets else None,
                   "measured": "as run here" if exact_here(v) else "exact copy (this CPU "
                               "would saturate its weights; its targets do not)"}
            try:
                got = embed_as_targets_compute(bundle, m, key, x, threads)
                row.update(faithfulness(ref, got, anchor_emb, active))
            except Exception as exc:   # e.g. its golden-set check fails on this CPU
                row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            rows[key] = row
        out["towers"][m] = rows
    return out
