"""Building anchors: from words (a text encoder over prompt-template ensembles), from examples
(a few-shot mean of embeddings) and from other anchors (ImageBind's embedding arithmetic), and
a whole anchor set from a prompts file. Workstation side: it runs an encoder (numpy in, numpy
out; torch is not needed)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from edgebind.anchors.prompts import DEFAULT_TEMPLATES, AnchorSpec, PromptsFile
from edgebind.anchors.records import DEFAULT_KEY, EMBEDDING_KEYS, Anchor, AnchorSet, AnchorSetError
from edgebind.anchors.vectors import ensemble, normalize
from edgebind.checks import is_finite_number
from edgebind.fileio import load_npy

TextEncoder = Callable[[list[str]], np.ndarray]


def _fill(template: str, prompt: str) -> str:
    # str.replace, not str.format: prompts and templates may contain other braces.
    return template.replace("{}", prompt, 1)


def _encode(encode: TextEncoder, texts: list[str], dim: int | None) -> np.ndarray:
    out = np.asarray(encode(texts), dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != len(texts) or (dim is not None and out.shape[1] != dim):
        want = f"({len(texts)}, {dim if dim is not None else 'D'})"
        raise ValueError(f"the text encoder returned shape {out.shape}; expected {want}")
    return normalize(out, "text embeddings")


def _checked_templates(name: str, templates: Mapping[str, Sequence[str]] | None
                       ) -> dict[str, tuple[str, ...]]:
    tmpl = {k: tuple(v) for k, v in (DEFAULT_TEMPLATES if templates is None else templates).items()}
    tmpl.setdefault(DEFAULT_KEY, DEFAULT_TEMPLATES[DEFAULT_KEY])
    for key, ts in tmpl.items():
        if key not in EMBEDDING_KEYS:
            raise ValueError(f"anchor {name!r}: template key {key!r}: expected one of {', '.join(EMBEDDING_KEYS)}")
        if not ts:
            raise ValueError(f"anchor {name!r}: templates for {key!r} are empty")
        for t in ts:
            if "{}" not in t:
                raise ValueError(f"anchor {name!r}: template {t!r} has no '{{}}' where the prompt goes")
    return tmpl


def text_anchor(name: str, prompts: Sequence[str], encode: TextEncoder, *,
                templates: Mapping[str, Sequence[str]] | None = None,
                threshold: float | None = None, background: bool = False,
                dim: int | None = None) -> Anchor:
    """An anchor from prompts: per template key ("default" or a modality), the renormalised mean
    of the normalised embeddings of every (template, prompt) pair. ``encode`` is any callable
    list[str] -> (N, D): a torch model's text tower or a bundle's."""
    if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
        raise ValueError(f"anchor {name!r}: prompts must be a list of strings")
    # Empty prompts are embedded as they are (the report says so), not dropped in silence.
    prompts = [p.strip() for p in prompts]
    if not prompts:
        raise ValueError(f"anchor {name!r}: give at least one prompt")
    tmpl = _checked_templates(name, templates)
    pairs = [(key, _fill(t, p)) for key, ts in tmpl.items() for t in ts for p in prompts]
    emb = _encode(encode, [text for _, text in pairs], dim)
    keys = np.asarray([key for key, _ in pairs])
    embeddings = {k: ensemble(emb[keys == k], what=f"anchor {name!r} {k} prompts") for k in tmpl}
    return Anchor(name=name, embeddings=embeddings, prompts=tuple(prompts), templates=tmpl,
                  threshold=threshold, background=background, source="text")


def example_anchor(name: str, examples: Mapping[str, np.ndarray] | np.ndarray, *,
                   threshold: float | None = None, background: bool = False) -> Anchor:
    """A few-shot anchor: the renormalised mean of example embeddings. ``examples`` is an (N, D)
    array (used for every modality) or {modality: (N, D)} (one embedding per modality, and the
    default is the mean over all of them)."""
    if not isinstance(examples, Mapping):
        examples = {DEFAULT_KEY: np.asarray(examples)}
    if not examples:
        raise ValueError(f"anchor {name!r}: no examples given")
    embeddings, counts = {}, {}
    for key, e in examples.items():
        if key not in EMBEDDING_KEYS:
            raise ValueError(f"anchor {name!r}: example key {key!r}: expected one of {', '.join(EMBEDDING_KEYS)}")
        rows = normalize(np.atleast_2d(np.asarray(e, dtype=np.float64)), f"anchor {name!r} {key} examples")
        if rows.ndim != 2 or len(rows) == 0:
            raise ValueError(f"anchor {name!r}: {key} examples must be (N, D) with N >= 1, got {rows.shape}")
        embeddings[key] = ensemble(rows, what=f"anchor {name!r} {key} examples")
        counts[key] = len(rows)
    if DEFAULT_KEY not in embeddings:
        embeddings[DEFAULT_KEY] = ensemble(np.stack(list(embeddings.values())),
                                           what=f"anchor {name!r} examples")
    return Anchor(name=name, embeddings=embeddings, threshold=threshold, background=background,
                  source="examples", meta={"examples": counts})


def composed_anchor(name: str, terms: Sequence[tuple[Anchor | np.ndarray, float]], *,
                    threshold: float | None = None, background: bool = False) -> Anchor:
    """ImageBind-style embedding arithmetic: the renormalised weighted sum of normalised terms
    (anchors or raw embeddings; negative weights subtract). Per modality, each anchor term
    contributes its embedding for that modality (its default where it has none)."""
    if not terms:
        raise ValueError(f"anchor {name!r}: a composed anchor needs at least one term")
    weights = []
    for i, (_, w) in enumerate(terms):
        if not is_finite_number(w):
            raise ValueError(f"anchor {name!r}: term {i}: weight must be a finite number, got {w!r}")
        weights.append(float(w))
    keys = {DEFAULT_KEY}
    for t, _ in terms:
        if isinstance(t, Anchor):
            keys |= set(t.embeddings)
    embeddings = {}
    for key in sorted(keys, key=EMBEDDING_KEYS.index):
        rows = [t.embedding(key) if isinstance(t, Anchor) else np.asarray(t) for t, _ in terms]
        embeddings[key] = ensemble(np.stack(rows), weights, f"anchor {name!r} composition ({key})")
    recipe = [{"anchor": t.name if isinstance(t, Anchor) else "<embedding>", "weight": w}
              for (t, _), w in zip(terms, weights)]
    return Anchor(name=name, embeddings=embeddings, threshold=threshold, background=background,
                  source="composed", meta={"composition": recipe})


def clip_anchor(name: str, embedder: Any, *, threshold: float | None = None, **inputs: Any) -> Anchor:
    """A few-shot anchor from raw clips: ``clip_anchor("fall", embedder, audio=[...], imu=[...])``
    embeds them with ``embedder`` (an :class:`edgebind.Embedder`) and averages per modality."""
    embs = embedder.embed(**inputs)
    return example_anchor(name, {m: e for m, e in embs.items()}, threshold=threshold)


def embedder_text_encoder(embedder: Any, batch_size: int = 32) -> TextEncoder:
    """The text tower of an :class:`edgebind.Embedder` as a ``list[str] -> (N, D)`` callable."""
    if "text" not in embedder.modalities:
        raise ValueError(f"the embedder has no text tower (it has {', '.join(embedder.modalities)}); "
                         "anchors from prompts need one")
    return lambda texts: embedder.embed(batch_size=batch_size, text=list(texts))["text"]


def _example_arrays(spec: AnchorSpec, dim: int) -> dict[str, np.ndarray]:
    """The (N, D) arrays an ``examples`` anchor of a prompts file names."""
    arrays = {}
    for k, p in spec.examples.items():
        try:
            arrays[k] = load_npy(p, f"anchor {spec.name!r}: examples.{k}", AnchorSetError)
        except FileNotFoundError:
            raise AnchorSetError(f"anchor {spec.name!r}: examples.{k}: {p} does not "
                                 "exist") from None
        if arrays[k].ndim not in (1, 2) or arrays[k].shape[-1] != dim:
            raise ValueError(f"anchor {spec.name!r}: examples.{k}: {p} has shape {arrays[k].shape}; "
                             f"expected (N, {dim})")
    return arrays


def _compose_in_order(specs: Sequence[AnchorSpec], built: dict[str, Anchor],
                      progress: Callable[[str], None] | None) -> None:
    """Composed anchors may build on each other: resolve them in dependency order."""
    pending = [s for s in specs if s.compose]
    while pending:
        ready = [s for s in pending if all(r in built for r, _ in s.compose)]
        if not ready:
            raise ValueError("composed anchors refer to each other in a cycle: "
                             + ", ".join(s.name for s in pending))
        for s in ready:
            built[s.name] = composed_anchor(s.name, [(built[r], w) for r, w in s.compose],
                                            threshold=s.threshold, background=s.background)
            if progress:
                progress(s.name)
        pending = [s for s in pending if s.name not in built]


def build_anchor_set(prompts: PromptsFile, encode: TextEncoder | None, space_id: str, dim: int,
                     meta: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> AnchorSet:
    """Build every anchor of a prompts file: text anchors with ``encode``, example anchors from
    their .npy files, then composed anchors from the others."""
    aset = AnchorSet(space_id=space_id, dim=dim, meta=dict(meta or {}))
    built: dict[str, Anchor] = {}
    for s in prompts.specs:
        if s.prompts:
            if encode is None:
                raise ValueError(f"anchor {s.name!r} has prompts, which need a text encoder")
            built[s.name] = text_anchor(s.name, s.prompts, encode, templates=s.templates,
                                        threshold=s.threshold, background=s.background, dim=dim)
        elif s.examples:
            built[s.name] = example_anchor(s.name, _example_arrays(s, dim), threshold=s.threshold,
                                           background=s.background)
        if progress and s.name in built:
            progress(s.name)
    _compose_in_order(prompts.specs, built, progress)
    for s in prompts.specs:  # keep the file's order
        aset.add(built[s.name])
    return aset
