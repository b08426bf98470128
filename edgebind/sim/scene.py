"""Room geometry shared by every renderer: camera, walls, floor, furniture, lighting.

World coordinates: x right, y up (0 = floor), z forward from the robot's camera (metres).
A pinhole camera at height ``cam_h`` looks along z; the image point of (x, y, z) is
``u = 0.5 + f x / z``, ``v = horizon + f (cam_h - y) / z`` (normalised units, see raster.py),
then the whole image is rolled by ``roll``. The room is a box: back wall at ``wall_z``, side
walls at ``+-width / 2``, ceiling at ``height``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgebind.sim.raster import Prim, View

FURNITURE = ("table", "cabinet", "plant", "sofa", "picture", "lamp", "radiator", "chair", "tv")


@dataclass
class Room:
    """Everything static about one simulated room (plain data; built by :func:`random_room`)."""

    seed: int
    f: float
    cam_h: float
    horizon: float
    roll: float
    wall_z: float
    width: float
    height: float
    wall_rgb: tuple[float, float, float]
    floor_rgb: tuple[float, float, float]
    ceil_rgb: tuple[float, float, float]
    floor_kind: str          # planks | tiles | carpet
    wall_stripes: float      # 0 = plain; else wallpaper stripe contrast
    light_gain: float
    light_cast: tuple[float, float, float]
    light_side: float        # left/right light gradient
    t_wall: float            # kelvin
    t_floor: float
    t_ceil: float
    t_outside: float         # seen through a window's broken glass
    furniture: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] | None = None    # back-wall window (glass_breaking needs one)
    door: dict[str, Any] | None = None      # back-wall door (door_slamming needs one)
    noise: dict[str, float] = field(default_factory=dict)  # per-sensor nuisance levels
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- projection -------------------------------------------------------------------------
    def uv(self, x: float, y: float, z: float) -> tuple[float, float]:
        return 0.5 + self.f * x / z, self.horizon + self.f * (self.cam_h - y) / z

    def x_at(self, u: float, z: float) -> float:
        """World x that projects to image column u at distance z."""
        return (u - 0.5) * z / self.f

    def x_range(self, z: float, margin: float = 0.15) -> tuple[float, float]:
        """x values at distance z that stay inside the frame and the room."""
        half = min(self.x_at(1.0 - margin, z), self.width / 2 - 0.3)
        return -half, half

    # -- background ---------------------------------------------------------------------------
    def background(self, view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb float32 HxWx3 0..1 before lighting, temp K, depth m) of the empty room; cached."""
        key = (view.width, view.height, view.u0, view.v0)
        if key not in self._cache:
            self._cache[key] = _background(self, view)
        rgb, temp, depth = self._cache[key]
        return rgb.copy(), temp.copy(), depth.copy()


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid, bilinearly upsampled (separably;
    no BLAS, whose threads thrash on a busy machine)."""
    g = rng.uniform(-1, 1, size=(cells + 1, cells + 1)).astype(np.float32)

    def weights(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.linspace(0, cells, n, dtype=np.float32)
        i0 = np.minimum(x.astype(int), cells - 1)
        return i0, x - i0

    xi, xf = weights(w)
    rows = g[:, xi] * (1 - xf) + g[:, xi + 1] * xf            # (cells + 1, w)
    yi, yf = weights(h)
    return rows[yi] * (1 - yf)[:, None] + rows[yi + 1] * yf[:, None]


def _background(room: Room, view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u, v = view.grid()
    c, s = float(np.cos(-room.roll)), float(np.sin(-room.roll))   # python floats keep float32
    du, dv = u - 0.5, v - 0.5
    uu = c * du - s * dv          # un-rolled coordinates, relative to the centre
    vv = s * du + c * dv + 0.5
    f = room.f
    dvh = vv - room.horizon
    with np.errstate(divide="ignore", invalid="ignore"):
        z_floor = np.where(dvh > 1e-6, f * room.cam_h / dvh, np.inf)
        z_ceil = np.where(dvh < -1e-6, f * (room.height - room.cam_h) / -dvh, np.inf)
        z_side = np.where(np.abs(uu) > 1e-6, f * (room.width / 2) / np.abs(uu), np.inf)
    shape = np.broadcast_shapes(uu.shape, vv.shape)
    depth = np.full(shape, room.wall_z, dtype=np.float32)
    which = np.zeros(shape, dtype=np.int8)     # 0 back wall, 1 floor, 2 ceiling, 3 side wall
    for code, zz in ((1, z_floor), (2, z_ceil), (3, z_side)):
        zz = np.broadcast_to(zz, shape)
        closer = zz < depth
        depth[closer] = zz[closer]
        which[closer] = code
    xw = uu * depth / f                        # world x of each pixel's surface point
    yw = room.cam_h - dvh * depth / f          # world height
    rng = np.random.default_rng([room.seed, 17, view.width])
    h, w = depth.shape
    tex = _smooth_noise(rng, h, w, 12)
    # One shade factor per pixel times one base colour per surface (0 back, 1 floor, 2 ceiling,
    # 3 side wall): a single gather builds the image.
    shade = 1.0 + 0.04 * tex
    if room.wall_stripes > 0:
        shade += room.wall_stripes * np.sign(np.sin(xw * np.float32(2 * np.pi / 0.25)))
    # Soft ambient occlusion where walls meet the floor.
    shade *= np.clip(np.minimum(np.abs(yw), 1.0) * 2.5, 0.55, 1.0)
    floor = which == 1
    fx, fz = np.broadcast_to(xw, depth.shape)[floor], depth[floor]
    if room.floor_kind == "planks":
        q = fx / np.float32(0.18)
        plank = np.floor(q)
        hsh = np.sin(plank * 12.9898 + room.seed % 97) * 43758.5453
        var = (hsh - np.floor(hsh)) * 0.25 + 0.87
        grain = 1.0 + 0.05 * np.sin(fz * 23.0 + plank)
        seam = np.where(np.abs(q - np.round(q)) < 0.04, 0.8, 1.0)
        fshade = var * grain * seam
    elif room.floor_kind == "tiles":
        chk = (np.floor(fx / 0.4) + np.floor(fz / 0.4)) % 2
        fshade = 0.9 + 0.15 * chk
    else:
        fshade = 1.0 + 0.08 * tex[floor] + 0.04 * rng.standard_normal(fx.shape, dtype=np.float32)
    shade[floor] = fshade
    wall = np.asarray(room.wall_rgb, np.float32)
    palette = np.stack([wall, np.asarray(room.floor_rgb, np.float32),
                        np.asarray(room.ceil_rgb, np.float32), wall * 0.82])
    rgb = palette[which] * shade.astype(np.float32)[..., None]
    tpal = np.array([room.t_wall, room.t_floor, room.t_ceil, room.t_wall], np.float32)
    temp = tpal[which] + (np.clip(yw, 0, room.height) * (0.8 / room.height)).astype(np.float32) + 0.15 * tex
    return rgb.astype(np.float32), temp.astype(np.float32), depth.astype(np.float32)


# -- random rooms ----------------------------------------------------------------------------
_WALLS = [(0.85, 0.82, 0.75), (0.75, 0.8, 0.85), (0.9, 0.88, 0.85), (0.7, 0.75, 0.65),
          (0.85, 0.75, 0.7), (0.6, 0.62, 0.65), (0.95, 0.93, 0.9), (0.78, 0.7, 0.8)]
_FLOORS = [(0.55, 0.4, 0.28), (0.65, 0.55, 0.42), (0.45, 0.45, 0.48), (0.7, 0.7, 0.68),
           (0.35, 0.3, 0.25), (0.5, 0.55, 0.6), (0.6, 0.45, 0.4)]


def _jitter(rng: np.random.Generator, rgb: tuple[float, ...], amount: float) -> tuple[float, float, float]:
    c = np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, 3), 0.05, 0.98)
    return (float(c[0]), float(c[1]), float(c[2]))


def random_color(rng: np.random.Generator, lo: float = 0.1, hi: float = 0.9) -> tuple[float, float, float]:
    c = rng.uniform(lo, hi, 3)
    return (float(c[0]), float(c[1]), float(c[2]))


def random_room(rng: np.random.Generator, difficulty: float = 1.0) -> Room:
    """A random room: camera pose, surfaces, lighting, temperatures, furniture, noise levels."""
    d = float(difficulty)
    t_wall = float(rng.uniform(291.0, 298.5))
    room = Room(
        seed=int(rng.integers(0, 2**31 - 1)),
        f=float(rng.uniform(0.72, 0.95)),
        cam_h=float(rng.uniform(0.35, 0.95)),
        horizon=float(0.5 + rng.uniform(-0.07, 0.07) * min(d, 2.0)),
        roll=float(rng.normal(0, 0.025) * min(d, 2.0)),
        wall_z=float(rng.uniform(3.0, 4.0 + 3.0 * min(d, 1.5) / 1.5)),
        width=float(rng.uniform(4.0, 8.0)),
        height=float(rng.uniform(2.4, 3.0)),
        wall_rgb=_jitter(rng, _WALLS[rng.integers(len(_WALLS))], 0.06),
        floor_rgb=_jitter(rng, _FLOORS[rng.integers(len(_FLOORS))], 0.06),
        ceil_rgb=_jitter(rng, (0.92, 0.92, 0.9), 0.04),
        floor_kind=str(rng.choice(["planks", "tiles", "carpet"])),
        wall_stripes=float(rng.choice([0.0, 0.0, rng.uniform(0.02, 0.06)])),
        light_gain=float(np.clip(np.exp(rng.normal(0, 0.22 * min(d, 2.0))), 0.55, 1.45)),
        light_cast=_jitter(rng, (1.0, 1.0, 1.0), 0.08 * min(d, 2.0)),
        light_side=float(rng.uniform(-0.2, 0.2)),
        t_wall=t_wall,
        t_floor=t_wall - float(rng.uniform(0.3, 2.0)),
        t_ceil=t_wall + float(rng.uniform(0.2, 1.5)),
        t_outside=float(rng.choice([rng.uniform(262, 285), rng.uniform(300, 308)], p=[0.8, 0.2])),
        noise={
            "vision": float(rng.uniform(0.008, 0.02) * d),
            "depth": float(rng.uniform(0.001, 0.003) * max(d, 0.2)),
            "depth_holes": float(rng.uniform(0.0, 0.02) * d),
            "thermal": float(rng.uniform(0.04, 0.12) * max(d, 0.2)),
            "thermal_offset": float(rng.normal(0, 0.8) * d),
            "audio_db": float(rng.uniform(-58, -44) + 6 * (d - 1)),
            "audio_gain_db": float(rng.normal(0, 4) * d),
            "imu_accel": float(rng.uniform(0.01, 0.03) * max(d, 0.2)),
            "imu_gyro": float(rng.uniform(0.001, 0.004) * max(d, 0.2)),
        },
    )
    if rng.random() < 0.55:
        room.window = _random_window(rng, room)
    if rng.random() < 0.45:
        room.door = _random_door(rng, room)
    n = int(rng.poisson(1.5 + 1.5 * d))
    for _ in range(min(n, 8)):
        room.furniture.append(_random_furniture(rng, room))
    return room


def _free_x(rng: np.random.Generator, room: Room, half: float, other: dict[str, Any] | None) -> float:
    """A wall position for a fixture of half-width ``half`` in view, clear of ``other``."""
    xl, xr = room.x_range(room.wall_z, 0.1)
    lo, hi = xl + half, max(xl + half, xr - half)
    x = float(rng.uniform(lo, hi))
    for _ in range(12):
        if other is None or abs(x - other["x"]) > half + other["w"] / 2 + 0.15:
            break
        x = float(rng.uniform(lo, hi))
    return x


def _random_window(rng: np.random.Generator, room: Room) -> dict[str, Any]:
    w, h = float(rng.uniform(1.0, 1.8)), float(rng.uniform(0.9, 1.4))
    x = _free_x(rng, room, w / 2, room.door)
    return {"x": x, "y": float(rng.uniform(0.75, 1.0)), "w": w, "h": h,
            "frame_rgb": _jitter(rng, (0.9, 0.9, 0.88), 0.1),
            "sky_rgb": _jitter(rng, (0.65, 0.78, 0.9), 0.12)}


def _random_door(rng: np.random.Generator, room: Room) -> dict[str, Any]:
    w = float(rng.uniform(0.8, 0.95))
    x = _free_x(rng, room, w / 2 + 0.07, room.window)
    return {"x": x, "w": w, "h": float(rng.uniform(1.95, 2.1)),
            "rgb": _jitter(rng, [(0.55, 0.38, 0.22), (0.9, 0.9, 0.88), (0.4, 0.3, 0.25),
                                 (0.6, 0.65, 0.7)][rng.integers(4)], 0.06),
            "hinge": str(rng.choice(["left", "right"])),
            "t_beyond": room.t_wall + float(rng.choice([-1, 1]) * rng.uniform(1.5, 4.0)),
            "open_deg": float(rng.uniform(10, 75)) if rng.random() < 0.3 else 0.0}


def _random_furniture(rng: np.random.Generator, room: Room) -> dict[str, Any]:
    kind = str(rng.choice(FURNITURE))
    z = float(rng.uniform(1.8, room.wall_z - 0.2))
    if kind in ("picture", "radiator", "tv"):
        z = room.wall_z - 0.05
    xl, xr = room.x_range(z, 0.05)
    return {"kind": kind, "x": float(rng.uniform(xl, xr)), "z": z,
            "scale": float(rng.uniform(0.75, 1.3)), "rgb": random_color(rng, 0.15, 0.85),
            "rgb2": random_color(rng, 0.15, 0.85),
            "temp": float(rng.uniform(308, 330)) if kind in ("radiator", "lamp") and rng.random() < 0.6
            else float(rng.uniform(-0.8, 0.8))}   # offset from the wall temperature if cold


def box_prims(room: Room, x: float, y: float, z: float, w: float, h: float,
              rgb: tuple[float, float, float] | None, temp: float | None,
              alpha: float = 1.0, solid: bool = True) -> Prim:
    """An upright rectangle facing the camera: centre x, bottom y, distance z, size w x h metres."""
    ul, vb = room.uv(x - w / 2, y, z)
    ur, vt = room.uv(x + w / 2, y + h, z)
    return Prim("poly", ((ul, vt), (ur, vt), (ur, vb), (ul, vb)), rgb, temp, z, alpha, solid=solid)


def ellipse_prim(room: Room, x: float, y: float, z: float, rx: float, ry: float,
                 rgb: tuple[float, float, float] | None, temp: float | None, angle: float = 0.0,
                 alpha: float = 1.0, kind: str = "ellipse", solid: bool = True,
                 haze: bool = False) -> Prim:
    """An ellipse facing the camera centred at (x, y, z), radii in metres."""
    u, v = room.uv(x, y, z)
    s = room.f / z
    return Prim(kind, ((u, v),), rgb, temp, z, alpha, (rx * s, ry * s), angle, solid, haze)


def limb_prim(room: Room, p0: tuple[float, float], p1: tuple[float, float], width: float, z: float,
              rgb: tuple[float, float, float] | None, temp: float | None) -> Prim:
    """A thick segment from p0 to p1 ((x, y) metres, in the plane at distance z)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    n = max(np.hypot(dx, dy), 1e-6)
    ox, oy = -dy / n * width / 2, dx / n * width / 2
    pts = tuple(room.uv(px, py, z) for px, py in
                ((x0 + ox, y0 + oy), (x1 + ox, y1 + oy), (x1 - ox, y1 - oy), (x0 - ox, y0 - oy)))
    return Prim("poly", pts, rgb, temp, z)


