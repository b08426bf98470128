"""What ``edgebind anchors build`` and ``show`` tell users about their anchors (numpy only).

Per anchor: its nearest other anchor and their cosine, and what happened to each prompt (empty,
no letters, other scripts or emoji, truncated, word pieces the vocabulary does not know).
Anchors are built whatever the prompts hold; the report is how users learn that their words
are out of the text tower's reach.

Too close to tell apart (``CLOSE_COSINE``): a window embedding w that matches anchor A with
cosine s scores at most s*c + sqrt(1-s^2)*sqrt(1-c^2) on an anchor B at cosine c from A, and
exactly s*c when w lies along A: the best margin any window can give A over B is about s(1-c).
Zero-shot matches score s = 0.25-0.5 in EdgeBind's spaces (the shipped detector's threshold is
0.25), so at c = 0.9 that margin is 0.025-0.05: no more than the detector's own margin (0.05)
and hysteresis (0.03). Above it the detector cannot keep the two events apart; merge them or
reword one.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgebind.anchors.prompts import PromptsFile
from edgebind.anchors.records import AnchorSet
from edgebind.preprocess.text_tokens import TokenizedText

CLOSE_COSINE = 0.9


@dataclass
class AnchorFindings:
    name: str
    nearest: str | None = None
    cosine: float | None = None
    key: str | None = None              # the embedding (default or a modality) where closest
    prompts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "nearest": self.nearest,
                "cosine": None if self.cosine is None else round(self.cosine, 4),
                "key": self.key, "prompts": self.prompts}


def text_findings(text: str) -> list[str]:
    """What a reader should know about a prompt's characters, before any tokenizer."""
    out = []
    if not text.strip():
        return ["empty: the anchor points at the text tower's embedding of nothing"]
    if not any(c.isalnum() for c in text):
        out.append("no letters or digits (only punctuation or symbols)")
    scripts = sorted({_script(c) for c in text if c.isalpha()} - {"LATIN"})
    if scripts:
        out.append(f"{', '.join(s.lower() for s in scripts)} script: check the text tower "
                   "knows the language (all-MiniLM-L6-v2 was trained on English)")
    emoji = sum(1 for c in text if unicodedata.category(c) == "So")
    if emoji:
        out.append(f"{emoji} emoji or symbol(s), which text towers mostly do not know")
    return out


def _script(c: str) -> str:
    try:
        return unicodedata.name(c).split()[0]
    except ValueError:
        return "UNNAMED"


def prompt_findings(prompts: PromptsFile,
                    tokenize: Callable[[list[str]], TokenizedText]) -> dict[str, list[dict]]:
    """{anchor: [{prompt, problems}]} for every text anchor: the prompt's characters, and what
    the tokenizer did to it and to its template sentences (truncation happens there)."""
    out: dict[str, list[dict]] = {}
    for spec in prompts.specs:
        if not spec.prompts:
            continue
        templates = [t for ts in (spec.templates or {"default": ("{}",)}).values() for t in ts]
        rows = []
        for p in spec.prompts:
            filled = [t.replace("{}", p, 1) for t in templates]
            notes = tokenize([p, *filled]).notes
            problems = text_findings(p)
            said = notes[0].problems()
            if not p.strip():   # already reported as empty
                said = [x for x in said if not x.startswith("no words")]
            problems += said
            cut = [n for n in notes[1:] if n.truncated]
            if cut and not notes[0].truncated:
                problems.append(f"truncated in {len(cut)} of {len(filled)} template sentences "
                                f"(at {cut[0].kept + 2} tokens)")
            rows.append({"prompt": p, "problems": problems})
        out[spec.name] = rows
    return out


