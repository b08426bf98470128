"""Embedding-space identity. Every bundle, encoder and anchor set names the space it belongs to;
comparing embeddings from two spaces is an error, never a silent wrong answer."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from edgebind.errors import EdgeBindError

SPACE_PREFIX = "ebs1-"


class SpaceMismatchError(EdgeBindError, ValueError):
    """Raised when embeddings, anchors or encoders from different embedding spaces meet."""


def check_same_space(space_a: str, space_b: str, what_a: str = "a", what_b: str = "b") -> str:
    """Return the shared space id, or raise SpaceMismatchError naming both sides."""
    if not space_a or not space_b:
        raise SpaceMismatchError(f"missing embedding-space id: {what_a}={space_a!r}, {what_b}={space_b!r}")
    if space_a != space_b:
        raise SpaceMismatchError(
            f"embedding spaces differ: {what_a} is in space {space_a}, {what_b} is in space "
            f"{space_b}; their similarities would be meaningless. Rebuild one from the same model.")
    return space_a


def space_id_from_arrays(items: Iterable[tuple[str, np.ndarray]]) -> str:
    """Space id from named weight arrays: sha256 over (name, dtype, shape, bytes) in name order.

    The same weights give the same id whichever route (file, memory, subset) they came by, as
    long as every tower is hashed.
    """
    h = hashlib.sha256()
    for name, arr in sorted(items, key=lambda kv: kv[0]):
        a = np.ascontiguousarray(arr)
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(tuple(a.shape)).encode())
        h.update(memoryview(a).cast("B"))
    return SPACE_PREFIX + h.hexdigest()[:20]
