"""IMU on the robot: gravity through a random tilt, biases, noise, slow sway, and what events
do to the body: floor impacts (steps, falls, slams), machine vibration, nudges, and the
chassis picking up loud sound (MEMS accelerometers are microphonic), 400 Hz, m/s^2 and rad/s."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from edgebind.sim.actors import footfalls
from edgebind.sim.audio import RATE as AUDIO_RATE
from edgebind.sim.audio import mix_in
from edgebind.sim.fixtures import rattles
from edgebind.sim.scene import Room

if TYPE_CHECKING:
    from edgebind.sim.compose import Scene

RATE = 400
G = 9.80665


def _ring(n: int, f: float, tau: float, amp: float, axis_w: np.ndarray) -> np.ndarray:
    """A decaying oscillation (the chassis ringing after a hit), spread over 6 channels."""
    t = np.arange(n, dtype=np.float32) / RATE
    s = (amp * np.exp(-t / tau) * np.sin(2 * np.pi * f * t)).astype(np.float32)
    return s[:, None] * axis_w[None, :].astype(np.float32)


def _add(tr: np.ndarray, at_s: float, sig: np.ndarray) -> None:
    mix_in(tr, at_s, sig, RATE)


def _impact(rng: np.random.Generator, amp: float, res_hz: float) -> np.ndarray:
    """A floor-borne hit: mostly vertical accel, some lateral, a little gyro."""
    w = np.array([rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), 1.0,
                  rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02), rng.uniform(-0.01, 0.01)])
    return _ring(int(0.25 * RATE), res_hz, 0.04, amp, w)


def envelope(audio_dry: np.ndarray) -> np.ndarray:
    """Sound envelope at the IMU rate (mean |x| per 2.5 ms)."""
    step = AUDIO_RATE // RATE
    m = len(audio_dry) // step
    return np.abs(audio_dry[:m * step]).reshape(m, step).mean(axis=1).astype(np.float32)


def _step_hits(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float, att: float,
               res: float) -> None:
    period, s = footfalls(p)
    while s < p["duration_s"]:
        _add(tr, s, _impact(rng, 0.25 * k * att * float(rng.uniform(0.7, 1.2)), res))
        s += period


def _fall_hits(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float, att: float,
               res: float) -> None:
    _add(tr, p["t_impact"], _impact(rng, 2.0 * k * att, res * 0.8))
    _add(tr, p["t_impact"] + 0.1, _impact(rng, 0.7 * k * att, res))


def _slam_hits(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float, att: float,
               res: float) -> None:
    """The slam shakes the wall and floor; each rebound onto the frame knocks again."""
    _add(tr, p["t_impact"], _impact(rng, 2.5 * k * att, float(rng.uniform(26, 34))))
    for s, prev in rattles(p):
        _add(tr, s, _impact(rng, 0.4 * k * att * min(1.0, prev / 10), 30.0))


def _glass_hits(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float, att: float,
                res: float) -> None:
    """A sharp broadband jolt, then fragments landing on the floor."""
    m = int(0.03 * RATE)
    burst = rng.standard_normal((m, 6)).astype(np.float32) * np.array([1.5, 1.5, 1.5, 0.06, 0.06, 0.06], np.float32)
    _add(tr, 0.0, burst * (k * att * np.exp(-np.arange(m) / (0.008 * RATE)))[:, None].astype(np.float32))
    for _ in range(int(rng.integers(5, 15))):
        _add(tr, float(rng.uniform(0.35, 0.9)), _impact(rng, 0.2 * k * att, 80.0))


def _machine_vibration(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float,
                       att: float, res: float) -> None:
    n = len(tr)
    t = np.arange(n, dtype=np.float32) / RATE
    f = p["vib_hz"]
    w = np.array([rng.uniform(0.3, 1), rng.uniform(0.3, 1), rng.uniform(0.5, 1),
                  rng.uniform(0.005, 0.02), rng.uniform(0.005, 0.02), rng.uniform(0.005, 0.02)], np.float32)
    v = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * 2 * f * t + 1.0) + 0.2 * rng.standard_normal(n)
    ramp = np.clip(t / 0.3, 0, 1)
    tr += (0.35 * k * att * 2 * v * ramp).astype(np.float32)[:, None] * w[None, :]


def _dog_bumps(tr: np.ndarray, rng: np.random.Generator, p: dict[str, Any], k: float, att: float,
               res: float) -> None:
    """The dog trots about and bumps the robot now and then: slow tilt pulses, paw taps."""
    for b in p["barks"][::3]:
        m = int(0.5 * RATE)
        tt = np.arange(m, dtype=np.float32) / RATE
        pulse = np.sin(np.pi * tt / 0.5) ** 2
        w = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), 0.2, rng.uniform(-1, 1),
                      rng.uniform(-1, 1), rng.uniform(-0.5, 0.5)], np.float32)
        w *= np.array([0.4, 0.4, 0.4, 0.12, 0.12, 0.12], np.float32)
        _add(tr, b + float(rng.uniform(-0.2, 0.2)), (k * pulse[:, None] * w[None, :]).astype(np.float32))
    s = float(rng.uniform(0, 0.3))
    while s < p["duration_s"]:
        _add(tr, s, _impact(rng, 0.06 * k * att, res * 1.5))
        s += float(rng.uniform(0.15, 0.4))


# event -> fn(track, rng, params, intensity, attenuation, chassis resonance Hz) adding what the
# body feels; the smoke alarm has none beyond the acoustic pick-up of its loud beeps.
_MOTION: dict[str, Callable[..., None]] = {
    "footsteps": _step_hits, "person_falling": _fall_hits, "door_slamming": _slam_hits,
    "glass_breaking": _glass_hits, "machine_running": _machine_vibration, "dog_barking": _dog_bumps,
}


def event_track(event: str, p: dict[str, Any], room: Room, audio_dry: np.ndarray, distance: float) -> np.ndarray:
    """(duration * RATE, 6) float32 added to the IMU during one occurrence."""
    rng = np.random.default_rng([p["seed"], 201])
    n = int(p["duration_s"] * RATE)
    tr = np.zeros((n, 6), np.float32)
    k = p["intensity"]
    att = 1.0 / max(distance, 1.0)
    res = float(room._cache.setdefault("imu_res", np.random.default_rng([room.seed, 9]).uniform(25, 45)))
    # Acoustic pick-up: broadband jitter following the sound's envelope.
    env = envelope(audio_dry)[:n]
    jit = rng.standard_normal((len(env), 3)).astype(np.float32) * (env[:, None] * 1.5 * att)
    tr[:len(env), :3] += jit
    motion = _MOTION.get(event)
    if motion is not None:
        motion(tr, rng, p, k, att, res)
    return tr


def nuisance_track(kind: str, p: dict[str, Any], room: Room) -> np.ndarray:
    """Unlabelled body motion: the robot's own bumps and servo buzz."""
    rng = np.random.default_rng([p["seed"], 202])
    n = int(p["duration_s"] * RATE)
    tr = np.zeros((n, 6), np.float32)
    if kind == "bump":
        _add(tr, 0.05, _impact(rng, 0.3 * p["intensity"], float(rng.uniform(15, 60))))
    elif kind == "servo":
        t = np.arange(n, dtype=np.float32) / RATE
        f = float(rng.uniform(60, 150))
        tr[:, :3] += (0.05 * p["intensity"] * np.sin(2 * np.pi * f * t))[:, None] * np.float32(rng.uniform(0.2, 1, 3))
    return tr


