"""The evaluation of a bundle: held-out simulated windows through its towers, anchors from its
text tower (or a file), then the table (``edgebind.evaluation.metrics``). Torch-free."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgebind.evaluation.metrics import SENSORS, evaluate_embeddings, normalize, phrasing_report
from edgebind.evaluation.report import goals

DEFAULT_SEED = 7


def text_anchors(embed_text, captions: Mapping[str, Sequence[str]], events: Sequence[str]) -> np.ndarray:
    """One anchor per event: the normalised mean of its captions' normalised text embeddings."""
    return normalize(np.stack([normalize(embed_text(list(captions[e]))).mean(0) for e in events]))


def anchors_from_file(path: str | Path, events: Sequence[str], space_id: str | None) -> np.ndarray:
    doc = json.loads(Path(path).read_text())
    if space_id is not None and doc.get("space_id") not in (None, space_id):
        raise ValueError(f"{path}: anchors are for space {doc.get('space_id')}, the bundle is "
                         f"{space_id}")
    by_name = {a["name"]: a for a in doc.get("anchors", [])}
    missing = [e for e in events if e not in by_name]
    if missing:
        raise ValueError(f"{path}: no anchors for {', '.join(missing)}")
    return normalize(np.asarray([by_name[e]["embeddings"]["default"] for e in events]))


@dataclass
class BundleEmbedder:
    """Model-ready arrays -> embeddings through a bundle (fits cached inputs to its shapes)."""

    embedder: Any

    def __call__(self, modality: str, x: np.ndarray, batch: int = 32) -> np.ndarray:
        x = np.asarray(x)
        spec = self.embedder._bundle.manifest.encoders[modality].input
        if len(spec.shape) == x.ndim + 1:  # a clip axis the cache does not store
            clips = spec.shape[1]           # "clips": any count; the window is one clip
            x = x[:, None] if isinstance(clips, str) else np.repeat(x[:, None], int(clips), axis=1)
        want = np.int64 if modality == "text" else np.float32
        return self.embedder.embed_batch(modality, x.astype(want, copy=False), batch_size=batch)


def evaluate_bundle(bundle: str | Path | None = None, *, seed: int = DEFAULT_SEED, n: int = 400,
                    n_probe: int = 800, difficulty: float | None = None,
                    anchors: str | Path | None = None,
                    threads: int | None = None, workers: int = 2,
                    progress: bool = False, precision: str | None = None) -> dict[str, Any]:
    """``precision``: e.g. ``fp32`` for the model's own numbers on any CPU (default: the
    variants ``load_bundle`` picks here, as the device runs them)."""
    from edgebind.embedder import Embedder
    from edgebind.preprocess import PreprocessConfig
    from edgebind.sim import CAPTIONS, EVENTS, HELDOUT_PHRASINGS
    from edgebind.train.simdata import render

    if bundle is None:
        bundle, anchors = _default_bundle(anchors)
    emb = Embedder.from_bundle(bundle, threads=threads, **_precision_for(bundle, precision))
    pre = PreprocessConfig.from_dict(emb._bundle.manifest.preprocess)
    if difficulty is None:  # the difficulty the bundle was trained at, else the sim default
        difficulty = float(emb.training.get("difficulty", 1.0))
    window_s = float(pre.imu.window_s)
    have = [m for m in ("vision", *SENSORS) if m in emb.modalities]
    run = BundleEmbedder(emb)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if progress else (lambda s: None)
    log(f"rendering {n} held-out windows (seed {seed}) and {n_probe} probe windows "
        f"(seed {seed + 1})")
    test = render(n, seed, pre=pre, difficulty=difficulty, window_s=window_s, keys=have,
                  dtype=np.float32, workers=workers)
    probe = render(n_probe, seed + 1, pre=pre, difficulty=difficulty, window_s=window_s,
                   keys=[m for m in have if m != "vision"], dtype=np.float32,
                   workers=workers) if n_probe else None
    log("embedding")
    test_emb = {m: run(m, test.arrays[m]) for m in have}
    probe_emb = {m: run(m, probe.arrays[m]) for m in have if m != "vision"} if probe else None

    def embed_text(texts):   # through the bundle's own text tower and tokenizer
        return emb.embed(text=list(texts))["text"]

    if anchors is not None:
        anchor_emb = anchors_from_file(anchors, EVENTS, emb.space_id)
    else:
        anchor_emb = text_anchors(embed_text, CAPTIONS, EVENTS)
    report = evaluate_embeddings(test_emb, test.arrays["events"], anchor_emb, probe_emb,
                                 probe.arrays["label"].astype(np.int64) if probe else None)
    if "text" in emb.modalities:
        report["heldout_phrasings"] = phrasing_report(
            report, test_emb, test.arrays["events"], anchor_emb,
            text_anchors(embed_text, HELDOUT_PHRASINGS, EVENTS),
            {e: embed_text(HELDOUT_PHRASINGS[e]) for e in EVENTS})
    report["encoders"] = {m: c.variant for m, c in emb.bundle.choices.items()}
    report.update({"bundle": str(bundle), "space_id": emb.space_id, "seed": seed,
                   "probe_seed": seed + 1, "difficulty": difficulty, "window_s": window_s,
                   "anchors": str(anchors) if anchors else "captions via the text tower",
                   "events": list(EVENTS)})
    report["goals"] = goals(report)
    return report


def _default_bundle(anchors: str | Path | None) -> tuple[Path, str | Path | None]:
    """The shipped default bundle, with its shipped anchors unless ``anchors`` names others."""
    from edgebind.assets import default_anchors_path, default_bundle_path
    bundle = default_bundle_path()
    if anchors is None:
        try:
            anchors = default_anchors_path()
        except FileNotFoundError:
            anchors = None
    return bundle, anchors


def _precision_for(bundle, precision: str | None) -> dict[str, Any]:
    """``precision`` for every tower that has it (the default text hub is INT8 only)."""
    if precision is None:
        return {}
    from edgebind.runtime.manifest import Manifest
    manifest = Manifest.read(Path(bundle) / "manifest.json")
    return {"precision": {m: precision for m, e in manifest.encoders.items()
                          if any(v.family == precision for v in e.variants.values())}}
