"""Training / evaluation windows: one random room, one event (maybe with a second one
overlapping), every modality over the same ``window_s`` seconds."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgebind.sim.actors import IMPULSIVE
from edgebind.sim.compose import NS, Scene, Tracks, render_frames
from edgebind.sim.events import CAPTIONS, EVENTS, QUIET, check_event
from edgebind.sim.scenarios import (ACTIVE_EVENTS, DURATIONS, nuisance_occurrences, occurrence,
                                    prepare_room, unocclude)
from edgebind.sim.scene import random_room

AUDIO_RATE = 16000
IMU_RATE = 400


@dataclass
class Clip:
    """One window: ``event`` is the clip's label (what the window is mainly about), ``events``
    every labelled event active in the window (label first), ``caption`` one of its captions.

    vision uint8 (224, 224, 3), depth float32 (224, 224) m, thermal float32 (120, 160) K: the
    frames at the window's end. audio float32 (window_s * 16000,), imu float32 (window_s * 400, 6)
    with imu_t_ns int64 (last row at the window's end; times start near 0). A modality left out
    with ``sample_clip(modalities=...)`` is None.
    """

    event: str
    events: tuple[str, ...]
    caption: str
    vision: np.ndarray | None
    depth: np.ndarray | None
    thermal: np.ndarray | None
    audio: np.ndarray | None
    imu: np.ndarray | None
    imu_t_ns: np.ndarray
    window_s: float
    meta: dict[str, Any] = field(default_factory=dict)


def _check(window_s: float, difficulty: float) -> None:
    if not isinstance(window_s, (int, float)) or not np.isfinite(window_s) or not 0.25 <= window_s <= 30:
        raise ValueError(f"window_s must be between 0.25 and 30 seconds, got {window_s!r}")
    if not isinstance(difficulty, (int, float)) or not np.isfinite(difficulty) or not 0 <= difficulty <= 3:
        raise ValueError(f"difficulty must be between 0 and 3, got {difficulty!r}")


def _place(event: str, rng: np.random.Generator, window_s: float, difficulty: float) -> tuple[float, float]:
    """(start, duration) in seconds relative to the window start, active at the window end."""
    lo, hi = DURATIONS[event]
    if event in IMPULSIVE:
        # The onset is inside the window (mostly in its first part, so the aftermath shows);
        # harder clips put it later, leaving less of it.
        late = min(0.85, 0.45 + 0.2 * difficulty)
        start = float(rng.uniform(0.02, late)) * window_s
        dur = float(np.clip(rng.uniform(lo, hi), window_s - start + 0.05, window_s - start + 0.6))
    else:
        early = float(rng.uniform(0.0, 3.0))
        # Sometimes the event only starts inside the window.
        if rng.random() < 0.15 * difficulty:
            start = float(rng.uniform(0.0, 0.5)) * window_s
        else:
            start = -early
        # Nothing after the window is heard or seen: keep the track short (speed).
        dur = window_s - start + float(rng.uniform(0.2, 0.8))
    return start, dur


MODALITIES = ("vision", "depth", "thermal", "audio", "imu")


def sample_clip(rng: np.random.Generator, event: str | None = None, window_s: float = 2.0,
                difficulty: float = 1.0, *, overlap_p: float | None = None,
                modalities: tuple[str, ...] | list[str] | None = None) -> Clip:
    """A random window of ``event`` (None: uniform over EVENTS) in a random room.

    difficulty (0..3, default 1) scales sensor noise, lighting and pose variation, distractor
    furniture and sounds, how weak and how late in the window events may be, and the chance
    (``overlap_p``, default 0.15 x difficulty, never for quiet_room) of a second event overlapping.
    modalities: render only these (default all; the others are None in the Clip). It saves time
    and changes nothing else: the same generator state gives the same clip either way.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    _check(window_s, difficulty)
    want = MODALITIES if modalities is None else tuple(modalities)
    for m in want:
        if m not in MODALITIES:
            raise ValueError(f"unknown modality {m!r} for a clip; expected some of {', '.join(MODALITIES)}")
    ev = str(EVENTS[int(rng.integers(len(EVENTS)))]) if event is None else check_event(event)
    p_ov = 0.15 * difficulty if overlap_p is None else float(overlap_p)
    room = random_room(rng, difficulty)
    names = [] if ev == QUIET else [ev]
    if names and rng.random() < p_ov:
        others = [e for e in ACTIVE_EVENTS if e != ev]
        names.append(str(others[int(rng.integers(len(others)))]))
    prepare_room(room, rng, set(names))
    occ = []
    for e in names:
        start, dur = _place(e, rng, window_s, difficulty)
        occ.append(occurrence(e, rng, room, int(start * NS), dur, difficulty))
    if difficulty <= 1.5:
        unocclude(room, occ)
    w_ns = int(round(window_s * NS))
    nuis = nuisance_occurrences(rng, 0, w_ns, 0.25 * difficulty)
    scene = Scene(room, occ, nuis, difficulty, float(rng.uniform(20, 60)))
    t_end = w_ns
    frames = render_frames(scene, t_end - 1, tuple(m for m in want if m in ("vision", "depth", "thermal")))
    tracks = Tracks(scene)
    n_audio = int(round(window_s * AUDIO_RATE))
    audio = tracks.audio(t_end - n_audio * NS // AUDIO_RATE, n_audio) if "audio" in want else None
    n_imu = int(round(window_s * IMU_RATE))
    imu_t = t_end - (n_imu - 1 - np.arange(n_imu, dtype=np.int64)) * (NS // IMU_RATE)
    imu = tracks.imu(imu_t) if "imu" in want else None
    caps = CAPTIONS[ev]
    return Clip(ev, tuple(names) or (QUIET,), caps[int(rng.integers(len(caps)))], frames.get("vision"),
                frames.get("depth"), frames.get("thermal"), audio, imu, imu_t, float(window_s),
                {"occurrences": [o.to_dict() for o in occ], "room_seed": room.seed,
                 "difficulty": float(difficulty)})
