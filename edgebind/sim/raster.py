"""A tiny anti-aliased 2-D rasteriser shared by the camera, depth and thermal renderers.

Scenes are described as primitives in *normalised image coordinates* of the square camera
(u right, v down, both 0..1); a :class:`View` maps them onto a sensor's pixel grid, so the same
primitive lands at the same place in every sensor and the sensors stay consistent.
Each primitive carries what every sensor needs: colour (camera), temperature (thermal) and
distance (depth). Painter's algorithm, far to near.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class View:
    """A sensor's pixel grid over the normalised window [u0, u1] x [v0, v1] (isotropic)."""

    width: int
    height: int
    u0: float = 0.0
    v0: float = 0.0
    u1: float = 1.0
    v1: float = 1.0

    @property
    def scale(self) -> float:
        """Pixels per normalised unit."""
        return self.width / (self.u1 - self.u0)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalised (u, v) of every pixel centre, as (1, W) and (H, 1) arrays."""
        s = self.scale
        u = self.u0 + (np.arange(self.width, dtype=np.float32) + 0.5) / s
        v = self.v0 + (np.arange(self.height, dtype=np.float32) + 0.5) / s
        return u[None, :], v[:, None]


CAMERA_VIEW = View(224, 224)
# A 4:3 thermal imager sharing the camera's optical centre and horizontal field of view.
THERMAL_VIEW = View(160, 120, 0.0, 0.125, 1.0, 0.875)


@dataclass
class Prim:
    """One shape. kind: 'poly' (convex, pts = ((u, v), ...)), 'ellipse' (pts = ((cu, cv),),
    radii (ru, rv), angle rad) or 'blob' (Gaussian puff, radii = sigmas, alpha = peak).

    solid: occludes in depth (haze and drafts do not). haze: adds to the scattering map that
    the depth renderer turns into spurious returns. temp None: thermally transparent (e.g.
    a painted pattern at the temperature of what it sits on).
    """

    kind: str
    pts: tuple[tuple[float, float], ...]
    rgb: tuple[float, float, float] | None
    temp: float | None
    z: float
    alpha: float = 1.0
    radii: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0
    solid: bool = True
    haze: bool = False
    zval: float | None = None    # distance written to depth if not z (e.g. a hole: far away)


def rotate_points(pts: np.ndarray, roll: float) -> np.ndarray:
    """Rotate (N, 2) normalised points by ``roll`` rad about the image centre."""
    if roll == 0.0:
        return pts
    c, s = np.cos(roll), np.sin(roll)
    d = pts - 0.5
    return np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], axis=1) + 0.5


def _coverage(p: Prim, view: View, roll: float) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Pixel slice and alpha in [0, 1] of one primitive, or None when it misses the view."""
    s = view.scale
    pts = rotate_points(np.asarray(p.pts, dtype=np.float64), roll)
    px = (pts[:, 0] - view.u0) * s - 0.5
    py = (pts[:, 1] - view.v0) * s - 0.5
    if not (np.all(np.isfinite(px)) and np.all(np.isfinite(py))):
        return None
    if p.kind == "poly":
        pad = 1.0
        x0, x1, y0, y1 = px.min() - pad, px.max() + pad, py.min() - pad, py.max() + pad
    else:
        ru, rv = p.radii[0] * s, p.radii[1] * s
        r = max(ru, rv) * (3.0 if p.kind == "blob" else 1.0) + 1.0
        x0, x1, y0, y1 = px[0] - r, px[0] + r, py[0] - r, py[0] + r
    ix0, iy0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    ix1, iy1 = min(int(np.ceil(x1)) + 1, view.width), min(int(np.ceil(y1)) + 1, view.height)
    if ix0 >= ix1 or iy0 >= iy1:
        return None
    xs = np.arange(ix0, ix1, dtype=np.float32)[None, :]
    ys = np.arange(iy0, iy1, dtype=np.float32)[:, None]
    if p.kind == "poly":
        # Signed distance to each edge (positive inside, either winding); min over edges.
        lx_, ly_ = px.tolist(), py.tolist()     # python floats keep the math in float32
        m = len(lx_)
        area = sum(lx_[i] * ly_[(i + 1) % m] - lx_[(i + 1) % m] * ly_[i] for i in range(m))
        sign = 1.0 if area > 0 else -1.0
        d = None
        for i in range(len(lx_)):
            ax, ay = lx_[i], ly_[i]
            bx, by = lx_[(i + 1) % len(lx_)], ly_[(i + 1) % len(lx_)]
            ex, ey = bx - ax, by - ay
            n = float(np.hypot(ex, ey))
            if n < 1e-9:
                continue
            ky, kx = -sign * ey / n, sign * ex / n
            di = (xs - ax) * ky + (ys - ay) * kx
            d = di if d is None else np.minimum(d, di)
        if d is None:
            return None
        a = np.clip(d + 0.5, 0.0, 1.0)
    else:
        ca, sa = float(np.cos(p.angle + roll)), float(np.sin(p.angle + roll))
        dx, dy = xs - float(px[0]), ys - float(py[0])
        rx, ry = max(p.radii[0] * s, 1e-3), max(p.radii[1] * s, 1e-3)
        lx = dx * (ca / rx) + dy * (sa / rx)
        ly = dx * (-sa / ry) + dy * (ca / ry)
        r2 = lx * lx + ly * ly
        if p.kind == "blob":
            a = np.exp(-0.5 * r2)
        else:
            rmin = min(p.radii) * s
            a = np.clip((1.0 - np.sqrt(r2)) * rmin + 0.5, 0.0, 1.0)
    a = (a * p.alpha).astype(np.float32)
    return (slice(iy0, iy1), slice(ix0, ix1)), a


def rasterize(prims: list[Prim], view: View, roll: float, *, rgb: np.ndarray | None = None,
              temp: np.ndarray | None = None, depth: np.ndarray | None = None,
              haze: np.ndarray | None = None) -> None:
    """Composite ``prims`` far to near into the given buffers, in place.

    rgb (H, W, 3) float32 0..1, temp (H, W) kelvin, depth (H, W) metres, haze (H, W) 0..1:
    pass only the buffers a sensor needs.
    """
    for p in sorted(prims, key=lambda q: -q.z):
        if not ((rgb is not None and p.rgb is not None) or (temp is not None and p.temp is not None)
                or (depth is not None and p.solid) or (haze is not None and p.haze)):
            continue
        cov = _coverage(p, view, roll)
        if cov is None:
            continue
        sl, a = cov
        if rgb is not None and p.rgb is not None:
            region = rgb[sl]
            region += (np.asarray(p.rgb, dtype=np.float32) - region) * a[..., None]
        if temp is not None and p.temp is not None:
            region_t = temp[sl]
            region_t += (np.float32(p.temp) - region_t) * a
        if depth is not None and p.solid:
            region_d = depth[sl]
            np.copyto(region_d, np.float32(p.z if p.zval is None else p.zval), where=a > 0.5)
        if haze is not None and p.haze:
            region_h = haze[sl]
            region_h += (1.0 - region_h) * a
