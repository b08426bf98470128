"""The default model's bundle: exported (sensor towers FP32 and INT8, the text hub INT8), its INT8
variants kept only where they give FP32's answers."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.train.default.config import INT8_MIN_AGREEMENT, SENSORS, Recipe, log


def write_calibration(data, folder: Path, n: int = 160) -> Path:
    """Model-ready samples for the export's accuracy reports (and INT8 calibration)."""
    folder.mkdir(parents=True, exist_ok=True)
    idx = np.linspace(0, len(data) - 1, min(n, len(data))).astype(int)   # a quarter held out
    for m in ("vision", *SENSORS):
        x = np.asarray(data.arrays[m][idx], dtype=np.float32)
        if m == "audio":
            x = np.repeat(x[:, None], 3, axis=1)  # the bundle's 3-clip audio input
        np.save(folder / f"{m}.npy", x)
    np.save(folder / "text.npy", np.asarray(data.arrays["text"][idx], dtype=np.int64))
    return folder


def export_default(model, dest: Path, calibration: Path, window_s: float = 2.0,
                   progress: bool = True, difficulty: float = 1.0,
                   data: str = "edgebind.sim sample_clip") -> Path:
    """Sensor towers FP32 + INT8 (one file for every CPU target) and the text hub in INT8 in one
    bundle, with golden sets and the training preprocessing."""
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import space_id_of
    from edgebind.modality import MODALITIES
    from edgebind.runtime import load_bundle
    from edgebind.train.simdata import train_preprocess

    space = space_id_of(model.state_dict())
    info = {"preset": "edgebind-default-tiny", "config": model.config.to_dict(),
            "source": "edgebind.train.default (simulated world)"}
    build = dest.parent / f".{dest.name}.build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    # One INT8 file per tower, with uint8 weights: exact on every CPU target (no 16-bit
    # saturation on AVX2 without VNNI), so one file serves them all. Per-target files (s8 for
    # VNNI/ARM64, s7 or u8 for AVX2) put the bundle at 46.3 MB, over its 45 MB budget (the text
    # hub alone is 23.8 MB), and towers this small gain little or no speed from INT8
    # (docs/bench/bundles-x86-vnni.json); the text hub runs when anchors are built.
    u8 = ("u8",)
    parts = {"sensors": (["vision", *SENSORS], ["fp32", "int8"], u8),
             "text": (["text"], ["int8"], u8)}
    manifests = {}
    for name, (mods, precisions, weights) in parts.items():
        opts = ExportOptions(modalities=mods, precisions=precisions, calibration=str(calibration),
                             progress=progress, int8_form="dynamic", targets=["all"],
                             int8_weights=weights)
        manifests[name] = export_bundle(model, build / name, opts, space_id=space, model_info=info)
    final = build / "bundle"
    final.mkdir()
    encoders = {}
    for name, man in manifests.items():
        for m, entry in man.encoders.items():
            encoders[m] = entry
            for ref in entry.files():
                shutil.copy2(build / name / ref.file, final / ref.file)
    from edgebind.export.text_hub import VOCAB_FILE
    from edgebind.preprocess.text_spec import TEXT_TOWER_KEY
    shutil.copy2(build / "text" / VOCAB_FILE, final / VOCAB_FILE)
    first = manifests["sensors"]
    manifest = dataclasses.replace(
        first, encoders={m: encoders[m] for m in MODALITIES if m in encoders},
        preprocess=train_preprocess(window_s).to_dict(),
        extra={**first.extra, TEXT_TOWER_KEY: manifests["text"].extra[TEXT_TOWER_KEY],
               "training": {"recipe": "edgebind.train.default", "data": data,
                            "difficulty": float(difficulty)}})
    manifest.write(final / "manifest.json")
    load_bundle(final).close()  # verifies hashes and opens every encoder
    if dest.exists():
        shutil.rmtree(dest)
    final.rename(dest)
    shutil.rmtree(build, ignore_errors=True)
    return dest


def keep_faithful_int8(bundle: Path, anchors: Path, recipe: Recipe) -> dict[str, Any]:
    """Keep an INT8 variant only where it gives FP32's zero-shot answer on >= 99 % of held-out
    windows (what its targets compute, edgebind.evaluation.quant); drop the others from the bundle."""
    from edgebind.evaluation.quant import evaluate_variants
    from edgebind.runtime.manifest import Manifest
    report = evaluate_variants(bundle, anchors, seed=recipe.eval_seed, n=recipe.eval_n,
                               threads=recipe.threads)
    manifest = Manifest.read(bundle / "manifest.json")
    dropped = []
    for m, rows in report["towers"].items():
        for key, row in rows.items():
            if row.get("top1_agreement", 0.0) < INT8_MIN_AGREEMENT:
                dropped.append(f"{m} {key}")
                manifest = _drop_variant(bundle, manifest, m, key)
    report["min_top1_agreement"] = INT8_MIN_AGREEMENT
    report["dropped"] = dropped
    if dropped:
        log(f"INT8 dropped (top-1 agreement below {INT8_MIN_AGREEMENT}): {', '.join(dropped)}")
    return report


def _drop_variant(bundle: Path, manifest, modality: str, key: str):
    entry = manifest.encoders[modality]
    gone = entry.variants[key]
    variants = {k: v for k, v in entry.variants.items() if k != key}
    manifest = dataclasses.replace(manifest, encoders={
        **manifest.encoders, modality: dataclasses.replace(entry, variants=variants)})
    still = {r.file for e in manifest.encoders.values() for r in e.files()}
    for ref in gone.files():
        if ref.file not in still:
            (bundle / ref.file).unlink()
    manifest.write(bundle / "manifest.json")
    return manifest


def bundle_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())
