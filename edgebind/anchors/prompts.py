"""The prompts file (TOML): what ``edgebind anchors build`` turns into anchors. Parsing and
validation only; building is :mod:`edgebind.anchors.build`."""
from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.anchors.fields import (read_templates, reject_unknown, require, strings,
                                     table_of, text)
from edgebind.anchors.records import DEFAULT_KEY, EMBEDDING_KEYS, AnchorSetError, anchor_name
from edgebind.fileio import parse_toml, read_bytes
from edgebind.modality import MODALITIES
from edgebind.validate import Fields, choice

PROMPTS_SCHEMA = "edgebind.prompts/1"

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

_ANCHOR_KEYS = {"name", "prompts", "templates", "threshold", "background", "compose", "examples"}
_TERM = "{anchor = NAME, weight = W}"


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
    raw = read_bytes(path, f"prompts file {path} does not exist")
    d = parse_toml(raw, str(path), AnchorSetError, "not a valid TOML prompts file")
    pf = parse_prompts(d, str(path), base=path.parent)
    pf.path = path
    return pf


def parse_prompts(d: Any, source: str = "<prompts>", base: Path | None = None) -> PromptsFile:
    """Validate a parsed prompts document (see :func:`load_prompts` for the format)."""
    if not isinstance(d, dict):
        raise AnchorSetError(f"{source}: expected a TOML document")
    reject_unknown(d, ("schema", "templates", "modalities", "anchor"), source,
                   "schema, templates, modalities, [[anchor]]")
    # Top-level keys read "key 'schema'"; an anchor's follow its name: "anchor 'a': threshold".
    f = Fields(d, source, AnchorSetError, quote_keys=True)
    f.get("schema", choice(PROMPTS_SCHEMA), None)
    templates = _file_templates(f)
    items = d.get("anchor")
    if not isinstance(items, list) or not items:
        raise AnchorSetError(f"{source}: expected at least one [[anchor]] table")
    specs: list[AnchorSpec] = []
    for i, t in enumerate(items):
        specs.append(_parse_spec(t, source, i, templates, base, {s.name for s in specs}))
    names = {s.name for s in specs}
    for s in specs:
        for ref, _ in s.compose:
            if ref not in names or ref == s.name:
                raise AnchorSetError(f"{source}: anchor {s.name!r}: compose refers to {ref!r}, which is "
                                     "not another anchor in this file")
    return PromptsFile(specs=specs, templates=templates)


def _modalities(v: Any) -> tuple[str, ...]:
    bad = [m for m in strings(v) if m not in MODALITIES]
    if bad:
        raise ValueError(f"a list of modalities ({bad[0]!r} is not one of {', '.join(MODALITIES)})")
    return tuple(v)


def _file_templates(f: Fields) -> dict[str, tuple[str, ...]]:
    """The defaults, cut to the file's ``modalities`` and overridden by its ``[templates]``."""
    templates = {k: tuple(v) for k, v in DEFAULT_TEMPLATES.items()}
    mods = f.get("modalities", _modalities, None)
    if mods is not None:
        templates = {k: v for k, v in templates.items() if k == DEFAULT_KEY or k in mods}
    templates.update(read_templates(f))
    return templates


def _parse_spec(t: Any, source: str, i: int, templates: dict[str, tuple[str, ...]],
                base: Path | None, taken: Container[str]) -> AnchorSpec:
    """One ``[[anchor]]`` table; exactly one of prompts, compose or examples."""
    where = f"{source}: anchor[{i}]"
    if not isinstance(t, dict):
        raise AnchorSetError(f"{where}: expected a table")
    reject_unknown(t, _ANCHOR_KEYS, where)
    name = require(Fields(t, where, AnchorSetError), "name", anchor_name, "a name")
    if name in taken:
        raise AnchorSetError(f"{where}: duplicate anchor name {name!r}")
    f = Fields(t, f"{source}: anchor {name!r}", AnchorSetError)
    spec = AnchorSpec(
        name=name, prompts=tuple(p.strip() for p in f.get("prompts", strings, ())),
        templates={**templates, **read_templates(f)},
        threshold=None if t.get("threshold") is None else f.number("threshold"),
        background=f.boolean("background", False), compose=_compose(f),
        examples=_examples(f, base))
    kinds = sum(map(bool, (spec.prompts, spec.compose, spec.examples)))
    if kinds != 1:
        raise AnchorSetError(f"{f.source}: give exactly one of prompts, compose or examples "
                             f"(got {kinds})")
    return spec


def _term_list(v: Any) -> list:
    if not isinstance(v, list):
        raise ValueError(f"a list of {_TERM}")
    return v


def _compose(f: Fields) -> tuple[tuple[str, float], ...]:
    """``compose``: the (anchor, weight) terms of an embedding-arithmetic anchor."""
    terms = []
    for j, c in enumerate(f.get("compose", _term_list, [])):
        if not isinstance(c, dict):
            raise f.fail(f"compose[{j}]", _TERM, c)
        term = Fields(c, f.source, AnchorSetError, prefix=f"compose[{j}].")
        term.reject_unknown(("anchor", "weight"))
        terms.append((term.get("anchor", text("an anchor name")), term.number("weight", 1.0)))
    return tuple(terms)


def _examples(f: Fields, base: Path | None) -> dict[str, Path]:
    """``{modality: path}`` of (N, D) example embeddings; relative paths from ``base``."""
    ex = table_of(f, "examples", 'a table of modality = "embeddings.npy"')
    ex.reject_unknown(EMBEDDING_KEYS)
    out = {}
    for k in ex.data:
        p = Path(ex.get(k, text("the path of a .npy file of (N, D) embeddings")))
        out[k] = p if p.is_absolute() or base is None else base / p
    return out
