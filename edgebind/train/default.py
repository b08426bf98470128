"""The default tiny model: trained on the simulated world with ImageBind's recipe, exported into
a bundle (FP32 and INT8 sensor towers, the INT8 text hub; <= 45 MB) with an anchor set for the
eight simulated events.

    python -m edgebind.train.default          # or: edgebind train default

1. render a class-balanced cache of simulated windows (model-ready inputs; seed 1000);
2. stage 1: vision trained into the space of a FROZEN pretrained sentence encoder
   (all-MiniLM-L6-v2, 384-d; ImageBind freezes its text tower the same way), frame <-> caption,
   so words the model never trained on land where they mean;
3. stage 2: audio, depth, thermal and IMU each bound to the FROZEN vision tower (InfoNCE on
   precomputed vision embeddings), never paired with text;
4. export: sensor towers FP32 plus INT8 with uint8 weights (one file exact on every CPU target;
   the device checks it on the encoder's golden set, falling back to FP32; kept only where it
   gives FP32's zero-shot answer on >= 99 % of held-out windows), the text hub INT8 the same
   way with its vocabulary, the training preprocessing (2 s windows);
5. the anchor set (each event's captions through the bundle's text tower) and the evaluation
   on a held-out seed, recorded beside the bundle (``eval.json``, ``eval.md``).

Every stage checkpoints into the work folder; running again resumes where it stopped.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SENSORS = ("audio", "depth", "thermal", "imu")
SMALL_CHECK = {"n": 96, "n_probe": 0}
DEFAULT_WORK = Path.home() / ".cache" / "edgebind" / "train-default"

# ImageBind architecture, tiny widths. The image-like towers (vision, depth, thermal) use
# EdgeBind's conv stem ending on a 32-px patch grid (7x7 tokens): a tiny ViT trained from scratch
# on a few thousand frames learns little through a single 28-px patch projection (supervised
# probe 39 % vs 77 % with the conv stem, same trunk, same data). Audio: stride 16 (8x12 patches).
# No text tower of its own: the text side is the frozen hub below, and every tower embeds into
# its 384-d space (out_embed_dim).
TEXT_HUB = "all-MiniLM-L6-v2"
TOWERS = ("vision", "audio", "depth", "thermal", "imu")
DEFAULT_CONFIG: dict[str, Any] = {
    "out_embed_dim": 384,
    "kernel_size": [2, 32, 32], "vision_stem": "conv", "stem_channels": 32,
    "vision_embed_dim": 128, "vision_num_blocks": 2, "vision_num_heads": 4,
    "audio_embed_dim": 128, "audio_num_blocks": 2, "audio_num_heads": 4, "audio_stride": 16,
    "audio_drop_path": 0.0,
    "depth_embed_dim": 128, "depth_num_blocks": 2, "depth_num_heads": 4, "depth_kernel_size": 32,
    "depth_stem": "conv",
    "thermal_embed_dim": 128, "thermal_num_blocks": 2, "thermal_num_heads": 4,
    "thermal_kernel_size": 32, "thermal_stem": "conv",
    "imu_embed_dim": 128, "imu_num_blocks": 2, "imu_num_heads": 4, "imu_drop_path": 0.0,
}


def _stage1() -> "Any":
    from edgebind.train.loop import TrainConfig
    return TrainConfig(steps=2200, batch_size=48, lr=2e-3, warmup_steps=150, weight_decay=0.05,
                       checkpoint_every=100, log_every=20)


def _stage2() -> "Any":
    from edgebind.train.loop import TrainConfig
    return TrainConfig(steps=400, batch_size=64, lr=2e-3, warmup_steps=30, weight_decay=0.05,
                       checkpoint_every=50, log_every=10)


@dataclass
class Recipe:
    n_train: int = 4000
    train_seed: int = 1000
    # 0.5: events large and clear in the camera (a tiny ViT trained from scratch on a few
    # thousand frames learns next to nothing at 1.0), distractors and noise still present.
    difficulty: float = 0.5
    window_s: float = 2.0
    stage1: Any = field(default_factory=_stage1)
    stage2: Any = field(default_factory=_stage2)
    # A caption's positives are all frames of its event (5 phrasings per event).
    stage1_positives: str = "labels"
    stage1_crop: float = 0.7  # random crops (side >= 70 %) of the trained frames, plus mirroring
    stage1_temperature: str | float = "learned"   # CLIP's: 1/0.07 to start, learned
    stage2_temperature: str | float = 0.07
    # Stage 2 also binds on windows cut from streaming worlds exactly as the pipeline cuts them
    # (scenario "default", seeds world_seed..; never the demo's or the evaluation's seeds).
    world_count: int = 24
    world_seed: int = 5000
    world_scenario: str = "default"
    world_duration_s: float = 60.0
    world_hop_s: float = 1.0
    eval_seed: int = 7
    eval_n: int = 400
    eval_probe_n: int = 800
    # The demo's detector: settings and per-anchor levels tuned on streamed demo-scenario worlds
    # (seeds below), then measured on others (seed 0 is what `edgebind demo` shows by default).
    tune_scenario: str = "demo"
    tune_seeds: tuple[int, ...] = (101, 102, 103, 104)
    tune_check_seeds: tuple[int, ...] = (0, 5, 6, 7)
    tune_duration_s: float = 60.0
    threads: int = 2
    seed: int = 0

    def scaled(self, factor: float) -> "Recipe":
        """A shorter run (tests, quick looks): fewer windows and steps."""
        s1 = dataclasses.replace(self.stage1, steps=max(2, int(self.stage1.steps * factor)),
                                 warmup_steps=max(1, int(self.stage1.warmup_steps * factor)))
        s2 = dataclasses.replace(self.stage2, steps=max(2, int(self.stage2.steps * factor)),
                                 warmup_steps=max(1, int(self.stage2.warmup_steps * factor)))
        return dataclasses.replace(self, n_train=max(64, int(self.n_train * factor)), stage1=s1,
                                   world_count=max(1, int(self.world_count * factor)),
                                   world_duration_s=(self.world_duration_s if factor >= 1
                                                     else max(10.0, self.world_duration_s * factor)),
                                   stage2=s2, eval_n=max(64, int(self.eval_n * factor)),
                                   eval_probe_n=max(64, int(self.eval_probe_n * factor)),
                                   **({} if factor >= 1 else {
                                       "tune_seeds": self.tune_seeds[:1],
                                       "tune_check_seeds": self.tune_check_seeds[:1],
                                       "tune_duration_s": max(14.0, self.tune_duration_s * factor)}))


def _log(msg: str) -> None:
    print(f"[default {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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


def train_model(recipe: Recipe, work: Path, progress: bool = True) -> tuple[Any, dict[str, Any]]:
    """Stages 0-3: cache, vision-text, binding. Returns (model, seconds per stage)."""
    import torch

    from edgebind import models
    from edgebind.train.data import load_cache
    from edgebind.train.loop import fit
    from edgebind.train.modelio import save_model
    from edgebind.train.simdata import build_cache
    from edgebind.train.tasks import BindTask
    from edgebind.train.worlddata import build_world_cache, concat

    torch.set_num_threads(recipe.threads)
    times: dict[str, float] = {}
    t = time.perf_counter()
    cache = build_cache(work / "cache", recipe.n_train, recipe.train_seed,
                        difficulty=recipe.difficulty, window_s=recipe.window_s,
                        show_progress=progress)
    data = load_cache(cache)
    times["render_cache"] = time.perf_counter() - t
    _log(f"cache: {len(data)} windows in {times['render_cache']:.0f} s")

    torch.manual_seed(recipe.seed)
    model = models.with_text_hub(models.build(DEFAULT_CONFIG, modalities=list(TOWERS)), TEXT_HUB)
    t = time.perf_counter()
    data = data.with_array("text_embedding", caption_embeddings(model, data.meta["sample_captions"]))
    s1 = dataclasses.replace(recipe.stage1, progress=progress, seed=recipe.seed)
    task = BindTask(model.base, "vision", "text", hub_from_batch=True,
                    positives=recipe.stage1_positives, hflip=True, crop=recipe.stage1_crop,
                    temperature=recipe.stage1_temperature)
    r = fit(task, data, s1, work / "stage1-vision-text", resume=True,
            keys=["vision", "text_embedding", "label"], label="stage 1 vision-text")
    times["stage1"] = time.perf_counter() - t
    resumed = [] if math.isfinite(r.loss) else ["stage1"]   # no step ran: an earlier run's
    _log(f"stage 1: loss {r.loss:.3f} in {times['stage1']:.0f} s")

    t = time.perf_counter()
    parts = [data]
    if recipe.world_count > 0:
        world = load_cache(build_world_cache(
            work / "world-cache", recipe.world_count, recipe.world_seed,
            scenario=recipe.world_scenario, duration_s=recipe.world_duration_s,
            difficulty=recipe.difficulty, window_s=recipe.window_s, hop_s=recipe.world_hop_s,
            show_progress=progress))
        parts.append(world)
        _log(f"world windows: {len(world)} from {recipe.world_count} worlds")
    times["world_windows"] = time.perf_counter() - t
    t = time.perf_counter()
    vis_emb = np.concatenate([embed_all(model, "vision", p.arrays["vision"]) for p in parts])
    data = concat(parts, SENSORS).with_array("vision_embedding", vis_emb.astype(np.float32))
    times["vision_embeddings"] = time.perf_counter() - t
    for m in SENSORS:
        t = time.perf_counter()
        s2 = dataclasses.replace(recipe.stage2, progress=progress, seed=recipe.seed)
        task = BindTask(model.base, m, "vision", temperature=recipe.stage2_temperature)
        r = fit(task, data, s2, work / f"stage2-{m}", resume=True,
                keys=[m, "vision_embedding"], label=f"stage 2 {m}->vision")
        times[f"stage2_{m}"] = time.perf_counter() - t
        resumed += [] if math.isfinite(r.loss) else [f"stage2_{m}"]
        _log(f"stage 2 {m}: loss {r.loss:.3f} in {times[f'stage2_{m}']:.0f} s")
    model.eval()
    save_model(model, work / "model.pt", extra={"recipe": _recipe_dict(recipe)})
    if resumed:
        times["resumed"] = resumed   # those stages' times are not in this run's total
    return model, times


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


def _recipe_dict(recipe: Recipe) -> dict[str, Any]:
    d = dataclasses.asdict(recipe)
    return json.loads(json.dumps(d, default=str))


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


def tune_detector(bundle: Path, anchors: Path, path: Path, recipe: Recipe,
                  progress: bool = True) -> dict[str, Any]:
    """``detector.json``: the detector setting and per-anchor levels with the best event F1 on
    the tuning worlds, and its precision/recall on the check worlds (never tuned on)."""
    from edgebind.anchors import AnchorSet
    from edgebind.demo import NOT_EVENTS
    from edgebind.detect import DetectorConfig
    from edgebind.detect.tune import DEFAULT_GRID, pooled, record_world, replay, save_tuned, tune
    from edgebind.embedder import Embedder
    from edgebind.progress import Counter

    emb = Embedder.from_bundle(bundle, threads=recipe.threads)
    aset = AnchorSet.load(anchors, space_id=emb.space_id)
    targets = [a.name for a in aset.targets if a.name not in NOT_EVENTS]

    def worlds(seeds):
        return [record_world(emb, aset, recipe.tune_scenario, s, difficulty=recipe.difficulty,
                             duration_s=recipe.tune_duration_s) for s in seeds]

    fit_on = worlds(recipe.tune_seeds)
    settings = math.prod(len(v) for v in DEFAULT_GRID.values())
    with Counter(settings, "tune detector", "setting", enabled=progress) as bar:
        best = tune(fit_on, aset, targets, progress=lambda i, n: bar.update())
    check = pooled(replay(worlds(recipe.tune_check_seeds), aset,
                          DetectorConfig.from_dict(best["detector"]), targets, best["thresholds"]))
    info = {"scenario": recipe.tune_scenario, "seeds": list(recipe.tune_seeds),
            "duration_s": recipe.tune_duration_s,
            "difficulty": recipe.difficulty, "check_seeds": list(recipe.tune_check_seeds),
            "check": check}
    save_tuned(path, best, emb.space_id, info, anchors=aset)   # its levels fit these anchors
    return {"tuned": best["score"], "check": check, "detector": best["detector"],
            "thresholds": best["thresholds"]}


INT8_MIN_AGREEMENT = 0.99


def keep_faithful_int8(bundle: Path, anchors: Path, recipe: Recipe) -> dict[str, Any]:
    """Keep an INT8 variant only where it gives FP32's zero-shot answer on >= 99 % of held-out
    windows (what its targets compute, edgebind.quant_eval); drop the others from the bundle."""
    from edgebind.quant_eval import evaluate_variants
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
        _log(f"INT8 dropped (top-1 agreement below {INT8_MIN_AGREEMENT}): {', '.join(dropped)}")
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


def write_anchors(bundle: Path, path: Path) -> Path:
    """The anchor set of the eight simulated events: each event's captions through the bundle's
    text tower (plain captions, the wording the text tower was trained on)."""
    from edgebind.anchors import AnchorSet, text_anchor
    from edgebind.embedder import Embedder
    from edgebind.sim import CAPTIONS, EVENTS

    emb = Embedder.from_bundle(bundle)

    def encode(texts: list[str]) -> np.ndarray:
        return emb.embed_batch("text", emb.prepare("text", texts))

    anchors = [text_anchor(e, CAPTIONS[e], encode, templates={"default": ("{}",)},
                           background=(e == "quiet_room"), dim=emb.embed_dim) for e in EVENTS]
    aset = AnchorSet(space_id=emb.space_id, dim=emb.embed_dim, anchors=anchors,
                     meta={"source": "edgebind.train.default", "events": list(EVENTS)})
    return aset.save(path)


def run_recipe(recipe: Recipe, work: Path, out: Path, progress: bool = True) -> dict[str, Any]:
    from edgebind.evaluate import evaluate_bundle, markdown
    from edgebind.train.data import load_cache

    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    model, times = train_model(recipe, work, progress)
    t = time.perf_counter()
    calib = write_calibration(load_cache(work / "cache"), work / "calibration")
    out.mkdir(parents=True, exist_ok=True)
    data = "edgebind.sim sample_clip"
    if recipe.world_count > 0:
        data += (f" + windows of {recipe.world_count} streamed '{recipe.world_scenario}' worlds "
                 f"(stage 2)")
    bundle = export_default(model, out / "bundle", calib, recipe.window_s, progress,
                            recipe.difficulty, data)
    write_anchors(bundle, out / "anchors.json")
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
    report["detector"] = tune_detector(bundle, out / "anchors.json", out / "detector.json", recipe,
                                       progress)
    times["tune_detector"] = time.perf_counter() - t
    _log(f"detector: tuned P/R {report['detector']['tuned']['precision']:.2f}/"
         f"{report['detector']['tuned']['recall']:.2f}, check seeds "
         f"{report['detector']['check']['precision']:.2f}/"
         f"{report['detector']['check']['recall']:.2f}")
    # A small, quick evaluation that tests/test_assets.py reruns to check the shipped bundle
    small = evaluate_bundle(bundle, seed=recipe.eval_seed, n=SMALL_CHECK["n"],
                            n_probe=SMALL_CHECK["n_probe"], difficulty=recipe.difficulty,
                            anchors=out / "anchors.json", threads=recipe.threads,
                            precision="fp32")
    report["small_check"] = {**SMALL_CHECK, "seed": recipe.eval_seed,
                             "vision_to_text_top1": small["vision_to_text_top1"],
                             "modalities": {m: {"zero_shot_top1": r["zero_shot_top1"]}
                                            for m, r in small["modalities"].items()}}
    resumed = times.pop("resumed", None)
    times["total"] = time.perf_counter() - t0
    report["bundle"] = "edgebind/assets/default/bundle"
    report["anchors"] = "edgebind/assets/default/anchors.json"
    report["training_seconds"] = {k: round(v, 1) for k, v in times.items()}
    if resumed:
        report["training_resumed_stages"] = resumed
    report["recipe"] = _recipe_dict(recipe)
    (out / "eval.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "eval.md").write_text(markdown(report) + "\n")
    _log(f"done in {times['total'] / 60:.1f} min; bundle {bundle_size(bundle) / 1e6:.1f} MB")
    return report


def bundle_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edgebind.assets import DEFAULT_DIR
    p.add_argument("--work", type=Path, default=DEFAULT_WORK,
                   help=f"work folder: sim cache, checkpoints, metrics and curves (default "
                        f"{DEFAULT_WORK}; rerunning resumes, delete it to start over)")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR,
                   help=f"where the bundle, anchors.json and eval.json go (default {DEFAULT_DIR})")
    p.add_argument("--scale", type=float, default=1.0,
                   help="shrink windows and steps by this factor (e.g. 0.05 for a smoke run)")
    p.add_argument("--n-train", type=int, default=None, help="simulated training windows")
    p.add_argument("--difficulty", type=float, default=None, help="sim difficulty")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if not args.scale > 0:
        raise ValueError(f"--scale must be > 0, got {args.scale}")
    recipe = Recipe(threads=args.threads)
    if args.scale != 1.0:
        recipe = recipe.scaled(args.scale)
    if args.n_train is not None:
        recipe = dataclasses.replace(recipe, n_train=args.n_train)
    if args.difficulty is not None:
        recipe = dataclasses.replace(recipe, difficulty=args.difficulty)
    from edgebind.evaluate import markdown
    report = run_recipe(recipe, args.work, args.out, progress=not args.quiet)
    print(markdown(report))
    print(f"\nseconds per step: {json.dumps(report['training_seconds'])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgebind.train.default", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