def poly_prim(room: Room, pts: list[tuple[float, float]], z: float,
              rgb: tuple[float, float, float] | None, temp: float | None, alpha: float = 1.0,
              solid: bool = True) -> Prim:
    """A convex polygon of (x, y) metres in the plane at distance z."""
    return Prim("poly", tuple(room.uv(x, y, z) for x, y in pts), rgb, temp, z, alpha, solid=solid)


def shadow_prim(room: Room, x: float, z: float, rx: float, alpha: float = 0.35) -> Prim:
    """A soft contact shadow on the floor under an object (foreshortened by the camera height)."""
    u, v = room.uv(x, 0.0, z)
    s = room.f / z
    ry = max(rx * room.cam_h / z, 0.02) * 0.5
    return Prim("blob", ((u, v),), (0.0, 0.0, 0.0), None, z + 0.08, alpha, (rx * s * 0.5, ry * s),
                0.0, solid=False)


def furniture_prims(room: Room) -> list[Prim]:
    """Static distractor objects (they look like things but are none of the events)."""
    out: list[Prim] = []
    tw = room.t_wall
    for it in room.furniture:
        x, z, s, c, c2, k = it["x"], it["z"], it["scale"], it["rgb"], it["rgb2"], it["kind"]
        hot = it["temp"] > 200
        t = it["temp"] if hot else tw + it["temp"]
        if k in ("table", "cabinet", "plant", "sofa", "lamp", "chair"):
            out.append(shadow_prim(room, x, z, {"sofa": 1.8, "table": 1.1}.get(k, 0.6) * s))
        if k == "table":
            out.append(box_prims(room, x, 0.7 * s, z, 1.1 * s, 0.06, c, t))
            for dx in (-0.5, 0.5):
                out.append(box_prims(room, x + dx * s, 0.0, z + 0.01, 0.06, 0.7 * s, c, t))
        elif k == "cabinet":
            out.append(box_prims(room, x, 0.0, z, 0.7 * s, 1.0 * s, c, t))
            out.append(box_prims(room, x, 0.5 * s, z - 0.01, 0.6 * s, 0.02, c2, None))
        elif k == "plant":
            out.append(box_prims(room, x, 0.0, z, 0.3 * s, 0.35 * s, c2, t))
            for j, (dx, dy) in enumerate(((0, 0.6), (-0.15, 0.5), (0.15, 0.52), (0, 0.8))):
                out.append(ellipse_prim(room, x + dx * s, dy * s, z - 0.02 - 0.001 * j, 0.18 * s,
                                        0.14 * s, (0.15 + 0.1 * c[0], 0.45 + 0.2 * c[1], 0.15), t - 0.5))
        elif k == "sofa":
            out.append(box_prims(room, x, 0.0, z, 1.8 * s, 0.45 * s, c, t))
            out.append(box_prims(room, x, 0.45 * s, z + 0.02, 1.8 * s, 0.4 * s, c, t))
        elif k == "picture":
            out.append(box_prims(room, x, 1.3, z, 0.6 * s, 0.45 * s, c2, None))
            out.append(box_prims(room, x, 1.33, z - 0.001, 0.52 * s, 0.39 * s, c, None))
        elif k == "lamp":
            out.append(box_prims(room, x, 0.0, z, 0.05, 1.4 * s, (0.2, 0.2, 0.2), tw))
            out.append(poly_prim(room, [(x - 0.12 * s, 1.4 * s), (x + 0.12 * s, 1.4 * s),
                                        (x + 0.2 * s, 1.65 * s), (x - 0.2 * s, 1.65 * s)][::-1],
                                 z - 0.01, (0.95, 0.9, 0.7), t))
        elif k == "radiator":
            out.append(box_prims(room, x, 0.15, z, 0.9 * s, 0.55, (0.9, 0.9, 0.88), t))
            for j in range(6):
                out.append(box_prims(room, x - 0.4 * s + j * 0.16 * s, 0.17, z - 0.01, 0.03, 0.5,
                                     (0.7, 0.7, 0.7), None))
        elif k == "chair":
            out.append(box_prims(room, x, 0.45 * s, z, 0.45 * s, 0.05, c, t))
            out.append(box_prims(room, x, 0.5 * s, z + 0.2, 0.45 * s, 0.45 * s, c, t))
            for dx in (-0.2, 0.2):
                out.append(box_prims(room, x + dx * s, 0.0, z, 0.04, 0.45 * s, c2, t))
        elif k == "tv":
            out.append(box_prims(room, x, 1.0, z, 1.0 * s, 0.6 * s, (0.08, 0.08, 0.1), tw + 3.0))
            out.append(box_prims(room, x, 1.03, z - 0.01, 0.94 * s, 0.54 * s,
                                 (0.1 + 0.3 * c[0], 0.1 + 0.3 * c[1], 0.1 + 0.3 * c[2]), None))
    return out
