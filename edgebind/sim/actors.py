"""What each event looks like: the primitives of an active occurrence ``t`` seconds after its
start, drawn from its parameters (:mod:`edgebind.sim.params`). People, the dog, the machine
and the smoke are here; the window and the door are the room's (:mod:`edgebind.sim.fixtures`).

Times that several sensors must agree on (bark onsets, the slam, the fall's impact, footfalls)
live in the parameters, and audio.py / imu.py read the same values.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from edgebind.sim.fixtures import (door_prims, rattles, shattered_window, slam_angle,
                                   slamming_door, window_prims)
from edgebind.sim.params import FUR, SKIN, random_params
from edgebind.sim.raster import Prim
from edgebind.sim.scene import (Room, box_prims, ellipse_prim, furniture_prims, limb_prim,
                                random_color, shadow_prim)

IMPULSIVE = ("glass_breaking", "door_slamming", "person_falling")


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


def _smoke_alarm(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    """The alarm on the back wall, its LED lit while it beeps."""
    xa, ya, zw = p["alarm_x"], p["alarm_y"], room.wall_z - 0.01
    out = [ellipse_prim(room, xa, ya, zw, 0.12, 0.09, (0.95, 0.95, 0.92), room.t_wall + 1.0),
           ellipse_prim(room, xa, ya, zw - 0.002, 0.07, 0.05, (0.8, 0.8, 0.78), None)]
    on = beeping(p, t)
    out.append(ellipse_prim(room, xa + 0.05, ya, zw - 0.005, 0.025, 0.025,
                            (1.0, 0.1, 0.05) if on else (0.35, 0.1, 0.1), None))
    if on:
        out.append(ellipse_prim(room, xa + 0.05, ya, zw - 0.006, 0.12, 0.12, (1.0, 0.3, 0.2), None,
                                alpha=0.6, kind="blob", solid=False))
    return out


# src_kind -> (width, height, colour, kelvin below t_src) of the smouldering source.
_SMOKE_SOURCES = {"bin": (0.3, 0.4, (0.25, 0.25, 0.27), 25),
                  "pan": (0.5, 0.15, (0.15, 0.15, 0.15), 0),
                  "box": (0.45, 0.35, (0.55, 0.45, 0.3), 35)}


def _smoke(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    """smoke_alarm: the alarm, a smouldering source, its smoke column and the layer it forms."""
    out = _smoke_alarm(room, p, t)
    dens = p["density"] * (0.55 + 0.45 * (1.0 - np.exp(-t / 3.0)))
    g = p["smoke_rgb"]
    col = (g, g * 0.98, g * 0.95)
    sx, sz = p["src_x"], p["src_z"]
    tw = room.t_wall
    # The smouldering source: a hot bin / pan / box with glowing embers.
    w, top, rgb, cooler = _SMOKE_SOURCES[p["src_kind"]]
    out.append(box_prims(room, sx, 0.0, sz, w, top, rgb, p["t_src"] - cooler))
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


def footfalls(p: dict[str, Any]) -> tuple[float, float]:
    """(step period, time of the first footfall) of a walker's gait, in seconds."""
    period = 1.0 / p["cadence"]
    return period, (1.0 - p["phase"]) * period % period


def _walking(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    x = _walk_x(p, room, t)
    swing = np.sin(2 * np.pi * (p["cadence"] / 2.0) * t + 2 * np.pi * p["phase"]) * 1.1
    return _person(room, p, x, swing, 0.0)


def _falling(room: Room, p: dict[str, Any], t: float) -> list[Prim]:
    """A stagger, then a fall that ends lying on the floor at the impact."""
    ti, st = p["t_impact"], p["stagger"]
    if t < ti - 0.35:
        tilt = p["direction"] * 0.25 * np.sin(np.pi * t / max(ti - 0.35, 1e-3)) * st * 3
    else:
        s = min(1.0, (t - (ti - 0.35)) / 0.35)
        tilt = p["direction"] * (np.pi / 2) * s * s
    return _person(room, p, p["x"], 0.15 * np.sin(9 * t) if t < ti else 0.2, float(tilt))


# event -> fn(room, params, t) drawing an active occurrence (quiet_room draws nothing).
_DRAW: dict[str, Callable[[Room, dict[str, Any], float], list[Prim]]] = {
    "footsteps": _walking, "person_falling": _falling, "dog_barking": _dog,
    "glass_breaking": shattered_window, "door_slamming": slamming_door,
    "machine_running": _machine, "smoke_alarm": _smoke,
}


def event_prims(room: Room, event: str, p: dict[str, Any], t: float) -> list[Prim]:
    """Primitives of an occurrence of ``event`` (params ``p``), ``t`` s after it started."""
    draw = _DRAW.get(event)
    return [] if draw is None else draw(room, p, t)


def static_prims(room: Room, *, window: bool = True, door: bool = True) -> list[Prim]:
    """Furniture plus the room's own window and door (intact / at rest) unless an event is
    showing them (``window`` / ``door`` False)."""
    out = furniture_prims(room)
    if window and room.window is not None:
        out += window_prims(room, room.window, room.wall_z - 0.02)
    if door and room.door is not None:
        out += door_prims(room, room.door, [room.door["open_deg"]], [1.0], room.wall_z - 0.02)
    return out


__all__ = ["IMPULSIVE", "beeping", "door_prims", "event_prims", "footfalls", "random_color",
           "random_params", "rattles", "slam_angle", "static_prims", "window_prims"]
