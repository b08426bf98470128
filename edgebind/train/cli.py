"""``edgebind train bind|distill|default``. Torch is imported only when a command runs."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgebind.modality import MODALITIES

SENSOR_MODALITIES = ("vision", "audio", "depth", "thermal", "imu")


def _common(p: argparse.ArgumentParser, steps: int) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="SRC",
                   help="training data: a cache folder (model-ready .npy + meta.json), MCAP "
                        "recordings (*.mcap: camera frames paired with the other streams' "
                        "windows), or sim:N[:SEED] (N simulated windows)")
    p.add_argument("--out", type=Path, required=True,
                   help="run folder: checkpoint.pt, metrics.jsonl/.csv, curves.png, the model")
    p.add_argument("--steps", type=int, default=steps, help=f"optimizer steps (default {steps})")
    p.add_argument("--batch-size", type=int, default=64,
                   help="global batch per step, over all processes and accumulation (default 64)")
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation steps (default 1)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    p.add_argument("--warmup", type=int, default=20, help="linear warm-up steps, then cosine")
    p.add_argument("--amp", default="auto", choices=["auto", "off", "bf16", "fp16"],
                   help="mixed precision (auto: bf16 on GPUs that have it, off on CPU)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and batches")
    p.add_argument("--checkpoint-every", type=int, default=100,
                   help="steps between checkpoints (default 100; always at the end)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt (same result as an uninterrupted run)")
    p.add_argument("--window-s", type=float, default=2.0,
                   help="audio/IMU window for MCAP and sim data (default 2.0 s)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = (
        "Train towers into an embedding space (torch).\n\n"
        "  bind     InfoNCE between a modality's tower and a frozen hub tower (vision, as in\n"
        "           ImageBind): a new sensor joins the space with paired data only, no labels\n"
        "  distill  a smaller student tower learns to land where the teacher's tower lands\n"
        "  default  retrain the default tiny model on the simulated world (~30 min, 2 cores)\n\n"
        "Several processes: torchrun --nproc-per-node 2 -m edgebind.cli train bind ...\n\n"
        "example:\n  edgebind train bind --init runs/default/model.pt --modality imu "
        "--data rec1.mcap rec2.mcap --out runs/imu --steps 500")
    sub = p.add_subparsers(dest="train_command", metavar="{bind,distill,default}")
    sub.required = True

    b = sub.add_parser("bind", help="bind a modality to a frozen hub tower (InfoNCE)",
                       description="Bind MODALITY's tower to the frozen HUB tower with symmetric "
                                   "InfoNCE on paired windows. Writes OUT/model.pt.")
    b.add_argument("--init", default="tiny",
                   help="starting model: a preset (tiny, small: random init) or a model file "
                        "(e.g. runs/default/model.pt); default tiny")
    b.add_argument("--modality", required=True, choices=[m for m in MODALITIES if m != "vision"]
                   + ["vision"], help="the tower to train")
    b.add_argument("--hub", default="vision", choices=list(MODALITIES),
                   help="the frozen tower it is bound to (default vision)")
    b.add_argument("--train-hub", action="store_true",
                   help="train the hub too (as in a first vision-text stage)")
    b.add_argument("--temperature", default="tower",
                   help="'tower' (the towers' own logit scales, ImageBind), 'learned', or a fixed "
                        "number such as 0.07 (default tower)")
    b.add_argument("--positives", default="pairs", choices=["pairs", "labels"],
                   help="pairs: only the paired window is positive (ImageBind); labels: also "
                        "windows with the same label (needs a label array)")
    b.add_argument("--lora-rank", type=int, default=0,
                   help="train LoRA adapters of this rank on the frozen tower instead of the "
                        "tower itself (0: full training)")
    b.add_argument("--lora-alpha", type=float, default=8.0, help="LoRA scaling alpha")
    _common(b, 500)

    d = sub.add_parser("distill", help="distil a teacher tower into a smaller student",
                       description="The student's MODALITY tower learns the frozen teacher's "
                                   "embeddings (cosine + contrastive), in the teacher's space. "
                                   "Writes OUT/student.pt and OUT/retention.json.")
    d.add_argument("--teacher", required=True, help="teacher model: a model file or a preset")
    d.add_argument("--student", default="tiny",
                   help="student: a preset (its output width is set to the teacher's) or a model "
                        "file (default tiny)")
    d.add_argument("--modality", required=True, choices=list(MODALITIES), help="tower to distil")
    d.add_argument("--cos-weight", type=float, default=1.0, help="weight of 1 - cosine")
    d.add_argument("--contrastive-weight", type=float, default=1.0,
                   help="weight of InfoNCE against the batch's teacher embeddings")
    d.add_argument("--held-out", type=float, default=0.1,
                   help="fraction of the data kept out of training for the retention report")
    _common(d, 500)

    from edgebind.train import default as default_mod
    df = sub.add_parser("default", help="retrain the default tiny model from scratch",
                        description=default_mod.__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    default_mod.add_arguments(df)


def _train_config(args: argparse.Namespace):
    from edgebind.train.loop import TrainConfig
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, accum_steps=args.accum,
                      lr=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup,
                      amp=args.amp, device=args.device, seed=args.seed,
                      checkpoint_every=args.checkpoint_every, progress=not args.quiet,
                      threads=args.threads)
    cfg.validate()
    return cfg


def load_data(sources: list[str], out: Path, window_s: float = 2.0):
    """Cache folders, MCAP files or sim:N[:SEED] -> one ArrayDataset (MCAP/sim are cached under
    OUT/data so a resumed run reads the same windows)."""
    import numpy as np

    from edgebind.train.data import ArrayDataset, load_cache, save_cache
    parts = []
    mcaps = [s for s in sources if s.endswith(".mcap")]
    for s in sources:
        if s in mcaps:
            continue
        if s.startswith("sim:"):
            fields = s.split(":")[1:]
            try:
                n, seed = int(fields[0]), int(fields[1]) if len(fields) > 1 else 1000
            except (ValueError, IndexError):
                raise ValueError(f"--data {s!r}: expected sim:N or sim:N:SEED") from None
            from edgebind.train.simdata import build_cache
            parts.append(load_cache(build_cache(out / "data" / f"sim-{n}-{seed}", n, seed,
                                                window_s=window_s)))
        elif Path(s).is_dir():
            parts.append(load_cache(s))
        else:
            raise FileNotFoundError(f"--data {s!r}: not a cache folder, an .mcap file or sim:N")
    if mcaps:
        for p in mcaps:
            if not Path(p).is_file():
                raise FileNotFoundError(f"--data {p}: no such recording")
        folder = out / "data" / "mcap"
        try:
            parts.append(load_cache(folder))
        except FileNotFoundError:
            from edgebind.train.mcapdata import pairs_from_recordings
            ds = pairs_from_recordings(mcaps, window_s=window_s)
            save_cache(folder, ds.arrays, ds.meta)
            parts.append(load_cache(folder))
    if len(parts) == 1:
        return parts[0]
    common = set.intersection(*(set(p.keys()) for p in parts))
    if not common:
        raise ValueError("the --data sources share no input arrays")
    return ArrayDataset({k: np.concatenate([np.asarray(p.arrays[k]) for p in parts])
                         for k in sorted(common)}, {"sources": sources})


def _bind(args: argparse.Namespace) -> int:
    from edgebind.train import dist
    from edgebind.train.loop import fit
    from edgebind.train.lora import merge_lora
    from edgebind.train.losses import parse_temperature
    from edgebind.train.modelio import load_model, save_model
    from edgebind.train.tasks import BindTask

    cfg = _train_config(args)
    temperature = parse_temperature(args.temperature)
    if args.lora_rank < 0:
        raise ValueError(f"--lora-rank must be >= 0, got {args.lora_rank}")
    info = dist.init()
    data = load_data(args.data, args.out, args.window_s) if info.main else None
    dist.barrier(info)
    if data is None:
        data = load_data(args.data, args.out, args.window_s)
    hub_key = f"{args.hub}_embedding" if f"{args.hub}_embedding" in data.keys() else args.hub
    for need in (args.modality, hub_key):
        if need not in data.keys():
            raise ValueError(f"the data has no {need!r} inputs; it has {', '.join(data.keys())}")
    if args.positives == "labels" and "label" not in data.keys():
        raise ValueError("--positives labels needs a 'label' array in the data")
    model = load_model(args.init, seed=args.seed)
    task = BindTask(model, args.modality, args.hub, temperature=temperature,
                    train_hub=args.train_hub, positives=args.positives,
                    lora_rank=args.lora_rank, lora_alpha=args.lora_alpha)
    keys = [args.modality, hub_key] + (["label"] if args.positives == "labels" else [])
    result = fit(task, data, cfg, args.out, resume=args.resume, keys=keys,
                 label=f"bind {args.modality}->{args.hub}")
    if info.main:
        merge_lora(model)
        path = save_model(model.eval().cpu(), args.out / "model.pt")
        print(json.dumps({"model": str(path), "steps": result.step, "loss": result.loss,
                          **{k: v for k, v in result.metrics.items() if k != "loss"},
                          "seconds": round(result.seconds, 1)}))
    dist.shutdown(info)
    return 0


def _distill(args: argparse.Namespace) -> int:
    import numpy as np

    from edgebind import models
    from edgebind.train import dist
    from edgebind.train.loop import fit
    from edgebind.train.modelio import load_model, save_model
    from edgebind.train.tasks import DistillTask

    cfg = _train_config(args)
    if not 0 < args.held_out < 1:
        raise ValueError(f"--held-out must be between 0 and 1, got {args.held_out}")
    info = dist.init()
    data = load_data(args.data, args.out, args.window_s)
    if args.modality not in data.keys():
        raise ValueError(f"the data has no {args.modality!r} inputs; it has {', '.join(data.keys())}")
    teacher = load_model(args.teacher, seed=args.seed)
    if args.student in models.PRESETS:
        import torch
        torch.manual_seed(args.seed)
        student = models.build(models.PRESETS[args.student].replace(
            out_embed_dim=teacher.embed_dim), teacher.modalities)
    else:
        student = load_model(args.student)
    n_held = max(8, int(len(data) * args.held_out))
    held, train = data.subset(np.arange(n_held)), data.subset(np.arange(n_held, len(data)))
    task = DistillTask(teacher, student, args.modality, args.cos_weight, args.contrastive_weight)
    result = fit(task, train, cfg, args.out, resume=args.resume, keys=[args.modality],
                 label=f"distill {args.modality}")
    if info.main:
        report = retention(teacher, student, args.modality, held)
        report.update({"steps": result.step, "loss": result.loss})
        (args.out / "retention.json").write_text(json.dumps(report, indent=1))
        save_model(student.eval().cpu(), args.out / "student.pt")
        print(json.dumps(report))
    dist.shutdown(info)
    return 0


def retention(teacher, student, modality: str, held) -> dict:
    """Agreement of zero-shot decisions between student and teacher on held-out inputs: against
    text anchors of the data's captions when the teacher has a text tower and the data lists
    captions, else against 16 held-out teacher embeddings used as anchors."""
    import numpy as np

    from edgebind.train.default import embed_all
    from edgebind.train.tasks import agreement
    x = np.asarray(held.arrays[modality])
    t = embed_all(teacher, modality, x)
    s = embed_all(student, modality, x)
    captions = held.meta.get("captions")
    if "text" in teacher.modalities and isinstance(captions, dict) and modality != "text":
        from edgebind.preprocess import tokenize
        anchors = np.stack([embed_all(teacher, "text", tokenize(list(c))).mean(0)
                            for c in captions.values()])
        kind = "text anchors"
    else:
        anchors = t[np.linspace(0, len(t) - 1, min(16, len(t))).astype(int)]
        kind = "teacher exemplars"
    cos = float(np.mean(np.sum(_n(s) * _n(t), axis=1)))
    return {"retention_agreement": agreement(s, t, anchors), "anchors": kind,
            "mean_cosine": cos, "n_held_out": int(len(x))}


def _n(x):
    import numpy as np
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def run(args: argparse.Namespace) -> int:
    if args.train_command == "bind":
        return _bind(args)
    if args.train_command == "distill":
        return _distill(args)
    from edgebind.train import default as default_mod
    return default_mod.run(args)


def main(argv: list[str] | None = None) -> int:
    """For torchrun: ``torchrun --nproc-per-node 2 -m edgebind.train.cli bind ...``."""
    p = argparse.ArgumentParser(prog="edgebind train")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
