"""Depth sensor: range-dependent noise, dropouts at edges and in blotches, a maximum range,
smoke/haze scattering (spurious near returns); metres, 0 = no return, 1 mm quantisation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edgebind.sim.compose import Scene

MAX_RANGE_M = 8.0
MIN_RANGE_M = 0.2


def finish(dep: np.ndarray, haze: np.ndarray | None, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """True distances (H, W) -> what a structured-light / stereo sensor reports."""
    k = scene.room.noise["depth"]
    h, w = dep.shape
    out = dep * (1.0 + rng.standard_normal((h, w), dtype=np.float32) * np.float32(k) * dep)
    invalid = (dep > MAX_RANGE_M) | (dep < MIN_RANGE_M)
    # Depth discontinuities lose their return (shadowing of the projector / matching failure).
    edge = np.zeros((h, w), bool)
    jump = np.abs(np.diff(dep, axis=1)) > 0.15 * np.minimum(dep[:, 1:], dep[:, :-1])
    edge[:, 1:] |= jump
    vjump = np.abs(np.diff(dep, axis=0)) > 0.15 * np.minimum(dep[1:], dep[:-1])
    edge[1:] |= vjump
    coin = rng.random((h, w), dtype=np.float32)
    invalid |= edge & (coin < 0.6)
    # Isolated dead pixels (speckle), always a few.
    invalid |= coin < np.float32(0.003 + 0.1 * scene.room.noise["depth_holes"])
    # Blotchy dropouts (dark or shiny surfaces), seeded per frame so they flicker.
    holes = scene.room.noise["depth_holes"]
    if holes > 0:
        room = scene.room
        key = ("depth_blotch", h, w)
        if key not in room._cache:
            from edgebind.sim.scene import _smooth_noise
            room._cache[key] = _smooth_noise(np.random.default_rng([room.seed, 44]), h + h // 4,
                                             w + w // 4, 15)
        field = room._cache[key]
        oy, ox = int(rng.integers(0, h // 4 + 1)), int(rng.integers(0, w // 4 + 1))
        # Irregular blotches covering about `holes` of the frame, wandering frame to frame.
        invalid |= (field[oy:oy + h, ox:ox + w] > 1.0 - 8.0 * holes) & (coin < 0.8)
    if haze is not None and haze.max() > 0.05:
        # Smoke scatters the illuminator: random near returns and lost pixels where it is thick.
        hit = coin > 1.0 - 0.35 * haze
        near = rng.uniform(0.3, 1.0, (h, w)).astype(np.float32) * np.minimum(out, 3.0)
        out = np.where(hit & (coin > 1.0 - 0.2 * haze), near, out)
        invalid |= hit & ~(coin > 1.0 - 0.2 * haze)
    out = np.round(out * 1000.0) / 1000.0
    invalid |= (out > MAX_RANGE_M) | (out < MIN_RANGE_M * 0.5)
    out[invalid] = 0.0
    return out.astype(np.float32)
