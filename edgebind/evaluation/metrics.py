"""The emergent zero-shot table's numbers from embeddings: pure numpy (see ``edgebind.evaluation``
for what each means)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from edgebind.evaluation.linear_probe import fit_linear_probe

SENSORS = ("audio", "depth", "thermal", "imu")


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def zero_shot_predictions(emb: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    return (normalize(emb) @ normalize(anchors).T).argmax(axis=1)


def hit_rate(pred: np.ndarray, active: np.ndarray) -> float:
    """Fraction of rows whose predicted class is active in that row (``active`` (N, E) bool)."""
    return float(active[np.arange(len(pred)), pred].mean())


def retrieval_recall(query: np.ndarray, gallery: np.ndarray, ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """Instance retrieval: query i's true match is gallery row i. R@k = match within top k."""
    sims = normalize(query) @ normalize(gallery).T
    rank = (sims > sims[np.arange(len(sims)), np.arange(len(sims))][:, None]).sum(axis=1)
    return {f"R@{k}": float((rank < k).mean()) for k in ks}


def event_retrieval(query: np.ndarray, gallery: np.ndarray, active: np.ndarray) -> float:
    """Fraction of queries whose top gallery item shares an active event with the query."""
    best = (normalize(query) @ normalize(gallery).T).argmax(axis=1)
    return float((active[best] & active).any(axis=1).mean())


def embedding_arithmetic(vision: np.ndarray, other: np.ndarray, active: np.ndarray,
                         max_queries: int = 500, seed: int = 0) -> dict[str, Any] | None:
    """vision(i) + other(j) for single-event windows i (event A) and j (event B): does the nearest
    vision embedding of the set show both A and B? Needs two-event windows in the set; compared
    with the vision query alone and with chance."""
    rng = np.random.default_rng(seed)
    counts = active.sum(axis=1)
    pairs = {tuple(np.flatnonzero(r)) for r in active[counts == 2]}
    singles = {e: np.flatnonzero((counts == 1) & active[:, e]) for e in range(active.shape[1])}
    queries = []
    for a, b in sorted(pairs):
        for first, second in ((a, b), (b, a)):
            if len(singles[first]) and len(singles[second]):
                for _ in range(4):
                    queries.append((rng.choice(singles[first]), rng.choice(singles[second]),
                                    first, second))
    if not queries:
        return None
    queries = queries[:max_queries]
    v, o = normalize(vision), normalize(other)
    both = lambda idx, a, b: bool(active[idx, a] and active[idx, b])  # noqa: E731
    hits = base = chance = 0.0
    for i, j, a, b in queries:
        sims = v @ (v[i] + o[j])
        sims[i] = -np.inf  # never retrieve the query scene itself
        hits += both(int(sims.argmax()), a, b)
        s0 = v @ v[i]
        s0[i] = -np.inf
        base += both(int(s0.argmax()), a, b)
        chance += float((active[:, a] & active[:, b]).mean())
    n = len(queries)
    return {"queries": n, "top1_has_both": hits / n, "vision_only_top1_has_both": base / n,
            "chance": chance / n}


# -- the table -----------------------------------------------------------------------------------
def chance(active: np.ndarray) -> float:
    """Top-1 of a uniformly random guess when any active event counts: the mean number of
    active events per window over the number of events (windows may hold two)."""
    active = np.asarray(active, bool)
    return float(active.sum(axis=1).mean() / active.shape[1])


def evaluate_embeddings(test: Mapping[str, np.ndarray], active: np.ndarray, anchors: np.ndarray,
                        probe_train: Mapping[str, np.ndarray] | None = None,
                        probe_labels: np.ndarray | None = None) -> dict[str, Any]:
    """The table from embeddings: ``test`` {modality: (N, D)} incl. vision, ``active`` (N, E)."""
    n_events = anchors.shape[0]
    out: dict[str, Any] = {"n_test": int(len(active)), "chance": chance(active),
                           "chance_uniform": 1.0 / n_events, "modalities": {}}
    if "vision" in test:
        out["vision_to_text_top1"] = hit_rate(zero_shot_predictions(test["vision"], anchors), active)
    for m in SENSORS:
        if m not in test:
            continue
        row: dict[str, Any] = {"zero_shot_top1": hit_rate(zero_shot_predictions(test[m], anchors),
                                                           active)}
        if probe_train is not None and m in probe_train:
            probe = fit_linear_probe(probe_train[m], probe_labels, n_events)
            row["linear_probe_top1"] = hit_rate(probe.predict(test[m]), active)
            row["linear_probe_fit"] = probe.record()
            row["ratio"] = row["zero_shot_top1"] / max(row["linear_probe_top1"], 1e-9)
        if "vision" in test:
            row.update({f"to_vision_{k}": v for k, v in
                        retrieval_recall(test[m], test["vision"]).items()})
            row["to_vision_event_R@1"] = event_retrieval(test[m], test["vision"], active)
        out["modalities"][m] = row
    if "vision" in test and "audio" in test:
        out["arithmetic_vision_plus_audio"] = embedding_arithmetic(test["vision"], test["audio"],
                                                                   active)
    return out


def phrasing_report(captions_report: Mapping[str, Any], test: Mapping[str, np.ndarray],
                    active: np.ndarray, caption_anchors: np.ndarray,
                    phrasing_anchors: np.ndarray,
                    phrasings: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Open vocabulary: the same windows against anchors built from other wordings of the events
    (``edgebind.sim.HELDOUT_PHRASINGS``, never trained on), and each wording on its own: is its
    nearest caption anchor its own event?"""
    phr = evaluate_embeddings(test, active, phrasing_anchors)
    out: dict[str, Any] = {"modalities": {}}
    if "vision_to_text_top1" in phr:
        out["vision_to_text_top1"] = phr["vision_to_text_top1"]
        out["vision_to_text_kept"] = phr["vision_to_text_top1"] / max(
            captions_report["vision_to_text_top1"], 1e-9)
    for m, row in phr["modalities"].items():
        base = captions_report["modalities"][m]["zero_shot_top1"]
        out["modalities"][m] = {"zero_shot_top1": row["zero_shot_top1"],
                                "kept": row["zero_shot_top1"] / max(base, 1e-9)}
    hits = total = 0
    for i, e in enumerate(phrasings):   # phrasings and anchors both in event order
        nearest = zero_shot_predictions(phrasings[e], caption_anchors)
        hits += int((nearest == i).sum())
        total += len(nearest)
    out["single_phrasing_to_caption_anchor_top1"] = hits / max(total, 1)
    out["n_phrasings"] = total
    return out
