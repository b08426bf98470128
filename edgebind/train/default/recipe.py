"""The default model end to end: train, export the bundle, write its anchors, keep the faithful
INT8 variants, evaluate, tune the demo's detector, and record it all beside the bundle
(``eval.json``, ``eval.md``)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from edgebind.train.default.bundle import (bundle_size, export_default, keep_faithful_int8,
                                           write_calibration)
from edgebind.train.default.config import SMALL_CHECK, Recipe, log, recipe_dict
from edgebind.train.default.detection import tune_detector, write_anchors
from edgebind.train.default.stages import train_model


def run_recipe(recipe: Recipe, work: Path, out: Path, progress: bool = True) -> dict[str, Any]:
    from edgebind.evaluation import evaluate_bundle, markdown

    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    model, times = train_model(recipe, work, progress)
    t = time.perf_counter()
    bundle = _export(model, recipe, work, out, progress)
    times["export"] = time.perf_counter() - t
    t = time.perf_counter()
    int8 = keep_faithful_int8(bundle, out / "anchors.json", recipe)
    times["int8_check"] = time.perf_counter() - t
    t = time.perf_counter()
    # The model's own numbers (FP32): the same on every CPU. INT8 agreement is reported apart.
    report = evaluate_bundle(bundle, seed=recipe.eval_seed, n=recipe.eval_n,
                             n_probe=recipe.eval_probe_n, difficulty=recipe.difficulty,
                             anchors=out / "anchors.json", threads=recipe.threads,
                             progress=progress, precision="fp32")
    report["int8"] = int8
    times["eval"] = time.perf_counter() - t
    t = time.perf_counter()
    report["detector"] = det = tune_detector(bundle, out / "anchors.json",
                                             out / "detector.json", recipe, progress)
    times["tune_detector"] = time.perf_counter() - t
    log(f"detector: tuned P/R {det['tuned']['precision']:.2f}/{det['tuned']['recall']:.2f}, "
        f"check seeds {det['check']['precision']:.2f}/{det['check']['recall']:.2f}")
    report["small_check"] = _small_check(bundle, out / "anchors.json", recipe)
    resumed = times.pop("resumed", None)
    times["total"] = time.perf_counter() - t0
    report["bundle"] = "edgebind/assets/default/bundle"
    report["anchors"] = "edgebind/assets/default/anchors.json"
    report["training_seconds"] = {k: round(v, 1) for k, v in times.items()}
    if resumed:
        report["training_resumed_stages"] = resumed
    report["recipe"] = recipe_dict(recipe)
    (out / "eval.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "eval.md").write_text(markdown(report) + "\n")
    log(f"done in {times['total'] / 60:.1f} min; bundle {bundle_size(bundle) / 1e6:.1f} MB")
    return report


def _export(model, recipe: Recipe, work: Path, out: Path, progress: bool) -> Path:
    """The bundle and its anchor set, in ``out``."""
    from edgebind.train.data import load_cache
    calib = write_calibration(load_cache(work / "cache"), work / "calibration")
    out.mkdir(parents=True, exist_ok=True)
    data = "edgebind.sim sample_clip"
    if recipe.world_count > 0:
        data += (f" + windows of {recipe.world_count} streamed '{recipe.world_scenario}' worlds "
                 f"(stage 2)")
    bundle = export_default(model, out / "bundle", calib, recipe.window_s, progress,
                            recipe.difficulty, data)
    write_anchors(bundle, out / "anchors.json")
    return bundle


def _small_check(bundle: Path, anchors: Path, recipe: Recipe) -> dict[str, Any]:
    """A small, quick evaluation that tests/test_assets.py reruns to check the shipped bundle."""
    from edgebind.evaluation import evaluate_bundle
    small = evaluate_bundle(bundle, seed=recipe.eval_seed, n=SMALL_CHECK["n"],
                            n_probe=SMALL_CHECK["n_probe"], difficulty=recipe.difficulty,
                            anchors=anchors, threads=recipe.threads, precision="fp32")
    return {**SMALL_CHECK, "seed": recipe.eval_seed,
            "vision_to_text_top1": small["vision_to_text_top1"],
            "modalities": {m: {"zero_shot_top1": r["zero_shot_top1"]}
                           for m, r in small["modalities"].items()}}
