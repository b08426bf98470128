"""Training data: a cache folder of model-ready arrays, and deterministic batch schedules.

A cache folder holds one ``<key>.npy`` per input (``vision`` (N,3,224,224), ``audio``
(N,1,128,204), ``depth``/``thermal`` (N,1,224,224), ``imu`` (N,6,2000), ``text`` (N,77) token ids,
``label`` (N,) int, ``events`` (N, E) bool, ...; floats usually stored as float16 to halve the
disk) and ``meta.json`` (``schema`` ``edgebind.traincache/1``, event names, captions, how it was
made). Arrays are memory-mapped, so a cache larger than RAM still trains.

Batches are a pure function of (seed, step): step k of any run, fresh or resumed, on any number
of processes, sees the same global batch, which is what makes resume and DDP reproducible.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

SCHEMA = "edgebind.traincache/1"
META = "meta.json"
FLOAT_KEYS = frozenset({"vision", "audio", "depth", "thermal", "imu"})


@dataclass
class ArrayDataset:
    """Named arrays with a common first dimension (numpy or memory-mapped), plus metadata."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.arrays:
            raise ValueError("a dataset needs at least one array")
        sizes = {k: len(v) for k, v in self.arrays.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"dataset arrays differ in length: {sizes}")

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def keys(self) -> list[str]:
        return list(self.arrays)

    def take(self, indices: np.ndarray, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Rows ``indices`` of each array (float16 -> float32, ints -> int64)."""
        order = np.argsort(indices, kind="stable")  # sorted reads are kinder to memory maps
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        out = {}
        for k in (keys if keys is not None else self.arrays):
            a = np.asarray(self.arrays[k][np.asarray(indices)[order]])[inverse]
            if a.dtype == np.float16:
                a = a.astype(np.float32)
            elif np.issubdtype(a.dtype, np.integer) and a.dtype != np.int64:
                a = a.astype(np.int64)
            out[k] = a
        return out

    def subset(self, indices: np.ndarray) -> "ArrayDataset":
        return ArrayDataset({k: np.asarray(v[np.asarray(indices)]) for k, v in self.arrays.items()},
                            dict(self.meta))

    def with_array(self, key: str, value: np.ndarray) -> "ArrayDataset":
        if len(value) != len(self):
            raise ValueError(f"array {key!r} has {len(value)} rows, the dataset {len(self)}")
        return ArrayDataset({**self.arrays, key: value}, dict(self.meta))


def save_cache(folder: str | os.PathLike, arrays: Mapping[str, np.ndarray],
               meta: Mapping[str, Any]) -> Path:
    """Write a cache folder (arrays first, ``meta.json`` last: a folder without meta is partial)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)
    for k, v in arrays.items():
        np.save(folder / f"{k}.npy", np.ascontiguousarray(v), allow_pickle=False)
    (folder / META).write_text(json.dumps({"schema": SCHEMA, **meta, "keys": sorted(arrays),
                                           "size": int(len(next(iter(arrays.values()))))},
                                          indent=1))
    return folder


def load_cache(folder: str | os.PathLike, keys: Iterable[str] | None = None,
               mmap: bool = True) -> ArrayDataset:
    """Open a cache folder written by :func:`save_cache` (memory-mapped unless ``mmap=False``)."""
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} is not a training cache (no {META}; an interrupted "
                                "cache build leaves none: build it again)")
    meta = json.loads(meta_path.read_text())
    if meta.get("schema") != SCHEMA:
        raise ValueError(f"{meta_path}: schema {meta.get('schema')!r}, expected {SCHEMA!r}")
    wanted = list(keys) if keys is not None else list(meta["keys"])
    missing = [k for k in wanted if not (folder / f"{k}.npy").is_file()]
    if missing:
        raise ValueError(f"{folder} has no {', '.join(missing)} arrays; it has "
                         f"{', '.join(meta['keys'])}")
    arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r" if mmap else None,
                         allow_pickle=False) for k in wanted}
    return ArrayDataset(arrays, meta)


def global_batch(n: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Indices of the global batch of ``step``: epochs are seeded permutations of range(n), read
    in order (a batch may straddle two epochs)."""
    if n < 1:
        raise ValueError("cannot draw batches from an empty dataset")
    start = step * batch_size
    out, pos = [], start
    while pos < start + batch_size:
        epoch, offset = divmod(pos, n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = min(n - offset, start + batch_size - pos)
        out.append(perm[offset:offset + take])
        pos += take
    return np.concatenate(out)


def micro_batches(indices: np.ndarray, world_size: int, rank: int, accum_steps: int) -> list[np.ndarray]:
    """This process's micro-batches of a global batch: the batch is cut into
    ``world_size * accum_steps`` equal parts; rank r takes parts r*accum ... r*accum+accum-1.
    So one process with accum=2 sees exactly the parts two processes with accum=1 see."""
    parts = world_size * accum_steps
    if len(indices) % parts:
        raise ValueError(f"batch size {len(indices)} is not divisible by processes x accumulation "
                         f"steps = {world_size} x {accum_steps}")
    chunks = np.split(np.asarray(indices), parts)
    return chunks[rank * accum_steps:(rank + 1) * accum_steps]