def pose(room: Room) -> dict[str, Any]:
    """The robot's static tilt, biases and sway (from the room seed)."""
    key = "imu_pose"
    if key not in room._cache:
        rng = np.random.default_rng([room.seed, 90])
        d = room.noise["imu_accel"] / 0.02
        room._cache[key] = {
            "roll": float(rng.normal(0, 0.04)), "pitch": float(rng.normal(0, 0.04)),
            "ab": rng.normal(0, 0.06 * d, 3).astype(np.float32),
            "gb": rng.normal(0, 0.004 * d, 3).astype(np.float32),
            "sway_f": float(rng.uniform(0.1, 0.6)), "sway_a": float(rng.uniform(0.0, 0.004) * d),
        }
    return room._cache[key]


def baseline(scene: Scene, t_ns: np.ndarray) -> np.ndarray:
    """Rows at the given times without events: gravity (tilted), bias, sway, noise."""
    room = scene.room
    ps = pose(room)
    t = t_ns.astype(np.float64) / 1e9
    sway = ps["sway_a"] * np.sin(2 * np.pi * ps["sway_f"] * t)
    roll = ps["roll"] + sway
    pitch = ps["pitch"] + 0.7 * sway
    acc = np.stack([-G * np.sin(pitch), G * np.sin(roll) * np.cos(pitch), G * np.cos(roll) * np.cos(pitch)], 1)
    dsway = ps["sway_a"] * 2 * np.pi * ps["sway_f"] * np.cos(2 * np.pi * ps["sway_f"] * t)
    gyr = np.stack([dsway, 0.7 * dsway, np.zeros_like(t)], 1)
    out = np.concatenate([acc, gyr], 1).astype(np.float32)
    out[:, :3] += ps["ab"]
    out[:, 3:] += ps["gb"]
    # Noise seeded by the row's index on the 400 Hz grid, so any slicing agrees.
    idx = np.round(t * RATE).astype(np.int64)
    noise = np.empty((len(t), 6), np.float32)
    for blk in np.unique(idx // RATE):
        rng = np.random.default_rng([room.seed, 91, int(blk) & 0xFFFFFFFF])
        z = rng.standard_normal((RATE, 6)).astype(np.float32)
        sel = idx // RATE == blk
        noise[sel] = z[idx[sel] - blk * RATE]
    noise[:, :3] *= room.noise["imu_accel"]
    noise[:, 3:] *= room.noise["imu_gyro"]
    return out + noise
