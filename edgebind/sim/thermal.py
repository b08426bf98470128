"""Thermal imager: optical blur, NETD noise, column fixed-pattern noise, offset drift; kelvin."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edgebind.sim.compose import Scene


def _blur3(a: np.ndarray) -> np.ndarray:
    """3x3 box blur with edge replication (thermal optics are soft)."""
    p = np.pad(a, 1, mode="edge")
    s = p[:-2] + p[1:-1] + p[2:]
    return (s[:, :-2] + s[:, 1:-1] + s[:, 2:]) / np.float32(9.0)


def finish(temp: np.ndarray, scene: Scene, t_ns: int, rng: np.random.Generator) -> np.ndarray:
    room = scene.room
    h, w = temp.shape
    key = ("thermal_fpn", h, w)
    if key not in room._cache:
        frng = np.random.default_rng([room.seed, 33])
        x = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
        y = (np.arange(h, dtype=np.float32) + 0.5) / h - 0.5
        vig = -0.6 * (x[None, :] ** 2 + y[:, None] ** 2)
        cols = frng.normal(0, 0.5, w).astype(np.float32)[None, :]
        room._cache[key] = (vig + cols * room.noise["thermal"]).astype(np.float32)
    t = t_ns / 1e9
    drift = room.noise["thermal_offset"] * (1.0 + 0.3 * np.sin(2 * np.pi * t / 90.0))
    out = _blur3(temp) + room._cache[key] + np.float32(drift)
    out += rng.standard_normal((h, w), dtype=np.float32) * np.float32(room.noise["thermal"])
    return out.astype(np.float32)
