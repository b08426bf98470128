"""``edgebind quickstart``: embed one input of every modality and print how they relate.

With no options it runs the ``tiny`` preset with random weights on generated inputs, so it works
on a fresh machine without downloads; the similarities are then meaningless (the weights are
random). ``--checkpoint imagebind_huge.pth`` gives the real ImageBind space, ``--bundle DIR`` runs
an exported bundle with no torch.
"""
from __future__ import annotations

import argparse
import time
import wave
from pathlib import Path

import numpy as np

PROMPTS = ["a dog barking", "glass breaking", "a quiet room", "a person walking"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="tiny",
                     help="preset with random weights: tiny, small, imagebind_huge (default tiny)")
    src.add_argument("--checkpoint", type=Path, help="an ImageBind-layout checkpoint, e.g. imagebind_huge.pth")
    src.add_argument("--bundle", type=Path, help="an exported bundle directory (runs without torch)")
    p.add_argument("--preset", default=None, help="architecture of --checkpoint if not inferable")
    p.add_argument("--image", type=Path, action="append", help="image file(s) to embed (default: generated)")
    p.add_argument("--audio", type=Path, help="a 16-bit PCM WAV file to embed (default: generated)")
    p.add_argument("--text", action="append", help=f"prompt(s) (default: {', '.join(PROMPTS)})")
    p.add_argument("--seed", type=int, default=0, help="seed for generated inputs and preset weights")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV -> (channels, samples) float32 in [-1, 1], rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported here, got {8 * w.getsampwidth()}-bit")
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return (raw.reshape(-1, w.getnchannels()).T / 32768.0).astype(np.float32), w.getframerate()


def generated_inputs(seed: int) -> dict:
    """One plausible raw input per modality, in the SDK's units."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:320]
    img = np.stack([(xx * 255 // 320), (yy * 255 // 240), np.full_like(xx, 90)], -1).astype(np.uint8)
    img[80:160, 120:200] = (220, 40, 40)
    t = np.arange(3 * 16000) / 16000
    bark = (np.sin(2 * np.pi * 600 * t) * (np.sin(2 * np.pi * 2 * t) > 0.6)).astype(np.float32) * 0.4
    bark += rng.normal(0, 0.01, t.shape).astype(np.float32)
    depth_m = 1.0 + 3.0 * (yy / 240.0).astype(np.float32)
    thermal_k = np.full((24, 32), 294.0, np.float32)
    thermal_k[8:16, 12:20] = 309.0
    ts = np.arange(2000, dtype=np.int64) * 2_500_000          # 400 Hz for 5 s
    ph = 2 * np.pi * 1.8 * ts / 1e9
    imu = np.stack([0.5 * np.sin(ph), 0.2 * np.cos(ph), 9.81 + 1.2 * np.sin(2 * ph),
                    0.05 * np.cos(ph), 0.3 * np.sin(ph), 0.02 * np.sin(2 * ph)], 1).astype(np.float32)
    return {"vision": [img], "audio": [(bark, 16000)], "depth": [depth_m],
            "thermal": [thermal_k], "imu": [(imu, ts)]}


def run(args: argparse.Namespace) -> int:
    from edgebind.embedder import Embedder, cosine

    t0 = time.perf_counter()
    if args.bundle:
        emb = Embedder.from_bundle(args.bundle)
        what = f"bundle {args.bundle} (space {emb.space_id})"
    elif args.checkpoint:
        emb = Embedder(str(args.checkpoint), preset=args.preset)
        what = f"checkpoint {args.checkpoint}"
    else:
        emb = Embedder(args.model, seed=args.seed)
        what = f"preset {args.model!r} with RANDOM weights (similarities are meaningless)"
    print(f"EdgeBind quick start: {what}; loaded in {time.perf_counter() - t0:.1f} s")
    inputs = generated_inputs(args.seed)
    if args.image:
        inputs["vision"] = [str(p) for p in args.image]
    if args.audio:
        inputs["audio"] = [read_wav(args.audio)]
    prompts = args.text or PROMPTS
    inputs["text"] = prompts
    inputs = {m: v for m, v in inputs.items() if m in emb.modalities}
    t0 = time.perf_counter()
    out = emb.embed(**inputs)
    print(f"embedded {sum(len(v) for v in out.values())} inputs in {time.perf_counter() - t0:.2f} s; "
          f"embedding dim {emb.embed_dim}\n")
    print(f"{'modality':9s} {'shape':>10s} {'norm':>7s}   (ImageBind scales: vision 1, audio 20, "
          "depth 5, thermal 10, imu 5)")
    for m, e in out.items():
        print(f"{m:9s} {str(e.shape):>10s} {np.linalg.norm(e[0]):7.3f}")
    if "text" in out:
        others = [m for m in out if m != "text"]
        print("\ncosine similarity of each input to each prompt:")
        print(" " * 10 + "".join(f"{p[:16]:>18s}" for p in prompts))
        for m in others:
            sims = cosine(out[m][:1], out["text"])[0]
            print(f"{m:10s}" + "".join(f"{s:18.3f}" for s in sims))
    print("\nnext: `edgebind quickstart --checkpoint imagebind_huge.pth` for the real ImageBind space; "
          "`edgebind export --help` to build a device bundle.")
    return 0
