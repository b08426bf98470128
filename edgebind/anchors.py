"""Anchors: named points in the embedding space that the detector compares windows against.

An anchor comes from words (prompts, averaged over per-modality prompt templates), from examples
(embeddings of recorded clips: a few-shot mean) or from other anchors (weighted sums: ImageBind's
embedding arithmetic). Anchors built on the workstation are saved as an anchor-set file, so the
device needs no text encoder; loading and using an anchor set needs numpy only.

Anchor-set file (JSON, ``"schema": "edgebind.anchors/1"``)::

    {"schema": "edgebind.anchors/1", "space_id": "ebs1-...", "dim": 128, "meta": {...},
     "anchors": [{"name": "glass_breaking", "prompts": ["glass breaking"],
                  "templates": {"audio": ["the sound of {}."]},
                  "embeddings": {"default": [...128 floats...], "audio": [...]},
                  "threshold": 0.3, "background": false, "source": "text", "meta": {}}]}

Every embedding is stored unit-norm. ``embeddings["default"]`` is required; a modality key
(``vision audio depth thermal imu text``) holds the anchor as seen by that modality's windows.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.errors import EdgeBindError
from edgebind.checks import isfinite as _isfinite
from edgebind.fileio import atomic_write, load_npy, parse_json, parse_toml
from edgebind.modality import MODALITIES
from edgebind.space import SpaceMismatchError, check_same_space

SCHEMA = "edgebind.anchors/1"
PROMPTS_SCHEMA = "edgebind.prompts/1"
SOURCES = ("text", "examples", "composed")
DEFAULT_KEY = "default"
EMBEDDING_KEYS = (DEFAULT_KEY, *MODALITIES)

# Per-modality prompt-template ensembles: an anchor's embedding for a modality is the mean of the
# normalised text embeddings of every prompt in every template, renormalised (CLIP-style ensembling).
# "default" is the prompt as written; it is used for modalities without their own embedding.
DEFAULT_TEMPLATES: dict[str, tuple[str, ...]] = {
    DEFAULT_KEY: ("{}",),
    "vision": ("a photo of {}.", "a picture of {}.", "an image showing {}."),
    "audio": ("the sound of {}.", "a recording of {}.", "{} can be heard."),
    "depth": ("a depth map of {}.", "a depth image of {}."),
    "thermal": ("a thermal image of {}.", "an infrared photo of {}."),
    "imu": ("IMU motion of {}.", "accelerometer and gyroscope readings of {}."),
}

# Names appear in MQTT topics, metric labels and file names: no '/', '+', '#' or control characters.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:\-]{0,99}$")

TextEncoder = Callable[[list[str]], np.ndarray]


class AnchorSetError(EdgeBindError, ValueError):
    """An anchor-set or prompts file is malformed; the message names the file and the key."""


# -- pure math ---------------------------------------------------------------------------------
def normalize(v: np.ndarray, what: str = "embedding") -> np.ndarray:
    """Unit-norm float32 copy of ``v`` (last axis); refuses NaN/inf and zero vectors."""
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contains NaN or infinite values")
    peak = np.max(np.abs(a), axis=-1, keepdims=True) if a.size else np.ones(a.shape[:-1] + (1,))
    a = a / np.where(peak > 0, peak, 1.0)    # no overflow in the norm for huge values
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError(f"{what} has zero norm; it points nowhere in the embedding space")
    return (a / n).astype(np.float32)


def ensemble(embeddings: np.ndarray, weights: Sequence[float] | None = None,
             what: str = "embeddings") -> np.ndarray:
    """Mean of normalised rows (optionally weighted), renormalised: (N, D) -> (D,)."""
    e = normalize(np.atleast_2d(embeddings), what)
    w = np.ones(len(e)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(e),) or not np.all(np.isfinite(w)):
        raise ValueError(f"{what}: expected {len(e)} finite weights, got {list(np.atleast_1d(w))}")
    return normalize((w[:, None] * e.astype(np.float64)).sum(0),
                     f"{what} (weighted sum cancels out)")


# -- records -----------------------------------------------------------------------------------
@dataclass
class Anchor:
    """One named anchor. ``embeddings`` maps "default" or a modality to a unit-norm (D,) vector."""

    name: str
    embeddings: dict[str, np.ndarray]
    prompts: tuple[str, ...] = ()
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    threshold: float | None = None
    background: bool = False
    source: str = "text"
    meta: dict[str, Any] = field(default_factory=dict)

    def embedding(self, modality: str | None = None) -> np.ndarray:
        """The anchor as seen by ``modality`` (its own embedding when present, else default)."""
        if modality is not None and modality in self.embeddings:
            return self.embeddings[modality]
        return self.embeddings[DEFAULT_KEY]

    @property
    def dim(self) -> int:
        return int(self.embeddings[DEFAULT_KEY].shape[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "prompts": list(self.prompts),
            "templates": {k: list(v) for k, v in self.templates.items()},
            # 9 significant digits round-trip float32 exactly, without float64 noise digits
            "embeddings": {k: [float(f"{x:.9g}") for x in np.asarray(v, np.float32)]
                           for k, v in self.embeddings.items()},
            "threshold": None if self.threshold is None else float(self.threshold),
            "background": bool(self.background), "source": self.source, "meta": dict(self.meta),
        }


@dataclass
class AnchorSet:
    """Anchors in one embedding space. Use :meth:`load` / :meth:`save` for files."""

    space_id: str
    dim: int
    anchors: list[Anchor] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.space_id, str) or not self.space_id:
            raise AnchorSetError("an anchor set needs a non-empty space_id")
        if not isinstance(self.dim, int) or self.dim < 1:
            raise AnchorSetError(f"dim must be a positive integer, got {self.dim!r}")
        anchors, self.anchors = self.anchors, []
        for a in anchors:
            self.add(a)

    # -- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.anchors)

    def __iter__(self):
        return iter(self.anchors)

    def __contains__(self, name: str) -> bool:
        return any(a.name == name for a in self.anchors)

    def __getitem__(self, name: str) -> Anchor:
        for a in self.anchors:
            if a.name == name:
                return a
        raise KeyError(f"no anchor named {name!r}; the set has {', '.join(self.names) or 'none'}")

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.anchors]

    @property
    def targets(self) -> list[Anchor]:
        """Anchors that produce events (not background)."""
        return [a for a in self.anchors if not a.background]

    @property
    def background(self) -> list[Anchor]:
        return [a for a in self.anchors if a.background]

    def matrix(self, modality: str | None = None, anchors: Sequence[Anchor] | None = None) -> np.ndarray:
        """(A, D) float32 unit rows: each anchor as seen by ``modality``."""
        rows = [a.embedding(modality) for a in (self.anchors if anchors is None else anchors)]
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

    def thresholds(self) -> dict[str, float]:
        return {a.name: float(a.threshold) for a in self.anchors if a.threshold is not None}

    # -- editing --------------------------------------------------------------------------------
    def add(self, anchor: Anchor) -> Anchor:
        _check_anchor(anchor, self.dim, f"anchor {anchor.name!r}")
        if anchor.name in self:
            raise AnchorSetError(f"duplicate anchor name {anchor.name!r}")
        self.anchors.append(anchor)
        return anchor

    def check_space(self, space_id: str, what: str = "the encoder") -> None:
        """Raise SpaceMismatchError unless ``space_id`` is this set's space."""
        check_same_space(space_id, self.space_id, what, "the anchor set")

    # -- files ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "space_id": self.space_id, "dim": self.dim,
                "meta": dict(self.meta), "anchors": [a.to_dict() for a in self.anchors]}

    @classmethod
    def from_dict(cls, d: Any, source: str = "<anchor set>") -> "AnchorSet":
        return _parse_anchor_set(d, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary file + rename): a crash never leaves half a file."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        return atomic_write(path, (text + "\n").encode())

    @classmethod
    def load(cls, path: str | os.PathLike, space_id: str | None = None,
             dim: int | None = None) -> "AnchorSet":
        """Read and validate an anchor-set file. With ``space_id`` (the bundle's), an anchor set
        from another embedding space is refused with :class:`SpaceMismatchError`; with ``dim``
        (the encoder's), one of another dimension with :class:`AnchorSetError`."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"anchor set {path} does not exist; build one with "
                                    "`edgebind anchors build --bundle DIR --prompts FILE --out FILE`") from None
        d = parse_json(raw, str(path), AnchorSetError, "not a JSON anchor set")
        aset = _parse_anchor_set(d, str(path))
        if space_id is not None:
            try:
                check_same_space(space_id, aset.space_id, "the bundle", f"anchor set {path}")
            except SpaceMismatchError as exc:
                raise SpaceMismatchError(f"{exc} (rebuild the anchors with `edgebind anchors build "
                                         "--bundle` on this bundle)") from None
        if dim is not None and aset.dim != dim:
            raise AnchorSetError(f"{path}: anchors have dim {aset.dim} but the encoder's embeddings "
                                 f"have dim {dim}")
        return aset


# -- validation ----------------------------------------------------------------------------------
def _check_anchor(a: Anchor, dim: int, where: str) -> None:
    if not isinstance(a.name, str) or not NAME_RE.match(a.name):
        raise AnchorSetError(f"{where}: name must be 1-100 characters of letters, digits, space, "
                             f"'_', '.', ':' or '-' starting with a letter or digit, got {a.name!r}")
    if a.source not in SOURCES:
        raise AnchorSetError(f"{where}: source must be one of {', '.join(SOURCES)}, got {a.source!r}")
    if DEFAULT_KEY not in a.embeddings:
        raise AnchorSetError(f"{where}: embeddings need a 'default' entry")
    for key, v in list(a.embeddings.items()):
        if key not in EMBEDDING_KEYS:
            raise AnchorSetError(f"{where}: embeddings key {key!r}: expected one of {', '.join(EMBEDDING_KEYS)}")
        v = np.asarray(v)
        if v.shape != (dim,):
            raise AnchorSetError(f"{where}: embeddings.{key}: expected {dim} numbers (the set's dim), "
                                 f"got shape {v.shape}")
        try:
            a.embeddings[key] = normalize(v, f"{where}: embeddings.{key}")
        except ValueError as exc:
            raise AnchorSetError(str(exc)) from None
    if a.threshold is not None and not (isinstance(a.threshold, (int, float))
                                        and not isinstance(a.threshold, bool) and _isfinite(a.threshold)):
        raise AnchorSetError(f"{where}: threshold must be a finite number or null, got {a.threshold!r}")
    if not isinstance(a.background, bool):
        raise AnchorSetError(f"{where}: background must be true or false, got {a.background!r}")


def _req(d: Mapping, key: str, types: tuple, where: str, what: str) -> Any:
    if key not in d:
        raise AnchorSetError(f"{where}: missing key {key!r} ({what})")
    v = d[key]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        raise AnchorSetError(f"{where}: key {key!r}: expected {what}, got {v!r:.80}")
    return v


def _str_list(v: Any, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise AnchorSetError(f"{where}: expected a list of strings, got {v!r:.80}")
    return tuple(v)


def _templates(v: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(v, dict):
        raise AnchorSetError(f"{where}: expected a table of modality -> list of templates, got {v!r:.80}")
    out = {}
    for k, ts in v.items():
        if k not in EMBEDDING_KEYS:
            raise AnchorSetError(f"{where}.{k}: expected a modality ({', '.join(EMBEDDING_KEYS)})")
        out[k] = _str_list(ts, f"{where}.{k}")
        for t in out[k]:
            if "{}" not in t:
                raise AnchorSetError(f"{where}.{k}: template {t!r} has no '{{}}' where the prompt goes")
    return out


def _parse_anchor_set(d: Any, source: str) -> AnchorSet:
    if not isinstance(d, dict):
        raise AnchorSetError(f"{source}: expected a JSON object with \"schema\": \"{SCHEMA}\"")
    schema = d.get("schema")
    if schema != SCHEMA:
        raise AnchorSetError(f"{source}: key 'schema': expected {SCHEMA!r}, got {schema!r:.80}"
                             + (" (a newer EdgeBind wrote it?)" if isinstance(schema, str)
                                and schema.startswith("edgebind.anchors/") else ""))
    space_id = _req(d, "space_id", (str,), source, "the embedding-space id, a string")
    if not space_id:
        raise AnchorSetError(f"{source}: key 'space_id' is empty")
    dim = _req(d, "dim", (int,), source, "the embedding dimension, a positive integer")
    if dim < 1 or dim > 1 << 16:
        raise AnchorSetError(f"{source}: key 'dim': expected a positive integer, got {dim}")
    meta = d.get("meta", {})
    if not isinstance(meta, dict):
        raise AnchorSetError(f"{source}: key 'meta': expected an object")
    items = _req(d, "anchors", (list,), source, "a list of anchors")
    if not items:
        raise AnchorSetError(f"{source}: key 'anchors': expected at least one anchor, got []")
    aset = AnchorSet(space_id=space_id, dim=dim, meta=meta)
    for i, item in enumerate(items):
        where = f"{source}: anchors[{i}]"
        if not isinstance(item, dict):
            raise AnchorSetError(f"{where}: expected an object")
        name = _req(item, "name", (str,), where, "a name")
        where = f"{source}: anchors[{i}] ({name!r:.40})"
        embs = _req(item, "embeddings", (dict,), where, "an object of 'default'/modality -> numbers")
        vecs = {}
        for k, v in embs.items():
            if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                   for x in v):
                raise AnchorSetError(f"{where}: embeddings.{k}: expected a list of {dim} numbers")
            try:
                vecs[k] = np.asarray(v, dtype=np.float64)
            except OverflowError:
                raise AnchorSetError(f"{where}: embeddings.{k}: a number is too large for a float") from None
        thr = item.get("threshold")
        meta_a = item.get("meta", {})
        if not isinstance(meta_a, dict):
            raise AnchorSetError(f"{where}: key 'meta': expected an object")
        anchor = Anchor(name=name, embeddings=vecs,
                        prompts=_str_list(item.get("prompts", []), f"{where}: prompts"),
                        templates=_templates(item.get("templates", {}), f"{where}: templates"),
                        threshold=thr, background=item.get("background", False),
                        source=item.get("source", "text"), meta=meta_a)
        if isinstance(thr, int) and not isinstance(thr, bool):
            anchor.threshold = float(thr)
        try:
            aset.add(anchor)
        except AnchorSetError as exc:
            msg = str(exc)
            raise AnchorSetError(msg if msg.startswith(source) else f"{where}: {msg}") from None
    return aset


# -- building ----------------------------------------------------------------------------------
def _fill(template: str, prompt: str) -> str:
    # str.replace, not str.format: prompts and templates may contain other braces.
    return template.replace("{}", prompt, 1)


def _encode(encode: TextEncoder, texts: list[str], dim: int | None) -> np.ndarray:
    out = np.asarray(encode(texts), dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != len(texts) or (dim is not None and out.shape[1] != dim):
        want = f"({len(texts)}, {dim if dim is not None else 'D'})"
        raise ValueError(f"the text encoder returned shape {out.shape}; expected {want}")
    return normalize(out, "text embeddings")


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
    tmpl = {k: tuple(v) for k, v in (DEFAULT_TEMPLATES if templates is None else templates).items()}
    tmpl.setdefault(DEFAULT_KEY, DEFAULT_TEMPLATES[DEFAULT_KEY])
    keys, texts = [], []
    for key, ts in tmpl.items():
        if key not in EMBEDDING_KEYS:
            raise ValueError(f"anchor {name!r}: template key {key!r}: expected one of {', '.join(EMBEDDING_KEYS)}")
        if not ts:
            raise ValueError(f"anchor {name!r}: templates for {key!r} are empty")
        for t in ts:
            if "{}" not in t:
                raise ValueError(f"anchor {name!r}: template {t!r} has no '{{}}' where the prompt goes")
            for p in prompts:
                keys.append(key)
                texts.append(_fill(t, p))
    emb = _encode(encode, texts, dim)
    keys_arr = np.asarray(keys)
    embeddings = {k: ensemble(emb[keys_arr == k], what=f"anchor {name!r} {k} prompts") for k in tmpl}
    return Anchor(name=name, embeddings=embeddings, prompts=tuple(prompts),
                  templates={k: v for k, v in tmpl.items()}, threshold=threshold,
                  background=background, source="text")


def example_anchor(name: str, examples: Mapping[str, np.ndarray] | np.ndarray, *,
                   threshold: float | None = None, background: bool = False) -> Anchor:
    """A few-shot anchor: the renormalised mean of example embeddings. ``examples`` is an (N, D)
    array (used for every modality) or {modality: (N, D)} (one embedding per modality, and the
    default is the mean over all of them)."""
    if not isinstance(examples, Mapping):
        examples = {DEFAULT_KEY: np.asarray(examples)}
    if not examples:
        raise ValueError(f"anchor {name!r}: no examples given")
    embeddings, counts, all_rows = {}, {}, []
    for key, e in examples.items():
        if key not in EMBEDDING_KEYS:
            raise ValueError(f"anchor {name!r}: example key {key!r}: expected one of {', '.join(EMBEDDING_KEYS)}")
        rows = normalize(np.atleast_2d(np.asarray(e, dtype=np.float64)), f"anchor {name!r} {key} examples")
        if rows.ndim != 2 or len(rows) == 0:
            raise ValueError(f"anchor {name!r}: {key} examples must be (N, D) with N >= 1, got {rows.shape}")
        embeddings[key] = ensemble(rows, what=f"anchor {name!r} {key} examples")
        counts[key] = len(rows)
        all_rows.append(embeddings[key])
    if DEFAULT_KEY not in embeddings:
        embeddings[DEFAULT_KEY] = ensemble(np.stack(all_rows), what=f"anchor {name!r} examples")
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
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not _isfinite(w):
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


def recording_examples(embedder: Any, path: str | os.PathLike, start_s: float, end_s: float, *,
                       modalities: Sequence[str] | None = None, hop_s: float = 0.5,
                       streams: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Few-shot examples from a recording: the embeddings {modality: (N, D)} of every window whose
    end lies between ``start_s`` and ``end_s`` seconds after the recording's first sample, cut
    exactly as the pipeline cuts them (same window assembler, the bundle's window lengths)."""
    from edgebind.sensors.sources.replay import ReplaySource
    from edgebind.sensors.windows import WindowAssembler

    if not (0 <= start_s <= end_s) or not _isfinite(end_s):
        raise ValueError(f"need 0 <= start_s <= end_s, got {start_s}, {end_s}")
    towers = [m for m in embedder.modalities if m != "text"]
    want = [m for m in (modalities or towers)]
    missing = [m for m in want if m not in towers]
    if missing:
        raise ValueError(f"the bundle has no {', '.join(missing)} tower; it has {', '.join(towers)}")
    src = ReplaySource(path, speed=0, streams=list(streams) if streams else None)
    infos = [i for i in src.streams if i.modality in want]
    if not infos:
        raise ValueError(f"{path}: no {'/'.join(want)} streams in this recording")
    pre = embedder.preprocess
    wa = WindowAssembler(infos, window_s={"audio": float(pre.audio.clip_duration),
                                          "imu": float(pre.imu.window_s)}, hop_s=hop_s)
    names = {i.stream for i in infos}
    items: dict[str, list] = {m: [] for m in want}
    t0: int | None = None

    def take(sets: list) -> None:
        for ws in sets:
            if start_s * 1e9 <= ws.t_end_ns - t0 <= end_s * 1e9:
                for m, w in ws.windows.items():
                    if m in items:
                        items[m].append(w.model_item())

    for sample in src.iter_samples():
        if t0 is None:
            t0 = sample.t_ns
        if sample.t_ns - t0 > (end_s + 1.0) * 1e9:
            break
        if sample.stream in names:
            wa.push(sample)
            take(wa.poll())
    if t0 is not None:
        take(wa.flush())
    out = {m: np.asarray(embedder.embed(**{m: v})[m]) for m, v in items.items() if v}
    if not out:
        raise ValueError(f"{path}: no complete {'/'.join(want)} window ends between {start_s:g} s and "
                         f"{end_s:g} s (windows are {pre.audio.clip_duration:g} s long for audio)")
    return out


