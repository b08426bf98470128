"""Random parameters of one event occurrence: what it looks like, how warm and how far it is,
and the times several sensors must agree on (bark onsets, the slam, the fall's impact).

Parameters are plain data drawn once per occurrence, so an occurrence renders identically in
every sensor and every call. The draws happen in a fixed order per event (the default model was
trained on the simulator's output): reordering them changes every clip.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from edgebind.sim.scene import Room, _random_door, _random_window, random_color

SKIN = [(0.95, 0.8, 0.68), (0.85, 0.65, 0.5), (0.65, 0.45, 0.32), (0.45, 0.3, 0.2)]
FUR = [(0.55, 0.38, 0.2), (0.15, 0.12, 0.1), (0.9, 0.85, 0.75), (0.8, 0.6, 0.3),
       (0.45, 0.42, 0.4)]


def _in_range(rng: np.random.Generator, room: Room, z: float, margin: float = 0.2) -> float:
    lo, hi = room.x_range(z, margin)
    return float(rng.uniform(lo, hi)) if hi > lo else 0.0


def _distance(rng: np.random.Generator, room: Room, nearest: float, farthest: float) -> float:
    """A distance in [nearest, farthest], kept in front of the back wall."""
    return float(rng.uniform(nearest, min(room.wall_z - 0.4, farthest)))


def _person(rng: np.random.Generator, room: Room, p: dict[str, Any], farthest: float) -> None:
    z = _distance(rng, room, 1.3, farthest)
    p.update(z=z, x=_in_range(rng, room, z), height=float(rng.uniform(1.5, 1.9)),
             shirt=random_color(rng), trousers=random_color(rng, 0.05, 0.6),
             skin=SKIN[int(rng.integers(len(SKIN)))], hair=random_color(rng, 0.02, 0.4),
             t_skin=float(rng.uniform(305.0, 308.0)), t_cloth=float(rng.uniform(299.5, 303.5)))


def _footsteps(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    _person(rng, room, p, 4.5 * far)
    p.update(speed=float(rng.uniform(0.7, 1.4)) * float(rng.choice([-1, 1])),
             cadence=float(rng.uniform(1.6, 2.3)), phase=float(rng.uniform(0, 1)),
             shoe=str(rng.choice(["hard", "soft", "heel"])))


def _person_falling(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    _person(rng, room, p, 3.5 * far)
    t_imp = float(rng.uniform(0.35, 0.8))
    # Fall towards the middle of the view, and start far enough from the edge that the body
    # ends up in frame.
    lo, hi = room.x_range(p["z"], 0.1)
    direction = -1.0 if p["x"] > 0 else 1.0
    reach = 0.95 * p["height"]
    x = float(np.clip(p["x"], lo + (reach if direction < 0 else 0.0), hi - (reach if direction > 0 else 0.0)))
    if hi - lo < reach:
        x = (lo + hi) / 2 - direction * reach / 2
    p.update(x=x, direction=direction, t_impact=t_imp, stagger=float(rng.uniform(0.1, 0.3)))


def _bark_onsets(rng: np.random.Generator, duration_s: float) -> list[float]:
    """Volleys of 1-3 barks with pauses between them, until the occurrence ends."""
    barks, t = [], float(rng.uniform(0.0, 0.4))
    while t < duration_s:
        for _ in range(int(rng.integers(1, 4))):
            barks.append(round(t, 4))
            t += float(rng.uniform(0.25, 0.45))
        t += float(rng.uniform(0.3, 1.2))
    return barks


def _dog_barking(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    z = _distance(rng, room, 1.0, 3.5 * far)
    barks = _bark_onsets(rng, p["duration_s"])
    p.update(z=z, x=_in_range(rng, room, z), size=float(rng.uniform(0.35, 0.65)),
             fur=FUR[int(rng.integers(len(FUR)))], facing=float(rng.choice([-1, 1])),
             barks=barks, f0=float(rng.uniform(300, 750)),
             t_body=float(rng.uniform(302.5, 306.0)), t_head=float(rng.uniform(306.0, 309.0)))


def _smoke_alarm(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    zs = _distance(rng, room, 1.5, 5.0 * far)
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


def _glass_breaking(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
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


def _door_slamming(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    door = dict(room.door or _random_door(rng, room))
    p.update(door=door, open_deg=float(rng.uniform(45, 85)),
             t_impact=float(rng.uniform(0.12, 0.3)), rebound_deg=float(rng.uniform(55, 85)),
             rebound_tau=float(rng.uniform(1.5, 3.0)), rebound_T=float(rng.uniform(0.5, 0.9)))


def _machine_running(rng: np.random.Generator, room: Room, p: dict[str, Any], far: float) -> None:
    z = _distance(rng, room, 1.4, 4.5 * far)
    p.update(z=z, x=_in_range(rng, room, z), w=float(rng.uniform(0.6, 1.2)),
             h=float(rng.uniform(0.5, 1.2)), rgb=random_color(rng, 0.2, 0.8),
             panel=random_color(rng, 0.1, 0.5), fan_r=float(rng.uniform(0.12, 0.22)),
             rpm=float(rng.uniform(600, 2400)), hum_hz=float(rng.uniform(48, 120)),
             vib_hz=float(rng.uniform(20, 60)), t_body=float(rng.uniform(312, 330)),
             t_motor=float(rng.uniform(325, 350)), led=random_color(rng, 0.3, 1.0))


# event -> fn(rng, room, params so far, far): adds the event's own parameters.
_DRAW: dict[str, Callable[[np.random.Generator, Room, dict[str, Any], float], None]] = {
    "footsteps": _footsteps, "person_falling": _person_falling, "dog_barking": _dog_barking,
    "smoke_alarm": _smoke_alarm, "glass_breaking": _glass_breaking,
    "door_slamming": _door_slamming, "machine_running": _machine_running,
}


def random_params(event: str, rng: np.random.Generator, room: Room, duration_s: float,
                  difficulty: float = 1.0) -> dict[str, Any]:
    """Random, plain-data parameters of one occurrence of ``event`` lasting ``duration_s``."""
    d = float(difficulty)
    # Intensity scales loudness, vibration and (for some events) size; harder -> weaker tail.
    lo = max(0.25, 1.0 - 0.35 * d)
    p: dict[str, Any] = {"seed": int(rng.integers(0, 2**31 - 1)), "duration_s": float(duration_s),
                         "intensity": float(rng.uniform(lo, 1.0))}
    draw = _DRAW.get(event)
    if draw is not None:
        # Harder clips may put actors further away (smaller in the image, quieter).
        draw(rng, room, p, 0.7 + 0.3 * min(d, 2.0))
    elif event != "quiet_room":
        raise ValueError(f"unknown event {event!r}")
    return p
