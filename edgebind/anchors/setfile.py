"""The anchor-set file: reading, validating and writing it (numpy only; what the device loads).

JSON, ``"schema": "edgebind.anchors/1"``::

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
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.anchors.fields import mapping, read_templates, require, strings, table_of, text
from edgebind.anchors.records import SCHEMA, Anchor, AnchorSet, AnchorSetError
from edgebind.checks import is_finite_number
from edgebind.fileio import atomic_write, parse_json, read_bytes
from edgebind.space import SpaceMismatchError, check_same_space
from edgebind.validate import Fields, integer, shown

BUILD_HINT = "`edgebind anchors build --bundle DIR --prompts FILE --out FILE`"


def write_anchor_set(aset: AnchorSet, path: str | os.PathLike) -> Path:
    """Write atomically (temporary file + rename): a crash never leaves half a file."""
    text = json.dumps(aset.to_dict(), indent=1, allow_nan=False)
    return atomic_write(path, (text + "\n").encode())


def read_anchor_set(path: str | os.PathLike, space_id: str | None = None,
                    dim: int | None = None) -> AnchorSet:
    """:meth:`AnchorSet.load`: the file, checked against the bundle's space and dimension."""
    path = Path(path)
    raw = read_bytes(path, f"anchor set {path} does not exist; build one with {BUILD_HINT}")
    aset = parse_anchor_set(parse_json(raw, str(path), AnchorSetError, "not a JSON anchor set"),
                            str(path))
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


def _anchor_list(v: Any) -> list:
    if not isinstance(v, list) or not v:
        raise ValueError("a list of at least one anchor")
    return v


def parse_anchor_set(d: Any, source: str) -> AnchorSet:
    """A parsed anchor-set document -> :class:`AnchorSet`; errors name ``source`` and the key."""
    if not isinstance(d, dict):
        raise AnchorSetError(f"{source}: expected a JSON object with \"schema\": \"{SCHEMA}\"")
    schema = d.get("schema")
    if schema != SCHEMA:
        newer = isinstance(schema, str) and schema.startswith("edgebind.anchors/")
        raise AnchorSetError(f"{source}: key 'schema': expected {SCHEMA!r}, got {shown(schema)}"
                             + (" (a newer EdgeBind wrote it?)" if newer else ""))
    f = Fields(d, source, AnchorSetError, quote_keys=True)
    space_id = require(f, "space_id", text("the embedding-space id, a non-empty string"),
                       "the embedding-space id")
    dim = require(f, "dim", integer(1, 1 << 16, "the embedding dimension, a positive integer up "
                                                f"to {1 << 16}"), "the embedding dimension")
    meta = f.get("meta", mapping("an object"), {})
    items = require(f, "anchors", _anchor_list, "a list of anchors")
    aset = AnchorSet(space_id=space_id, dim=dim, meta=dict(meta))
    for i, item in enumerate(items):
        _read_anchor(aset, item, f"{source}: anchors[{i}]")
    return aset


def _read_anchor(aset: AnchorSet, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise AnchorSetError(f"{where}: expected an object, got {shown(item)}")
    name = require(Fields(item, where, AnchorSetError, quote_keys=True), "name", text("a name"),
                   "a name")
    f = Fields(item, f"{where} ({name!r:.40})", AnchorSetError, quote_keys=True)
    thr = item.get("threshold")   # a bad one is refused by AnchorSet.add, which words it
    anchor = Anchor(name=name, embeddings=_vectors(f, aset.dim),
                    prompts=f.get("prompts", strings, ()), templates=read_templates(f),
                    threshold=float(thr) if is_finite_number(thr) else thr,
                    background=item.get("background", False), source=item.get("source", "text"),
                    meta=dict(f.get("meta", mapping("an object"), {})))
    try:
        aset.add(anchor)
    except AnchorSetError as exc:
        msg = str(exc)
        raise AnchorSetError(msg if msg.startswith(f.source) else f"{f.source}: {msg}") from None


def _vectors(f: Fields, dim: int) -> dict[str, np.ndarray]:
    """The raw ``embeddings`` vectors; keys, lengths and norms are checked by AnchorSet.add."""
    def numbers(v: Any) -> list:
        if not isinstance(v, list) or not all(isinstance(x, (int, float))
                                              and not isinstance(x, bool) for x in v):
            raise ValueError(f"a list of {dim} numbers")
        return v

    embs = table_of(f, "embeddings", "an object of 'default'/modality -> numbers", required=True)
    out = {}
    for k in embs.data:
        try:
            out[k] = np.asarray(embs.get(k, numbers), dtype=np.float64)
        except OverflowError:   # the value itself would be 400 digits of noise in the message
            raise embs.error(f"{embs.source}: {embs.label(k)}: a number is too large for a "
                             "float") from None
    return out