def embedder_text_encoder(embedder: Any, batch_size: int = 32) -> TextEncoder:
    """The text tower of an :class:`edgebind.Embedder` as a ``list[str] -> (N, D)`` callable."""
    if "text" not in embedder.modalities:
        raise ValueError(f"the embedder has no text tower (it has {', '.join(embedder.modalities)}); "
                         "anchors from prompts need one")
    return lambda texts: embedder.embed(batch_size=batch_size, text=list(texts))["text"]


# -- prompts files (TOML) ----------------------------------------------------------------------------
@dataclass
class AnchorSpec:
    """One ``[[anchor]]`` of a prompts file."""

    name: str
    prompts: tuple[str, ...] = ()
    templates: dict[str, tuple[str, ...]] | None = None
    threshold: float | None = None
    background: bool = False
    compose: tuple[tuple[str, float], ...] = ()
    examples: dict[str, Path] = field(default_factory=dict)


@dataclass
class PromptsFile:
    specs: list[AnchorSpec]
    templates: dict[str, tuple[str, ...]]
    path: Path | None = None


_ANCHOR_KEYS = {"name", "prompts", "templates", "threshold", "background", "compose", "examples"}


def parse_prompts(d: Any, source: str = "<prompts>", base: Path | None = None) -> PromptsFile:
    """Validate a parsed prompts document (see :func:`load_prompts` for the format)."""
    if not isinstance(d, dict):
        raise AnchorSetError(f"{source}: expected a TOML document")
    unknown = set(d) - {"schema", "templates", "modalities", "anchor"}
    if unknown:
        raise AnchorSetError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; expected schema, "
                             "templates, modalities, [[anchor]]")
    if "schema" in d and d["schema"] != PROMPTS_SCHEMA:
        raise AnchorSetError(f"{source}: key 'schema': expected {PROMPTS_SCHEMA!r}, got {d['schema']!r:.80}")
    templates = {k: tuple(v) for k, v in DEFAULT_TEMPLATES.items()}
    if "modalities" in d:
        mods = _str_list(d["modalities"], f"{source}: modalities")
        bad = [m for m in mods if m not in MODALITIES]
        if bad:
            raise AnchorSetError(f"{source}: modalities: {bad[0]!r} is not one of {', '.join(MODALITIES)}")
        templates = {k: v for k, v in templates.items() if k == DEFAULT_KEY or k in mods}
    if "templates" in d:
        templates.update(_templates(d["templates"], f"{source}: templates"))
    items = d.get("anchor")
    if not isinstance(items, list) or not items:
        raise AnchorSetError(f"{source}: expected at least one [[anchor]] table")
    specs, names = [], set()
    for i, t in enumerate(items):
        where = f"{source}: anchor[{i}]"
        if not isinstance(t, dict):
            raise AnchorSetError(f"{where}: expected a table")
        unknown = set(t) - _ANCHOR_KEYS
        if unknown:
            raise AnchorSetError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected "
                                 f"{', '.join(sorted(_ANCHOR_KEYS))}")
        name = _req(t, "name", (str,), where, "a name")
        if not NAME_RE.match(name):
            raise AnchorSetError(f"{where}: name {name!r:.60}: use letters, digits, space, '_', '.', ':' "
                                 "or '-' (at most 100 characters, starting with a letter or digit)")
        if name in names:
            raise AnchorSetError(f"{where}: duplicate anchor name {name!r}")
        names.add(name)
        where = f"{source}: anchor {name!r}"
        spec = AnchorSpec(name=name)
        spec.prompts = tuple(p.strip() for p in _str_list(t.get("prompts", []), f"{where}: prompts"))
        if "templates" in t:
            spec.templates = {**templates, **_templates(t["templates"], f"{where}: templates")}
        else:
            spec.templates = dict(templates)
        thr = t.get("threshold")
        if thr is not None and (isinstance(thr, bool) or not isinstance(thr, (int, float))
                                or not _isfinite(thr)):
            raise AnchorSetError(f"{where}: threshold: expected a finite number, got {thr!r:.60}")
        spec.threshold = None if thr is None else float(thr)
        bg = t.get("background", False)
        if not isinstance(bg, bool):
            raise AnchorSetError(f"{where}: background: expected true or false, got {bg!r:.60}")
        spec.background = bg
        comp = t.get("compose", [])
        if not isinstance(comp, list):
            raise AnchorSetError(f"{where}: compose: expected a list of {{anchor = NAME, weight = W}}")
        terms = []
        for j, c in enumerate(comp):
            if not (isinstance(c, dict) and isinstance(c.get("anchor"), str) and set(c) <= {"anchor", "weight"}):
                raise AnchorSetError(f"{where}: compose[{j}]: expected {{anchor = NAME, weight = W}}")
            w = c.get("weight", 1.0)
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not _isfinite(w):
                raise AnchorSetError(f"{where}: compose[{j}].weight: expected a finite number, got {w!r:.60}")
            terms.append((c["anchor"], float(w)))
        spec.compose = tuple(terms)
        ex = t.get("examples", {})
        if not isinstance(ex, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ex.items()):
            raise AnchorSetError(f"{where}: examples: expected a table of modality = \"embeddings.npy\"")
        for k, v in ex.items():
            if k not in EMBEDDING_KEYS:
                raise AnchorSetError(f"{where}: examples.{k}: expected a modality ({', '.join(EMBEDDING_KEYS)})")
            p = Path(v)
            spec.examples[k] = p if p.is_absolute() or base is None else base / p
        kinds = sum(map(bool, (spec.prompts, spec.compose, spec.examples)))
        if kinds != 1:
            raise AnchorSetError(f"{where}: give exactly one of prompts, compose or examples "
                                 f"(got {kinds})")
        specs.append(spec)
    for s in specs:
        for ref, _ in s.compose:
            if ref not in names or ref == s.name:
                raise AnchorSetError(f"{source}: anchor {s.name!r}: compose refers to {ref!r}, which is "
                                     "not another anchor in this file")
    return PromptsFile(specs=specs, templates=templates)


