"""Scripted timelines: which events happen when in a simulated world, plus unlabelled nuisance."""
from __future__ import annotations

import numpy as np

from edgebind.sim.actors import random_params
from edgebind.sim.compose import NS, Scene
from edgebind.sim.events import CAPTIONS, EVENTS, QUIET, EventOccurrence
from edgebind.sim.scene import Room, _random_door, _random_window, random_room

ACTIVE_EVENTS: tuple[str, ...] = tuple(e for e in EVENTS if e != QUIET)

# Typical duration range of one occurrence, seconds.
DURATIONS: dict[str, tuple[float, float]] = {
    "glass_breaking": (2.0, 3.5), "dog_barking": (3.0, 7.0), "smoke_alarm": (6.0, 12.0),
    "footsteps": (3.0, 8.0), "door_slamming": (1.0, 2.0), "person_falling": (3.0, 6.0),
    "machine_running": (6.0, 15.0),
}

NUISANCE_KINDS: dict[str, tuple[float, float]] = {
    "beep": (0.6, 0.8), "knock": (0.4, 0.5), "chatter": (3.0, 8.0), "music": (3.0, 6.0),
    "bump": (0.4, 0.5), "servo": (0.8, 2.5),
}

SCENARIOS: dict[str, str] = {
    "default": "all events in random order with random durations, some overlapping, quiet gaps "
               "between them, unlabelled distractor sounds and bumps",
    "demo": "about 60 s: each event once, in a fixed order, well separated by quiet gaps",
    "overlap": "events back to back, most of them overlapping another one",
    "quiet": "a room where nothing happens (quiet_room throughout), with nuisance only",
    **{e: f"only {e.replace('_', ' ')}, repeated, separated by quiet gaps" for e in ACTIVE_EVENTS},
}

MAX_DURATION_S = 86400.0

DEMO_ORDER = ("footsteps", "door_slamming", "dog_barking", "glass_breaking", "person_falling",
              "machine_running", "smoke_alarm")


def check_scenario(name: str) -> str:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
    return name


def prepare_room(room: Room, rng: np.random.Generator, events: set[str]) -> None:
    """Give the room the fixtures its events need and keep them in view of the camera."""
    if "glass_breaking" in events and room.window is None:
        room.window = _random_window(rng, room)
    if "door_slamming" in events and room.door is None:
        room.door = _random_door(rng, room)
    fixtures = []
    if room.window is not None and "glass_breaking" in events:
        fixtures.append((room.window["x"], room.window["w"] / 2 + 0.1))
    if room.door is not None and "door_slamming" in events:
        fixtures.append((room.door["x"], room.door["w"] / 2 + 0.1))
    if fixtures:
        keep = []
        for it in room.furniture:
            u = room.uv(it["x"], 0.0, it["z"])[0]
            width = 1.8 * it["scale"] * room.f / it["z"] / 2
            hit = any(abs(u - room.uv(x, 0.0, room.wall_z)[0]) < width + hw * room.f / room.wall_z
                      for x, hw in fixtures)
            if not hit or it["kind"] in ("picture",):
                keep.append(it)
        room.furniture = keep


def _actor_span(room: Room, event: str, p: dict) -> tuple[float, float, float] | None:
    """(u centre, u half-width, distance) of what an occurrence shows, for occlusion checks."""
    if event == "smoke_alarm":
        x, z, half = p["src_x"], p["src_z"], 0.4
    elif "z" in p and "x" in p:
        half = {"footsteps": 2.0, "person_falling": 1.2, "dog_barking": 0.8}.get(event, p.get("w", 1.0))
        x, z = p["x"], p["z"]
    else:
        return None
    return room.uv(x, 0.0, z)[0], half * room.f / z, z


def unocclude(room: Room, occurrences: list[EventOccurrence]) -> None:
    """Drop furniture standing in front of an event's actor (a fully hidden event teaches
    nothing); furniture behind it, or beside it, stays."""
    spans = [s for o in occurrences if (s := _actor_span(room, o.event, o.params)) is not None]
    keep = []
    for it in room.furniture:
        u = room.uv(it["x"], 0.0, it["z"])[0]
        hw = 0.9 * it["scale"] * room.f / it["z"]
        if not any(it["z"] < z and abs(u - uc) < hw + half for uc, half, z in spans):
            keep.append(it)
    room.furniture = keep


