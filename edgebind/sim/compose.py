"""A scene (room + occurrences on a timeline) and its camera, depth and thermal frames at a time.

Frames are pure functions of ``(scene, t_ns)``: the World's streams and :func:`sample_clip`
call the same code, and the sensor noise is seeded by the time, so a frame is reproducible.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from edgebind.sample import NS
from edgebind.sim import depth as depth_mod
from edgebind.sim import thermal as thermal_mod
from edgebind.sim import vision as vision_mod
from edgebind.sim.actors import event_prims, static_prims
from edgebind.sim.events import EventOccurrence
from edgebind.sim.raster import CAMERA_VIEW, THERMAL_VIEW, Prim, rasterize
from edgebind.sim.scene import Room

_CODES = {"vision": 1, "depth": 2, "thermal": 3, "audio": 4, "imu": 5}


@dataclass
class Scene:
    """One room and what happens in it. ``nuisance`` holds unlabelled distractors (knocks,
    beeps, chatter, bumps of the robot) with the same fields as a labelled occurrence."""

    room: Room
    occurrences: list[EventOccurrence] = field(default_factory=list)
    nuisance: list[EventOccurrence] = field(default_factory=list)
    difficulty: float = 1.0
    light_period_s: float = 40.0

    def __post_init__(self) -> None:
        # Sorted by start with the longest span, so lookups in long worlds stay O(log n).
        self.occurrences = sorted(self.occurrences, key=lambda o: (o.t_start_ns, o.event))
        self.nuisance = sorted(self.nuisance, key=lambda o: (o.t_start_ns, o.event))
        self._index = {}
        for name, occ in (("events", self.occurrences), ("nuisance", self.nuisance)):
            starts = [o.t_start_ns for o in occ]
            span = max((o.t_end_ns - o.t_start_ns for o in occ), default=0)
            self._index[name] = (starts, span)

    def overlapping(self, t0_ns: int, t1_ns: int, nuisance: bool = False) -> list[EventOccurrence]:
        """Occurrences (labelled, or the nuisance ones) overlapping [t0_ns, t1_ns)."""
        occ = self.nuisance if nuisance else self.occurrences
        starts, span = self._index["nuisance" if nuisance else "events"]
        lo = bisect.bisect_left(starts, t0_ns - span)
        hi = bisect.bisect_left(starts, t1_ns)
        return [o for o in occ[lo:hi] if o.overlaps(t0_ns, t1_ns)]

    def active(self, t_ns: int) -> list[EventOccurrence]:
        return self.overlapping(int(t_ns), int(t_ns) + 1)


def noise_rng(scene: Scene, what: str, t_ns: int) -> np.random.Generator:
    """The sensor-noise generator of one modality at one time (deterministic)."""
    t = int(t_ns) & (2**64 - 1)
    return np.random.default_rng([scene.room.seed, _CODES[what], t & 0xFFFFFFFF, t >> 32])


def prims_at(scene: Scene, t_ns: int) -> list[Prim]:
    room = scene.room
    active = scene.active(t_ns)
    names = {o.event for o in active}
    prims = static_prims(room, window=not ("glass_breaking" in names and room.window is not None),
                         door=not ("door_slamming" in names and room.door is not None))
    for o in active:
        prims += event_prims(room, o.event, o.params, (t_ns - o.t_start_ns) / NS)
    return prims


def render_frames(scene: Scene, t_ns: int, modalities: tuple[str, ...] = ("vision", "depth", "thermal")
                  ) -> dict[str, np.ndarray]:
    """The frames of the requested modalities at ``t_ns``: vision uint8 224x224x3, depth
    float32 224x224 metres (0 = no return), thermal float32 120x160 kelvin."""
    room = scene.room
    prims = prims_at(scene, t_ns)
    out: dict[str, np.ndarray] = {}
    if "vision" in modalities or "depth" in modalities:
        rgb, _, dep = room.background(CAMERA_VIEW)
        haze = np.zeros(dep.shape, np.float32) if "depth" in modalities else None
        rasterize(prims, CAMERA_VIEW, room.roll, rgb=rgb if "vision" in modalities else None,
                  depth=dep, haze=haze)
        if "vision" in modalities:
            out["vision"] = vision_mod.finish(rgb, scene, t_ns, noise_rng(scene, "vision", t_ns))
        if "depth" in modalities:
            out["depth"] = depth_mod.finish(dep, haze, scene, noise_rng(scene, "depth", t_ns))
    if "thermal" in modalities:
        _, temp, _ = room.background(THERMAL_VIEW)
        rasterize(prims, THERMAL_VIEW, room.roll, temp=temp)
        out["thermal"] = thermal_mod.finish(temp, scene, t_ns, noise_rng(scene, "thermal", t_ns))
    return out


class Tracks:
    """Per-occurrence audio (wet) and IMU tracks, synthesised on first use and kept while
    needed; :meth:`forget_before` bounds memory for long streams."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self._audio: dict[int, np.ndarray] = {}
        self._imu: dict[int, np.ndarray] = {}

    def _build(self, o: EventOccurrence, labelled: bool) -> None:
        from edgebind.sim import audio, imu
        room = self.scene.room
        key = id(o)
        if labelled:
            dry = audio.dry_track(o.event, o.params)
            dist = audio.source_distance(o.event, o.params, room)
            self._imu[key] = imu.event_track(o.event, o.params, room, dry, dist)
        else:
            dry = audio.nuisance_track(o.event, o.params)
            dist = float(o.params.get("distance", 2.0))
            self._imu[key] = imu.nuisance_track(o.event, o.params, room)
        self._audio[key] = audio.wet(dry, room, dist) if np.any(dry) else np.zeros(0, np.float32)

    def _near(self, t0_ns: int, t1_ns: int) -> list[tuple[EventOccurrence, bool]]:
        sc = self.scene
        return ([(o, True) for o in sc.overlapping(t0_ns, t1_ns)]
                + [(o, False) for o in sc.overlapping(t0_ns, t1_ns, nuisance=True)])

    def audio(self, t0_ns: int, n: int) -> np.ndarray:
        from edgebind.sim import audio
        rate = audio.RATE
        out = audio.background(self.scene, t0_ns, n)
        t1_ns = t0_ns + int(n * NS / rate) + 1
        tail = int(audio.TAIL_S * NS)
        for o, lab in self._near(t0_ns - tail, t1_ns):
            if id(o) not in self._audio:
                self._build(o, lab)
            tr = self._audio[id(o)]
            off = int(round((t0_ns - o.t_start_ns) * rate / NS))
            i0, i1 = max(off, 0), min(off + n, len(tr))
            if i1 > i0:
                out[i0 - off:i1 - off] += tr[i0:i1]
        out *= np.float32(audio.mic_gain(self.scene.room))
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    def imu(self, row_t_ns: np.ndarray) -> np.ndarray:
        from edgebind.sim import imu
        out = imu.baseline(self.scene, row_t_ns)
        t0, t1 = int(row_t_ns[0]), int(row_t_ns[-1]) + 1
        for o, lab in self._near(t0, t1):
            if id(o) not in self._imu:
                self._build(o, lab)
            tr = self._imu[id(o)]
            idx = np.round((row_t_ns - o.t_start_ns) * imu.RATE / NS).astype(np.int64)
            ok = (idx >= 0) & (idx < len(tr))
            out[ok] += tr[idx[ok]]
        return out

    def forget_before(self, t_ns: int) -> None:
        """Drop tracks of occurrences that ended (with their reverb tail) before ``t_ns``."""
        tail = int(0.5 * NS)
        live = {id(o) for o, _ in self._near(t_ns - tail, t_ns + NS)}
        for cache in (self._audio, self._imu):
            for key in [k for k in cache if k not in live]:
                del cache[key]
