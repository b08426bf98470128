"""The room's fixtures on the back wall: a window (intact, or shattering) and a door (at rest,
or slamming and rebounding). The door's swing is plain data (:func:`slam_angle`), so the
sound and the IMU hear the rebound hit the frame exactly when the camera shows it."""
from __future__ import annotations

from typing import Any

import numpy as np

from edgebind.sim.raster import Prim
from edgebind.sim.scene import Room, box_prims, ellipse_prim, limb_prim, poly_prim


def window_prims(room: Room, win: dict[str, Any], z: float, intact: bool = True) -> list[Prim]:
    x, y, w, h = win["x"], win["y"], win["w"], win["h"]
    tw = room.t_wall
    glass_t = tw + 0.35 * (room.t_outside - tw)
    out = [box_prims(room, x, y - 0.06, z, w + 0.12, h + 0.12, win["frame_rgb"], tw - 0.5)]
    sky = win["sky_rgb"]
    out.append(box_prims(room, x, y, z - 0.002, w, h, sky, glass_t))
    out.append(box_prims(room, x - w / 4, y + h * 0.55, z - 0.003, w / 2.5, h * 0.4,
                         tuple(min(1.0, c * 1.15) for c in sky), None, alpha=0.5))
    if intact:
        out.append(box_prims(room, x, y, z - 0.004, 0.04, h, win["frame_rgb"], tw - 0.5))
        out.append(box_prims(room, x, y + h / 2 - 0.02, z - 0.004, w, 0.04, win["frame_rgb"], tw - 0.5))
    return out


