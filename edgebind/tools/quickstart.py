"""The quick start: embed one input of every modality and print how they relate
(``edgebind quickstart``).

With no options it runs the ``tiny`` preset with random weights on generated inputs, so it works
on a fresh machine without downloads; the similarities are then meaningless (the weights are
random). A checkpoint (``imagebind_huge.pth``) gives the real ImageBind space, a bundle runs
with no torch.
"""
from __future__ import annotations

import json
import time
import wave
from pathlib import Path
from typing import Any, Sequence

import numpy as np

PROMPTS = ["a dog barking", "glass breaking", "a quiet room", "a person walking"]


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


def open_embedder(model: str = "tiny", checkpoint: Path | None = None,
                  bundle: Path | None = None, preset: str | None = None,
                  seed: int = 0) -> tuple[Any, str]:
    """(embedder, what it is, in words): a bundle, a checkpoint, else a preset's random weights."""
    from edgebind.embedder import Embedder
    if bundle:
        emb = Embedder.from_bundle(bundle)
        return emb, f"bundle {bundle} (space {emb.space_id})"
    if checkpoint:
        return Embedder(str(checkpoint), preset=preset), f"checkpoint {checkpoint}"
    return (Embedder(model, seed=seed),
            f"preset {model!r} with RANDOM weights (similarities are meaningless)")


def quickstart(model: str = "tiny", checkpoint: Path | None = None, bundle: Path | None = None,
               preset: str | None = None, images: Sequence[Path] | None = None,
               audio: Path | None = None, prompts: Sequence[str] | None = None,
               seed: int = 0, as_json: bool = False) -> dict[str, Any]:
    """Load, embed the inputs (generated unless given) and print norms and similarities (as
    one JSON document with ``as_json``); returns that report."""
    t0 = time.perf_counter()
    emb, what = open_embedder(model, checkpoint, bundle, preset, seed)
    load_s = time.perf_counter() - t0
    if not as_json:
        print(f"EdgeBind quick start: {what}; loaded in {load_s:.1f} s")
    inputs = generated_inputs(seed)
    if images:
        inputs["vision"] = [str(p) for p in images]
    if audio:
        inputs["audio"] = [read_wav(audio)]
    prompts = list(prompts or PROMPTS)
    inputs["text"] = prompts
    inputs = {m: v for m, v in inputs.items() if m in emb.modalities}
    t0 = time.perf_counter()
    out = emb.embed(**inputs)
    embed_s = time.perf_counter() - t0
    report = _report(out, prompts, what, emb.embed_dim, load_s, embed_s)
    if as_json:
        print(json.dumps(report, indent=1))
        return report
    print(f"embedded {report['inputs']} inputs in {embed_s:.2f} s; "
          f"embedding dim {emb.embed_dim}\n")
    print_similarities(out, prompts)
    print("\nnext: `edgebind quickstart --checkpoint imagebind_huge.pth` for the real ImageBind space; "
          "`edgebind export --help` to build a device bundle.")
    return report


def _report(out: dict[str, np.ndarray], prompts: Sequence[str], what: str, dim: int,
            load_s: float, embed_s: float) -> dict[str, Any]:
    """What the text output shows, as plain data (``--json``)."""
    from edgebind.embedder import cosine
    sims = {m: dict(zip(prompts, (float(x) for x in cosine(e[:1], out["text"])[0])))
            for m, e in out.items() if m != "text" and "text" in out}
    return {"model": what, "load_s": round(load_s, 3), "embed_s": round(embed_s, 3),
            "inputs": sum(len(v) for v in out.values()), "embed_dim": int(dim),
            "embeddings": {m: {"shape": list(e.shape), "norm": float(np.linalg.norm(e[0]))}
                           for m, e in out.items()},
            "prompts": list(prompts), "similarity": sims}


def print_similarities(out: dict[str, np.ndarray], prompts: Sequence[str]) -> None:
    from edgebind.embedder import cosine
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
