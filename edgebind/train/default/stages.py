"""The default model's training: the simulated-window cache, stage 1 (vision into the frozen text
hub's space, frame <-> caption) and stage 2 (each sensor bound to the frozen vision tower). Every
stage checkpoints into the work folder, so running again resumes where it stopped."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.train.default.config import (DEFAULT_CONFIG, SENSORS, TEXT_HUB, TOWERS, Recipe, log,
                                           recipe_dict)


def train_model(recipe: Recipe, work: Path, progress: bool = True) -> tuple[Any, dict[str, Any]]:
    """Stages 0-3: cache, vision-text, binding. Returns (model, seconds per stage)."""
    import torch

    from edgebind import models
    from edgebind.train.modelio import save_model

    torch.set_num_threads(recipe.threads)
    times: dict[str, Any] = {}
    t = time.perf_counter()
    data = _render_cache(recipe, work, progress)
    times["render_cache"] = time.perf_counter() - t
    log(f"cache: {len(data)} windows in {times['render_cache']:.0f} s")

    torch.manual_seed(recipe.seed)
    model = models.with_text_hub(models.build(DEFAULT_CONFIG, modalities=list(TOWERS)), TEXT_HUB)
    resumed: list[str] = []   # stages an earlier run finished: no step ran here
    t = time.perf_counter()
    data, loss = _stage1(model, data, recipe, work, progress, resumed)
    times["stage1"] = time.perf_counter() - t
    log(f"stage 1: loss {loss:.3f} in {times['stage1']:.0f} s")

    t = time.perf_counter()
    parts = [data, *_world_windows(recipe, work, progress)]
    times["world_windows"] = time.perf_counter() - t
    t = time.perf_counter()
    data = _with_vision_embeddings(model, parts)
    times["vision_embeddings"] = time.perf_counter() - t
    for m in SENSORS:
        t = time.perf_counter()
        loss = _stage2(model, data, m, recipe, work, progress, resumed)
        times[f"stage2_{m}"] = time.perf_counter() - t
        log(f"stage 2 {m}: loss {loss:.3f} in {times[f'stage2_{m}']:.0f} s")
    model.eval()
    save_model(model, work / "model.pt", extra={"recipe": recipe_dict(recipe)})
    if resumed:
        times["resumed"] = resumed   # those stages' times are not in this run's total
    return model, times


def _render_cache(recipe: Recipe, work: Path, progress: bool):
    from edgebind.train.data import load_cache
    from edgebind.train.simdata import build_cache
    return load_cache(build_cache(work / "cache", recipe.n_train, recipe.train_seed,
                                  difficulty=recipe.difficulty, window_s=recipe.window_s,
                                  show_progress=progress))


def _stage1(model, data, recipe: Recipe, work: Path, progress: bool,
            resumed: list[str]) -> tuple[Any, float]:
    """Vision trained into the frozen text hub's space; returns (data with each window's
    caption embedding, final loss)."""
    from edgebind.train.loop import fit
    from edgebind.train.tasks import BindTask
    captions = caption_embeddings(model, data.meta["sample_captions"])
    data = data.with_array("text_embedding", captions)
    s1 = dataclasses.replace(recipe.stage1, progress=progress, seed=recipe.seed)
    task = BindTask(model.base, "vision", "text", hub_from_batch=True,
                    positives=recipe.stage1_positives, hflip=True, crop=recipe.stage1_crop,
                    temperature=recipe.stage1_temperature)
    r = fit(task, data, s1, work / "stage1-vision-text", resume=True,
            keys=["vision", "text_embedding", "label"], label="stage 1 vision-text")
    if not math.isfinite(r.loss):
        resumed.append("stage1")
    return data, r.loss


def _world_windows(recipe: Recipe, work: Path, progress: bool) -> list[Any]:
    """Windows cut from streaming worlds as the pipeline cuts them (none if world_count is 0)."""
    if recipe.world_count <= 0:
        return []
    from edgebind.train.data import load_cache
    from edgebind.train.worlddata import build_world_cache
    world = load_cache(build_world_cache(
        work / "world-cache", recipe.world_count, recipe.world_seed,
        scenario=recipe.world_scenario, duration_s=recipe.world_duration_s,
        difficulty=recipe.difficulty, window_s=recipe.window_s, hop_s=recipe.world_hop_s,
        show_progress=progress))
    log(f"world windows: {len(world)} from {recipe.world_count} worlds")
    return [world]


def _with_vision_embeddings(model, parts: list[Any]):
    """The parts as one dataset, with the (now frozen) vision tower's embedding of each window."""
    from edgebind.train.worlddata import concat
    vis_emb = np.concatenate([embed_all(model, "vision", p.arrays["vision"]) for p in parts])
    return concat(parts, SENSORS).with_array("vision_embedding", vis_emb.astype(np.float32))


def _stage2(model, data, m: str, recipe: Recipe, work: Path, progress: bool,
            resumed: list[str]) -> float:
    """Sensor ``m`` bound to the frozen vision tower; returns the final loss."""
    from edgebind.train.loop import fit
    from edgebind.train.tasks import BindTask
    s2 = dataclasses.replace(recipe.stage2, progress=progress, seed=recipe.seed)
    task = BindTask(model.base, m, "vision", temperature=recipe.stage2_temperature)
    r = fit(task, data, s2, work / f"stage2-{m}", resume=True,
            keys=[m, "vision_embedding"], label=f"stage 2 {m}->vision")
    if not math.isfinite(r.loss):
        resumed.append(f"stage2_{m}")
    return r.loss


def embed_all(model, modality: str, x: np.ndarray, batch: int = 128) -> np.ndarray:
    import torch
    outs = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            chunk = np.asarray(x[i:i + batch])
            t = torch.from_numpy(chunk.astype(np.int64 if modality == "text" else np.float32))
            outs.append(model.embed(modality, t).float().numpy())
    return np.concatenate(outs)


def caption_embeddings(model, captions: list[str], batch: int = 64) -> np.ndarray:
    """The frozen text hub's embedding of each window's caption (each distinct caption once)."""
    import torch
    uniq = sorted(set(captions))
    tok = model.text_tokenizer()
    rows = []
    with torch.inference_mode():
        for i in range(0, len(uniq), batch):
            ids = tok.model_input(tok.encode(uniq[i:i + batch]))
            rows.append(model.embed("text", torch.from_numpy(ids)).float().numpy())
    table = dict(zip(uniq, np.concatenate(rows)))
    return np.stack([table[c] for c in captions]).astype(np.float32)