def nearest_anchors(aset: AnchorSet) -> list[AnchorFindings]:
    """Per anchor, the other anchor it is closest to in any embedding both are seen by (the
    default, or a modality's template ensemble), and that cosine."""
    keys = sorted({k for a in aset for k in a.embeddings})
    found = [AnchorFindings(a.name) for a in aset]
    if len(aset) < 2:
        return found
    best = np.full((len(aset),), -np.inf)
    for key in keys:
        m = aset.matrix(key).astype(np.float64)
        sim = m @ m.T
        np.fill_diagonal(sim, -np.inf)
        for i, row in enumerate(sim):
            j = int(np.argmax(row))
            if row[j] > best[i]:
                best[i] = row[j]
                found[i].nearest, found[i].cosine, found[i].key = aset.anchors[j].name, float(row[j]), key
    return found


def too_close(found: Sequence[AnchorFindings], close: float = CLOSE_COSINE) -> list[dict]:
    """Pairs at or above ``close``, each once."""
    pairs, seen = [], set()
    for f in found:
        if f.cosine is not None and f.cosine >= close:
            pair = tuple(sorted((f.name, f.nearest)))
            if pair not in seen:
                seen.add(pair)
                pairs.append({"anchors": list(pair), "cosine": round(f.cosine, 4), "key": f.key})
    return pairs


def build_report(aset: AnchorSet, prompts: PromptsFile,
                 tokenize: Callable[[list[str]], TokenizedText] | None,
                 close: float = CLOSE_COSINE, text_tower: str | None = None) -> dict[str, Any]:
    found = nearest_anchors(aset)
    notes = prompt_findings(prompts, tokenize) if tokenize is not None else {}
    for f in found:
        f.prompts = notes.get(f.name, [])
    return {"text_tower": text_tower, "close_cosine": close,
            "anchors": [f.to_dict() for f in found], "too_close": too_close(found, close),
            "prompts_with_problems": sum(1 for rows in notes.values() for r in rows
                                         if r["problems"])}


def format_report(report: dict[str, Any]) -> list[str]:
    """Lines for people: one per anchor, its prompts' problems beneath, warnings last."""
    lines = []
    for a in report["anchors"]:
        near = (f"nearest {a['nearest']} (cosine {a['cosine']:.3f}"
                + (f", {a['key']})" if a["key"] != "default" else ")")) if a["nearest"] else \
            "no other anchor"
        lines.append(f"  {a['name']:<24} {near}")
        for p in a["prompts"]:
            for problem in p["problems"]:
                lines.append(f"      prompt {p['prompt'][:40]!r}: {problem}")
    for pair in report["too_close"]:
        a, b = pair["anchors"]
        lines.append(f"warning: anchors {a!r} and {b!r} are too close to tell apart (cosine "
                     f"{pair['cosine']:.3f} >= {report['close_cosine']:g} in their {pair['key']} "
                     "embeddings); merge them or reword one")
    return lines


def set_rows(aset: AnchorSet) -> list[dict[str, Any]]:
    """One row per anchor for ``edgebind anchors show``."""
    return [{"name": a.name, "source": a.source, "background": a.background,
             "threshold": a.threshold, "embeddings": sorted(a.embeddings), "prompts": list(a.prompts)}
            for a in aset]


def format_set(path: str, aset: AnchorSet) -> list[str]:
    """Lines for people: the set, one line per anchor, and its closest pair."""
    lines = [f"{path}: space {aset.space_id}, dim {aset.dim}, {len(aset)} anchors"]
    for r in set_rows(aset):
        kind = "background" if r["background"] else "event"
        thr = "-" if r["threshold"] is None else f"{r['threshold']:.3f}"
        lines.append(f"  {r['name']:<24} {kind:<10} {r['source']:<9} thr {thr:<6} "
                     f"{','.join(r['embeddings'])}  {'; '.join(r['prompts'])[:60]}")
    if len(aset) > 1:
        m = aset.matrix()
        sim = m @ m.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
        lines.append(f"closest pair: {aset.anchors[i].name} ~ {aset.anchors[j].name} "
                     f"(cosine {sim[i, j]:.3f}); anchors closer than ~0.9 are hard to tell apart")
    return lines