def load_prompts(path: str | os.PathLike) -> PromptsFile:
    """Read a prompts file (TOML)::

        schema = "edgebind.prompts/1"          # optional
        modalities = ["vision", "audio"]       # optional: per-modality embeddings to build
        [templates]                            # optional: replace the default templates
        audio = ["the sound of {}.", "{} can be heard."]

        [[anchor]]
        name = "glass_breaking"
        prompts = ["glass breaking", "a window shattering"]
        threshold = 0.3                        # optional (calibration profiles override it)
        [anchor.templates]                     # optional, this anchor only
        audio = ["the crash of {}."]

        [[anchor]]
        name = "quiet"
        prompts = ["a quiet room", "silence"]
        background = true                      # a negative: scored, never an event

        [[anchor]]
        name = "alarm_not_dog"
        compose = [{anchor = "smoke_alarm", weight = 1.0}, {anchor = "dog_barking", weight = -0.3}]

        [[anchor]]
        name = "my_fall"
        examples = {imu = "fall_imu.npy"}     # (N, D) embeddings of example clips, relative path
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"prompts file {path} does not exist") from None
    d = parse_toml(raw, str(path), AnchorSetError, "not a valid TOML prompts file")
    pf = parse_prompts(d, str(path), base=path.parent)
    pf.path = path
    return pf


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
            arrays = {}
            for k, p in s.examples.items():
                try:
                    arrays[k] = load_npy(p, f"anchor {s.name!r}: examples.{k}", AnchorSetError)
                except FileNotFoundError:
                    raise AnchorSetError(f"anchor {s.name!r}: examples.{k}: {p} does not "
                                         "exist") from None
                if arrays[k].ndim not in (1, 2) or arrays[k].shape[-1] != dim:
                    raise ValueError(f"anchor {s.name!r}: examples.{k}: {p} has shape {arrays[k].shape}; "
                                     f"expected (N, {dim})")
            built[s.name] = example_anchor(s.name, arrays, threshold=s.threshold, background=s.background)
        if progress and s.name in built:
            progress(s.name)
    pending = [s for s in prompts.specs if s.compose]
    while pending:  # composed anchors may build on each other; resolve in dependency order
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
    for s in prompts.specs:  # keep the file's order
        aset.add(built[s.name])
    return aset
