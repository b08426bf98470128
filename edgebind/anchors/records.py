"""Anchor records: one named anchor, a set of them in one embedding space, and the checks every
anchor passes on its way into a set (however it was made: a file, a prompt, code)."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgebind.anchors.vectors import normalize
from edgebind.checks import is_finite_number
from edgebind.errors import EdgeBindError
from edgebind.modality import MODALITIES
from edgebind.space import check_same_space

SCHEMA = "edgebind.anchors/1"       # what to_dict writes; edgebind.anchors.setfile reads it
SOURCES = ("text", "examples", "composed")
DEFAULT_KEY = "default"
EMBEDDING_KEYS = (DEFAULT_KEY, *MODALITIES)

# Names appear in MQTT topics, metric labels and file names: no '/', '+', '#' or control characters.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:\-]{0,99}$")
NAME_RULE = ("1-100 characters of letters, digits, space, '_', '.', ':' or '-' starting with a "
             "letter or digit")


class AnchorSetError(EdgeBindError, ValueError):
    """An anchor-set or prompts file is malformed; the message names the file and the key."""


def anchor_name(v: Any) -> str:
    """A :mod:`edgebind.validate` checker for anchor names."""
    if not isinstance(v, str) or not NAME_RE.match(v):
        raise ValueError(NAME_RULE)
    return v


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

    def replace(self, anchor: Anchor) -> Anchor:
        """Add ``anchor``, first dropping any anchor of the same name."""
        before = self.anchors
        self.anchors = [a for a in before if a.name != anchor.name]
        try:
            return self.add(anchor)
        except AnchorSetError:
            self.anchors = before
            raise

    def check_space(self, space_id: str, what: str = "the encoder") -> None:
        """Raise SpaceMismatchError unless ``space_id`` is this set's space."""
        check_same_space(space_id, self.space_id, what, "the anchor set")

    # -- files: edgebind.anchors.setfile builds AnchorSets, so it is imported where used ---------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "space_id": self.space_id, "dim": self.dim,
                "meta": dict(self.meta), "anchors": [a.to_dict() for a in self.anchors]}

    @classmethod
    def from_dict(cls, d: Any, source: str = "<anchor set>") -> "AnchorSet":
        from edgebind.anchors.setfile import parse_anchor_set
        return parse_anchor_set(d, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary file + rename): a crash never leaves half a file."""
        from edgebind.anchors.setfile import write_anchor_set
        return write_anchor_set(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, space_id: str | None = None,
             dim: int | None = None) -> "AnchorSet":
        """Read and validate an anchor-set file. With ``space_id`` (the bundle's), an anchor set
        from another embedding space is refused with :class:`SpaceMismatchError`; with ``dim``
        (the encoder's), one of another dimension with :class:`AnchorSetError`."""
        from edgebind.anchors.setfile import read_anchor_set
        return read_anchor_set(path, space_id, dim)


def _check_anchor(a: Anchor, dim: int, where: str) -> None:
    """Refuse a malformed anchor; normalise its embeddings in place."""
    if not isinstance(a.name, str) or not NAME_RE.match(a.name):
        raise AnchorSetError(f"{where}: name must be {NAME_RULE}, got {a.name!r}")
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
    if a.threshold is not None and not is_finite_number(a.threshold):
        raise AnchorSetError(f"{where}: threshold must be a finite number or null, got {a.threshold!r}")
    if not isinstance(a.background, bool):
        raise AnchorSetError(f"{where}: background must be true or false, got {a.background!r}")
