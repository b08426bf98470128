"""What each event looks like (and how warm and how far it is): random parameters and the
primitives of an active occurrence at a time ``t`` seconds after its start.

Parameters are plain data drawn once per occurrence (:func:`random_params`), so an
occurrence renders identically in every sensor and every call. Times that several sensors must
agree on (bark onsets, the slam, the fall's impact, footfalls) live in the parameters too, and
audio.py / imu.py read the same values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from edgebind.sim.raster import Prim
from edgebind.sim.scene import (Room, _random_door, _random_window, box_prims, ellipse_prim,
                                furniture_prims, limb_prim, poly_prim, random_color, shadow_prim)

SKIN = [(0.95, 0.8, 0.68), (0.85, 0.65, 0.5), (0.65, 0.45, 0.32), (0.45, 0.3, 0.2)]
FUR = [(0.55, 0.38, 0.2), (0.15, 0.12, 0.1), (0.9, 0.85, 0.75), (0.8, 0.6, 0.3),
       (0.45, 0.42, 0.4)]
IMPULSIVE = ("glass_breaking", "door_slamming", "person_falling")


def _in_range(rng: np.random.Generator, room: Room, z: float, margin: float = 0.2) -> float:
    lo, hi = room.x_range(z, margin)
    return float(rng.uniform(lo, hi)) if hi > lo else 0.0


def random_params(event: str, rng: np.random.Generator, room: Room, duration_s: float,
                  difficulty: float = 1.0) -> dict[str, Any]:
    """Random, plain-data parameters of one occurrence of ``event`` lasting ``duration_s``."""
    d = float(difficulty)
    # Intensity scales loudness, vibration and (for some events) size; harder -> weaker tail.
    lo = max(0.25, 1.0 - 0.35 * d)
    p: dict[str, Any] = {"seed": int(rng.integers(0, 2**31 - 1)), "duration_s": float(duration_s),
                         "intensity": float(rng.uniform(lo, 1.0))}
    zmax = room.wall_z - 0.4
    # Harder clips may put actors further away (smaller in the image, quieter).
    far = 0.7 + 0.3 * min(d, 2.0)
    if event in ("footsteps", "person_falling"):
        z = float(rng.uniform(1.3, min(zmax, (4.5 if event == "footsteps" else 3.5) * far)))
        p.update(z=z, x=_in_range(rng, room, z), height=float(rng.uniform(1.5, 1.9)),
                 shirt=random_color(rng), trousers=random_color(rng, 0.05, 0.6),
                 skin=SKIN[int(rng.integers(len(SKIN)))], hair=random_color(rng, 0.02, 0.4),
                 t_skin=float(rng.uniform(305.0, 308.0)), t_cloth=float(rng.uniform(299.5, 303.5)))
        if event == "footsteps":
            p.update(speed=float(rng.uniform(0.7, 1.4)) * float(rng.choice([-1, 1])),
                     cadence=float(rng.uniform(1.6, 2.3)), phase=float(rng.uniform(0, 1)),
                     shoe=str(rng.choice(["hard", "soft", "heel"])))
        else:
            t_imp = float(rng.uniform(0.35, 0.8))
            # Fall towards the middle of the view, and start far enough from the edge that
            # the body ends up in frame.
            lo, hi = room.x_range(z, 0.1)
            direction = -1.0 if p["x"] > 0 else 1.0
            reach = 0.95 * p["height"]
            x = float(np.clip(p["x"], lo + (reach if direction < 0 else 0.0), hi - (reach if direction > 0 else 0.0)))
            if hi - lo < reach:
                x = (lo + hi) / 2 - direction * reach / 2
            p.update(x=x, direction=direction, t_impact=t_imp,
                     stagger=float(rng.uniform(0.1, 0.3)))
    elif event == "dog_barking":
        z = float(rng.uniform(1.0, min(zmax, 3.5 * far)))
        barks, t = [], float(rng.uniform(0.0, 0.4))
        while t < duration_s:
            for _ in range(int(rng.integers(1, 4))):          # a volley of 1-3 barks
                barks.append(round(t, 4))
                t += float(rng.uniform(0.25, 0.45))
            t += float(rng.uniform(0.3, 1.2))
        p.update(z=z, x=_in_range(rng, room, z), size=float(rng.uniform(0.35, 0.65)),
                 fur=FUR[int(rng.integers(len(FUR)))], facing=float(rng.choice([-1, 1])),
                 barks=barks, f0=float(rng.uniform(300, 750)),
                 t_body=float(rng.uniform(302.5, 306.0)), t_head=float(rng.uniform(306.0, 309.0)))
    elif event == "smoke_alarm":
        zs = float(rng.uniform(1.5, min(zmax, 5.0 * far)))
        ya = room.height - float(rng.uniform(0.1, 0.35))
        xa = _in_range(rng, room, room.wall_z, 0.15)
        # Keep the alarm inside the frame when the ceiling line is above it.
        _, va = room.uv(xa, ya, room.wall_z)
        if va < 0.06:
            ya = room.cam_h - (0.06 - room.horizon) * room.wall_z / room.f
        p.update(alarm_x=xa, alarm_y=float(ya), src_x=_in_range(rng, room, zs), src_z=zs,
                 src_kind=str(rng.choice(["bin", "pan", "box"])),
                 t_src=float(rng.uniform(335.0, 420.0)), density=float(rng.uniform(0.45, 0.9)),
                 smoke_rgb=float(rng.uniform(0.3, 0.7)), beep_hz=float(rng.uniform(2900, 3500)),
                 phase=float(rng.uniform(0, 4.0)))
    elif event == "glass_breaking":
        win = room.window or _random_window(rng, room)
        n_holes = int(rng.integers(1, 4))
        p.update(window=win, impact=(float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.3, 0.7))),
                 cracks=[float(a) for a in np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(6, 13))))],
                 holes=[(float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.2, 0.2)),
                         float(rng.uniform(0.15, 0.4)), int(rng.integers(0, 1000)))
                        for _ in range(n_holes)],
                 shards=[(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(0.0, 0.25)),
                          float(rng.uniform(0.05, 0.9)), float(rng.uniform(0.05, 0.12)),
                          float(rng.uniform(0, np.pi)))
                         for _ in range(int(rng.integers(14, 36)))],
                 t_impact=0.0)
    elif event == "door_slamming":
        door = dict(room.door or _random_door(rng, room))
        p.update(door=door, open_deg=float(rng.uniform(45, 85)),
                 t_impact=float(rng.uniform(0.12, 0.3)), rebound_deg=float(rng.uniform(55, 85)),
                 rebound_tau=float(rng.uniform(1.5, 3.0)), rebound_T=float(rng.uniform(0.5, 0.9)))
    elif event == "machine_running":
        z = float(rng.uniform(1.4, min(zmax, 4.5 * far)))
        p.update(z=z, x=_in_range(rng, room, z), w=float(rng.uniform(0.6, 1.2)),
                 h=float(rng.uniform(0.5, 1.2)), rgb=random_color(rng, 0.2, 0.8),
                 panel=random_color(rng, 0.1, 0.5), fan_r=float(rng.uniform(0.12, 0.22)),
                 rpm=float(rng.uniform(600, 2400)), hum_hz=float(rng.uniform(48, 120)),
                 vib_hz=float(rng.uniform(20, 60)), t_body=float(rng.uniform(312, 330)),
                 t_motor=float(rng.uniform(325, 350)), led=random_color(rng, 0.3, 1.0))
    elif event != "quiet_room":
        raise ValueError(f"unknown event {event!r}")
    return p


# -- drawing -------------------------------------------------------------------------------
def _person(room: Room, p: dict[str, Any], x: float, swing: float, tilt: float) -> list[Prim]:
    """A person with feet at x; swing = gait phase angle (legs/arms), tilt = body rotation
    about the feet (0 upright, +-pi/2 lying)."""
    H, z = p["height"], p["z"]
    ca, sa = np.cos(tilt), np.sin(tilt)
    lift = 0.07 * H * abs(sa)

    def P(dx: float, dy: float) -> tuple[float, float]:
        return (x + ca * dx + sa * dy, -sa * dx + ca * dy + lift)

    leg = 0.22 * H * np.sin(swing)
    cx = x + (0.5 * H * sa if abs(sa) > 0.3 else 0.0)
    shadow = shadow_prim(room, cx, z, 0.5 + 0.9 * H * abs(sa))
    hip, sh = P(0, 0.52 * H), P(0, 0.8 * H)
    sk, cl, tr = p["skin"], p["shirt"], p["trousers"]
    ts, tc = p["t_skin"], p["t_cloth"]
    out = [shadow, limb_prim(room, hip, P(leg, 0.0), 0.085 * H, z + 0.02, tr, tc - 1.0),
           limb_prim(room, hip, P(-leg, 0.0), 0.085 * H, z + 0.01, tr, tc - 1.0),
           limb_prim(room, P(0, 0.5 * H), sh, 0.2 * H, z, cl, tc),
           limb_prim(room, sh, P(-0.7 * leg, 0.5 * H), 0.055 * H, z - 0.02, sk, ts - 1.0),
           limb_prim(room, sh, P(0.7 * leg, 0.5 * H), 0.055 * H, z + 0.015, cl, tc)]
    hx, hy = P(0, 0.9 * H)
    out.append(ellipse_prim(room, hx, hy, z - 0.01, 0.055 * H, 0.068 * H, sk, ts, angle=-tilt))
    hx2, hy2 = P(0, 0.94 * H)
    out.append(ellipse_prim(room, hx2, hy2, z - 0.012, 0.052 * H, 0.035 * H, p["hair"], ts - 3.0,
                            angle=-tilt))
    return out


def _walk_x(p: dict[str, Any], room: Room, t: float) -> float:
    """Walk back and forth inside the visible range (a triangle wave)."""
    lo, hi = room.x_range(p["z"], 0.08)
    span = max(hi - lo, 1e-3)
    s = (p["x"] - lo + p["speed"] * t) % (2 * span)
    return lo + (s if s <= span else 2 * span - s)


def _dog(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    S, z, fur, fc = p["size"], p["z"], p["fur"], p["facing"]
    barking = any(0.0 <= t - b < 0.2 for b in p["barks"])
    x = p["x"] + 0.04 * np.sin(1.3 * t)
    tb, th = p["t_body"], p["t_head"]
    dark = tuple(c * 0.6 for c in fur)
    out = [shadow_prim(room, x, z, 1.2 * S)]
    for k, dx in enumerate((-0.35, -0.25, 0.25, 0.35)):
        out.append(limb_prim(room, (x + fc * dx * S, 0.55 * S), (x + fc * (dx + 0.03 * np.sin(2 * t + k)) * S, 0.0),
                             0.09 * S, z + (0.01 if k % 2 else -0.01), fur if k % 2 else dark, tb - 0.5))
    out.append(ellipse_prim(room, x, 0.62 * S, z, 0.5 * S, 0.2 * S, fur, tb))
    out.append(limb_prim(room, (x - fc * 0.45 * S, 0.7 * S), (x - fc * 0.7 * S, 0.95 * S), 0.06 * S,
                         z + 0.005, fur, tb - 1.0))
    lean = 0.06 * S if barking else 0.0
    hx, hy = x + fc * (0.5 * S + lean), 0.9 * S
    out.append(limb_prim(room, (x + fc * 0.35 * S, 0.7 * S), (hx, hy), 0.18 * S, z - 0.005, fur, tb))
    out.append(ellipse_prim(room, hx, hy, z - 0.01, 0.17 * S, 0.15 * S, fur, th))
    sx = hx + fc * 0.2 * S
    if barking:   # open jaws
        out.append(ellipse_prim(room, sx, hy + 0.02 * S, z - 0.012, 0.13 * S, 0.05 * S, fur, th - 1.0,
                                angle=-fc * 0.35))
        out.append(ellipse_prim(room, sx, hy - 0.08 * S, z - 0.012, 0.12 * S, 0.045 * S, dark, th - 1.0,
                                angle=fc * 0.35))
    else:
        out.append(ellipse_prim(room, sx, hy - 0.03 * S, z - 0.012, 0.13 * S, 0.07 * S, fur, th - 1.0))
    out.append(ellipse_prim(room, hx - fc * 0.05 * S, hy + 0.13 * S, z - 0.015, 0.05 * S, 0.1 * S,
                            dark, tb - 2.0, angle=fc * 0.4))
    out.append(ellipse_prim(room, sx + fc * 0.12 * S, hy - 0.02 * S, z - 0.016, 0.03 * S, 0.03 * S,
                            (0.05, 0.05, 0.05), th - 4.0))
    return out


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


def _glass(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
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


def _door(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
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


def _machine(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    z, w, h = p["z"], p["w"], p["h"]
    x = p["x"] + 0.004 * np.sin(2 * np.pi * p["vib_hz"] * t)
    tb, tm = p["t_body"], p["t_motor"]
    panel = p["panel"]
    out = [shadow_prim(room, x, z, w * 1.2, 0.45), box_prims(room, x, 0.0, z, w, h, p["rgb"], tb),
           box_prims(room, x - w * 0.2, h * 0.15, z - 0.01, w * 0.45, h * 0.7, panel, tb - 2.0)]
    for j in range(4):   # vents
        out.append(box_prims(room, x + w * 0.25, h * (0.2 + 0.15 * j), z - 0.012, w * 0.3, h * 0.04,
                             (0.1, 0.1, 0.1), tb + 3.0))
    fx, fy, r = x - w * 0.2, h * 0.5, min(p["fan_r"], w * 0.2, h * 0.3)
    out.append(ellipse_prim(room, fx, fy, z - 0.015, r, r, (0.15, 0.15, 0.17), tm))
    ang = 2 * np.pi * p["rpm"] / 60.0 * t
    for j in range(4):   # blades, blurred by their own motion
        for dj, al in ((0.0, 0.6), (0.25, 0.3)):
            a = ang + j * np.pi / 2 + dj
            out.append(limb_prim(room, (fx, fy), (fx + 0.9 * r * np.cos(a), fy + 0.9 * r * np.sin(a)),
                                 0.35 * r, z - 0.017, (0.6, 0.6, 0.62), None))
            out[-1].alpha = al
    out.append(ellipse_prim(room, x + w * 0.4, h * 0.88, z - 0.015, 0.02, 0.02, p["led"], None))
    # Warm exhaust plume: thermal only.
    out.append(ellipse_prim(room, x, h + 0.25, z - 0.05, w * 0.5, 0.35, None, tb - 6.0,
                            alpha=0.45, kind="blob", solid=False))
    return out


def beeping(p: dict[str, Any], t: float) -> bool:
    """The ISO 8201 temporal-three pattern: 3 x (0.5 s on, 0.5 s off), then 1.5 s silence."""
    c = (t + p["phase"]) % 4.0
    return c < 3.0 and (c % 1.0) < 0.5


def _smoke(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    out = []
    xa, ya, zw = p["alarm_x"], p["alarm_y"], room.wall_z - 0.01
    out.append(ellipse_prim(room, xa, ya, zw, 0.12, 0.09, (0.95, 0.95, 0.92), room.t_wall + 1.0))
    out.append(ellipse_prim(room, xa, ya, zw - 0.002, 0.07, 0.05, (0.8, 0.8, 0.78), None))
    on = beeping(p, t)
    out.append(ellipse_prim(room, xa + 0.05, ya, zw - 0.005, 0.025, 0.025,
                            (1.0, 0.1, 0.05) if on else (0.35, 0.1, 0.1), None))
    if on:
        out.append(ellipse_prim(room, xa + 0.05, ya, zw - 0.006, 0.12, 0.12, (1.0, 0.3, 0.2), None,
                                alpha=0.6, kind="blob", solid=False))
    dens = p["density"] * (0.55 + 0.45 * (1.0 - np.exp(-t / 3.0)))
    g = p["smoke_rgb"]
    col = (g, g * 0.98, g * 0.95)
    sx, sz = p["src_x"], p["src_z"]
    tw = room.t_wall
    # The smouldering source: a hot bin / pan / box with glowing embers.
    if p["src_kind"] == "bin":
        out.append(box_prims(room, sx, 0.0, sz, 0.3, 0.4, (0.25, 0.25, 0.27), p["t_src"] - 25))
        top = 0.4
    elif p["src_kind"] == "pan":
        out.append(box_prims(room, sx, 0.0, sz, 0.5, 0.15, (0.15, 0.15, 0.15), p["t_src"]))
        top = 0.15
    else:
        out.append(box_prims(room, sx, 0.0, sz, 0.45, 0.35, (0.55, 0.45, 0.3), p["t_src"] - 35))
        top = 0.35
    flick = 0.7 + 0.3 * np.sin(7.0 * t + p["seed"] % 7)
    out.append(ellipse_prim(room, sx, top, sz - 0.02, 0.12, 0.04, (1.0, 0.45 * flick, 0.05), p["t_src"]))
    rng = np.random.default_rng(p["seed"])
    offs = rng.uniform(-1, 1, size=(12, 2))
    # A rising column, then a layer under the ceiling.
    for j in range(6):
        yy = top + 0.25 + 0.35 * j
        if yy > room.height:
            break
        wob = 0.08 * np.sin(1.7 * t + j)
        out.append(ellipse_prim(room, sx + wob + 0.05 * j * offs[j, 0], yy, sz - 0.05, 0.12 + 0.07 * j,
                                0.15 + 0.05 * j, col, tw + 4.0 - 0.4 * j, alpha=0.55 * dens,
                                kind="blob", solid=False, haze=True))
    # The smoke layer sinks from the ceiling to head height, where the camera sees it.
    for j in range(6):
        xx = sx + offs[6 + j, 0] * 1.6
        zz = max(1.0, sz + offs[6 + j, 1] * 1.0)
        yy = max(room.cam_h + 0.3, room.height - 0.8 - 0.6 * dens + 0.15 * offs[j, 1])
        out.append(ellipse_prim(room, xx + 0.2 * np.sin(0.5 * t + j), yy, zz, 1.4, 0.7,
                                col, tw + 2.0, alpha=0.75 * dens, kind="blob", solid=False, haze=True))
    # A thin veil over everything (smoke scatters visible and near-infrared light, not LWIR).
    veil = 0.15 + 0.3 * dens
    out.append(Prim("poly", ((-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)), col, None, 0.05,
                    veil, solid=False, haze=True))
    return out


def event_prims(room: Room, event: str, p: dict[str, Any], t: float) -> list[Prim]:
    """Primitives of an occurrence of ``event`` (params ``p``), ``t`` s after it started."""
    if event == "footsteps":
        x = _walk_x(p, room, t)
        swing = np.sin(2 * np.pi * (p["cadence"] / 2.0) * t + 2 * np.pi * p["phase"]) * 1.1
        return _person(room, p, x, swing, 0.0)
    if event == "person_falling":
        ti, st = p["t_impact"], p["stagger"]
        if t < ti - 0.35:
            tilt = p["direction"] * 0.25 * np.sin(np.pi * t / max(ti - 0.35, 1e-3)) * st * 3
        else:
            s = min(1.0, (t - (ti - 0.35)) / 0.35)
            tilt = p["direction"] * (np.pi / 2) * s * s
        return _person(room, p, p["x"], 0.15 * np.sin(9 * t) if t < ti else 0.2, float(tilt))
    if event == "dog_barking":
        return _dog(room, p, t)
    if event == "glass_breaking":
        return _glass(room, p, t)
    if event == "door_slamming":
        return _door(room, p, t)
    if event == "machine_running":
        return _machine(room, p, t)
    if event == "smoke_alarm":
        return _smoke(room, p, t)
    return []


def static_prims(room: Room, *, window: bool = True, door: bool = True) -> list[Prim]:
    """Furniture plus the room's own window and door (intact / at rest) unless an event is
    showing them (``window`` / ``door`` False)."""
    out = furniture_prims(room)
    if window and room.window is not None:
        out += window_prims(room, room.window, room.wall_z - 0.02)
    if door and room.door is not None:
        out += door_prims(room, room.door, [room.door["open_deg"]], [1.0], room.wall_z - 0.02)
    return out


__all__ = ["IMPULSIVE", "random_params", "event_prims", "static_prims", "random_color"]
