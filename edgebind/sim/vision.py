"""Camera: lighting (gain, colour cast, side light, slow drift), vignetting, sensor noise."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edgebind.sim.compose import Scene


def finish(rgb: np.ndarray, scene: Scene, t_ns: int, rng: np.random.Generator) -> np.ndarray:
    """Linear scene colours (H, W, 3) 0..1 -> uint8 RGB as the camera would deliver them."""
    room = scene.room
    h, w, _ = rgb.shape
    t = t_ns / 1e9
    key = ("vision_light", h, w)
    if key not in room._cache:
        x = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
        y = (np.arange(h, dtype=np.float32) + 0.5) / h - 0.5
        r2 = x[None, :] ** 2 + y[:, None] ** 2
        light = (1.0 - 0.55 * r2) * (1.0 + room.light_side * 2 * x[None, :])
        room._cache[key] = (light[..., None] * np.asarray(room.light_cast, np.float32)).astype(np.float32)
    # Slow drift, like clouds passing or auto-exposure hunting.
    gain = room.light_gain * (1.0 + 0.06 * np.sin(2 * np.pi * t / scene.light_period_s + room.seed % 11))
    img = rgb * room._cache[key] * np.float32(gain)
    sigma = room.noise["vision"]
    if sigma > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma)
    np.clip(img, 0.0, 1.0, out=img)
    return (img * 255.0 + 0.5).astype(np.uint8)