def shattered_window(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    """glass_breaking: holes and cracks from the impact, shards falling, outside air flowing in."""
    win = p["window"]
    z = room.wall_z - 0.03
    out = window_prims(room, win, z, intact=False)
    x, y, w, h = win["x"], win["y"], win["w"], win["h"]
    ix, iy = x - w / 2 + p["impact"][0] * w, y + p["impact"][1] * h
    tw = room.t_wall
    dark_sky = tuple(c * 0.55 for c in win["sky_rgb"])
    k = p["intensity"] ** 0.5
    for hx, hy, r, s in p["holes"]:
        rng = np.random.default_rng(s)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        rad = r * k * rng.uniform(0.6, 1.0, 7)
        cx, cy = ix + hx * w * 0.5, iy + hy * h * 0.5
        pts = [(float(np.clip(cx + a * np.cos(b), x - w / 2, x + w / 2)),
                float(np.clip(cy + a * np.sin(b), y, y + h))) for a, b in zip(rad, ang)]
        out.append(Prim("poly", tuple(room.uv(px, py, z - 0.005) for px, py in pts), dark_sky,
                        room.t_outside, z - 0.005, zval=60.0))
    for a in p["cracks"]:
        # A crack runs from the impact to the pane's edge.
        L = 2.0 * max(w, h)
        ex = float(np.clip(ix + L * np.cos(a), x - w / 2, x + w / 2))
        ey = float(np.clip(iy + L * np.sin(a), y, y + h))
        out.append(limb_prim(room, (ix, iy), (ex, ey), 0.022, z - 0.006, (0.97, 0.97, 0.97), None))
    for sx, sy, frac, size, rot in p["shards"]:
        t0 = 0.05 + 0.25 * frac
        y0 = iy + sy * h * 0.3
        tt = t - t0
        if tt < 0:
            continue
        yy = y0 - 0.5 * 9.81 * tt * tt
        zz = room.wall_z - 0.05 - frac * 0.9 * min(1.0, tt / 0.45)
        xx = x + sx * w
        sz = size * (0.6 + 0.4 * k)
        if yy <= 0:
            yy, flat = 0.01, 0.25          # lying on the floor
        else:
            flat = 1.0
        pts = [(xx + sz * np.cos(rot + j * 2.1), yy + flat * sz * np.sin(rot + j * 2.1)) for j in range(3)]
        out.append(poly_prim(room, pts, zz, (0.85, 0.92, 0.98), tw - 0.5))
    # Cold (or hot) outside air flowing in and sinking along the wall: thermal only.
    grow = min(1.0, t / 1.0)
    out.append(ellipse_prim(room, x, max(y - 0.3 * grow, 0.2), room.wall_z - 0.3, w * 0.9,
                            0.4 + 0.5 * grow, None, room.t_outside, alpha=0.7 * grow * k,
                            kind="blob", solid=False))
    # ... pooling on the floor in front of the wall.
    out.append(ellipse_prim(room, x, 0.02, room.wall_z - 0.6, w * 1.2, 0.25 * grow + 0.05, None,
                            room.t_outside, alpha=0.6 * grow * k, kind="blob", solid=False))
    return out


def door_prims(room: Room, door: dict[str, Any], angles_deg: list[float], alphas: list[float],
               z: float) -> list[Prim]:
    x, w, h = door["x"], door["w"], door["h"]
    tw = room.t_wall
    frame = tuple(c * 0.8 for c in door["rgb"])
    out = [box_prims(room, x, 0.0, z, w + 0.14, h + 0.07, frame, tw - 0.3),
           box_prims(room, x, 0.0, z - 0.001, w, h, (0.12, 0.12, 0.14), door.get("t_beyond", tw - 2.5))]
    out[-1].zval = room.wall_z + 2.5     # the next room, behind the doorway
    hinge = -1.0 if door["hinge"] == "left" else 1.0
    xh = x + hinge * w / 2
    for ang, al in zip(angles_deg, alphas):
        th = np.radians(ang)
        xf = xh - hinge * w * np.cos(th)
        zf = z - w * np.sin(th)
        shade = 1.0 - 0.35 * np.sin(th)
        col = tuple(float(c * shade) for c in door["rgb"])
        pts = (room.uv(xh, h, z - 0.002), room.uv(xf, h, zf), room.uv(xf, 0.0, zf), room.uv(xh, 0.0, z - 0.002))
        out.append(Prim("poly", pts, col, tw - 0.2, (z + zf) / 2 - 0.003, al))
        hx = xh - hinge * w * 0.85 * np.cos(th)
        hz = z - w * 0.85 * np.sin(th) - 0.01
        out.append(ellipse_prim(room, hx, 1.0, hz, 0.03, 0.03, (0.75, 0.7, 0.5), None, alpha=al))
    return out


def slam_angle(p: dict[str, Any], t: float) -> float:
    ti = p["t_impact"]
    if t < ti:
        return p["open_deg"] * (1.0 - (t / ti) ** 2)
    # The latch misses: the door bounces back open, wobbles and slowly swings to again.
    s = t - ti
    return (p["rebound_deg"] * p["intensity"] * (1.0 - np.exp(-s / 0.12)) * np.exp(-s / p["rebound_tau"])
            * (1.0 + 0.3 * np.sin(2 * np.pi * s / p["rebound_T"])))


def rattles(p: dict[str, Any]) -> list[tuple[float, float]]:
    """(time, angle just before) of each rebound that swings the door back onto its frame,
    on a 10 ms grid: where the sound and the IMU rattle."""
    out = []
    s, prev = p["t_impact"] + 0.01, 0.0
    while s < p["duration_s"]:
        a = slam_angle(p, s)
        if prev > 0.3 and a < prev and slam_angle(p, s + 0.01) > a:
            out.append((s, prev))
        prev = a
        s += 0.01
    return out


def slamming_door(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    """door_slamming: the swinging panel (motion-blurred), then dust and a plume of corridor air."""
    dt = 0.08   # ghosts of the moving panel (motion blur over a long exposure)
    angs = [slam_angle(p, max(t - 2 * dt, 0.0)), slam_angle(p, max(t - dt, 0.0)), slam_angle(p, t)]
    out = door_prims(room, p["door"], angs, [0.35, 0.5, 0.85], room.wall_z - 0.03)
    # Dust shaken off the frame by the impact.
    if t > p["t_impact"]:
        s = t - p["t_impact"]
        rng = np.random.default_rng(p["seed"])
        door = p["door"]
        for _ in range(8):
            dx = rng.uniform(-0.6, 0.6) * door["w"]
            yy = door["h"] + 0.05 - 0.5 * 1.5 * s * s * rng.uniform(0.3, 1.0)
            r = 0.1 + 0.15 * min(s, 1.0) * rng.uniform(0.5, 1.0)
            if yy > 0:
                out.append(ellipse_prim(room, door["x"] + dx, yy, room.wall_z - 0.3, r, r,
                                        (0.72, 0.7, 0.64), None, alpha=0.6 * np.exp(-s / 1.5),
                                        kind="blob", solid=False))
        # The air pushed through the doorway: a plume at the corridor's temperature.
        tb = door.get("t_beyond", room.t_wall - 2.5)
        out.append(ellipse_prim(room, door["x"], 0.6, room.wall_z - 0.4, door["w"] * 1.3, 0.8, None,
                                room.t_wall + 1.5 * (tb - room.t_wall), alpha=0.85 * np.exp(-s / 2.5),
                                kind="blob", solid=False))
    return out