def occurrence(event: str, rng: np.random.Generator, room: Room, t_start_ns: int, duration_s: float,
               difficulty: float) -> EventOccurrence:
    caps = CAPTIONS[event]
    return EventOccurrence(event, int(t_start_ns), int(t_start_ns + round(duration_s * NS)),
                           caps[int(rng.integers(len(caps)))],
                           random_params(event, rng, room, duration_s, difficulty))


def nuisance_occurrences(rng: np.random.Generator, t0_ns: int, t1_ns: int, rate_per_s: float
                         ) -> list[EventOccurrence]:
    out = []
    span = (t1_ns - t0_ns) / NS
    for _ in range(int(rng.poisson(max(rate_per_s, 0.0) * span))):
        kind = str(rng.choice(list(NUISANCE_KINDS)))
        lo, hi = NUISANCE_KINDS[kind]
        dur = float(rng.uniform(lo, hi))
        start = t0_ns + int(rng.uniform(-dur, span) * NS)
        out.append(EventOccurrence(kind, start, start + int(dur * NS), kind,
                                   {"seed": int(rng.integers(0, 2**31 - 1)), "duration_s": dur,
                                    "intensity": float(rng.uniform(0.3, 1.0)),
                                    "distance": float(rng.uniform(1.0, 6.0))}))
    return out


def _schedule(scenario: str, rng: np.random.Generator, duration_s: float) -> list[tuple[str, float, float]]:
    """(event, start s, duration s) for a scenario."""
    plan: list[tuple[str, float, float]] = []
    if scenario == "quiet":
        return plan
    if scenario == "demo":
        if duration_s < 14.0:
            raise ValueError(f"scenario 'demo' needs duration_s >= 14, got {duration_s}")
        slot = duration_s / len(DEMO_ORDER)
        for i, e in enumerate(DEMO_ORDER):
            lo, hi = DURATIONS[e]
            dur = min(float(rng.uniform(lo, hi)), 0.6 * slot)
            plan.append((e, i * slot + 0.25 * slot, dur))
        return plan
    pool = list(ACTIVE_EVENTS) if scenario in ("default", "overlap") else [scenario]
    p_overlap = 0.75 if scenario == "overlap" else 0.25
    t = float(rng.uniform(0.5, 3.0))
    queue: list[str] = []
    prev_end, prev_start, prev_event = 0.0, 0.0, ""
    while t < duration_s:
        if not queue:
            queue = list(rng.permutation(pool))
        e = str(queue.pop())
        lo, hi = DURATIONS[e]
        dur = float(rng.uniform(lo, hi))
        overlapping = (plan and len(pool) > 1 and e != prev_event and rng.random() < p_overlap)
        if overlapping:
            t = prev_start + float(rng.uniform(0.3, 0.8)) * (prev_end - prev_start)
        dur = min(dur, duration_s - t)
        if dur < 0.8:
            break
        plan.append((e, t, dur))
        prev_start, prev_end, prev_event = t, max(prev_end, t + dur), e
        t = prev_end + float(rng.uniform(1.0, 4.0) if scenario != "overlap" else rng.uniform(0.0, 1.0))
    return plan


def make_scene(scenario: str, seed: int, duration_s: float, start_ns: int = 0,
               difficulty: float = 1.0) -> Scene:
    """A room and its ground-truth timeline for a World."""
    check_scenario(scenario)
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s}")
    if duration_s > MAX_DURATION_S:
        # The whole timeline is drawn up front; run several worlds (new seeds) for longer.
        raise ValueError(f"duration_s must be at most {MAX_DURATION_S:.0f} s (one day), got {duration_s}; "
                         "chain worlds with new seeds for longer runs")
    if not np.isfinite(difficulty) or difficulty < 0:
        raise ValueError(f"difficulty must be >= 0, got {difficulty}")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 4242])
    room = random_room(rng, difficulty)
    plan = _schedule(scenario, rng, float(duration_s))
    prepare_room(room, rng, {e for e, _, _ in plan})
    occ = [occurrence(e, rng, room, start_ns + int(s * NS), d, difficulty) for e, s, d in plan]
    if difficulty <= 1.5:
        unocclude(room, occ)
    nuis = nuisance_occurrences(rng, start_ns, start_ns + int(duration_s * NS), 0.08 * difficulty)
    return Scene(room, occ, nuis, difficulty, float(rng.uniform(20, 60)))
