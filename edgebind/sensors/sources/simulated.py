"""The simulated multi-sensor world (:class:`edgebind.sim.World`) as a source: vision, depth,
thermal, audio and IMU streams from one scripted scene, with its ground-truth timeline.

``speed``: 1 = real time, paced on the monotonic clock, with the world's clock starting "now"
(stamps are what a live robot would produce); 2 = twice as fast; 0 = as fast as possible
(stamps still start now and keep the simulated spacing, so they run ahead of the clock).

``difficulty`` is the world's (``edgebind.sim``: 0 calm, 1 the simulator's default, up to 3); a
bundle trained on the simulated world records the one it was trained and evaluated at in its
manifest (the default tiny model: 0.5), and its published numbers hold there.

``duration_s`` ends the source; ``None`` (the default) runs it indefinitely, as a daemon's
demo or soak source does. ``loop`` starts the next run (seed + 1) after each ``duration_s``,
also indefinitely. A :class:`World` draws its whole timeline up front and is limited to one
day, so long or endless runs are a chain of worlds of at most :data:`SEGMENT_S` seconds
(an endless ``demo``: :data:`DEMO_SEGMENT_S`; seeds ``seed``, ``seed + 1``, ...), each
starting where the previous one ended. Only the current world is held, so memory stays
bounded however long the source runs.
"""
from __future__ import annotations

import math
import time
from typing import Iterator

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream, Source

SEGMENT_S = 3600.0   # simulated seconds per chained world (its timeline is built up front)
DEMO_SEGMENT_S = 60.0


class SimSource(Source):
    kind = "sim"

    def __init__(self, *, name: str = "sim", scenario: str = "default", seed: int = 0,
                 duration_s: float | None = None, speed: float = 1.0,
                 streams: list[str] | None = None, loop: bool = False,
                 difficulty: float = 1.0, **kw) -> None:
        super().__init__(**kw)
        if not speed >= 0:
            raise ValueError(f"sim {name!r}: speed must be >= 0 (0 = as fast as possible), "
                             f"got {speed!r}")
        if duration_s is not None and not (isinstance(duration_s, (int, float))
                                           and not isinstance(duration_s, bool)
                                           and math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"sim {name!r}: duration_s must be a positive number of seconds "
                             f"(or None: run indefinitely), got {duration_s!r}")
        if isinstance(difficulty, bool) or not isinstance(difficulty, (int, float)) \
                or not 0 <= difficulty <= 3:
            raise ValueError(f"sim {name!r}: difficulty must be a number from 0 to 3, got "
                             f"{difficulty!r}")
        from edgebind.sim import SCENARIOS

        if scenario not in SCENARIOS:
            raise ValueError(f"sim {name!r}: unknown scenario {scenario!r}; "
                             f"known: {', '.join(sorted(SCENARIOS))}")
        self.name, self.scenario, self.seed = name, scenario, int(seed)
        self.duration_s = None if duration_s is None else float(duration_s)
        self.speed, self.loop, self.difficulty = float(speed), bool(loop), float(difficulty)
        self.segment_s, self.total_s = _plan(self.duration_s, self.loop, scenario)
        self.want = list(streams) if streams is not None else None
        self.world = None
        self._run = 0
        self._it: Iterator[Sample] | None = None
        self._pace0: tuple[int, int] | None = None  # (world t of the pacing origin, monotonic then)
        self._infos = self._make_world(time.monotonic_ns()).stream_infos
        if self.want is not None:
            names = {i.stream for i in self._infos}
            missing = [s for s in self.want if s not in names]
            if missing:
                raise ValueError(f"sim {name!r}: no stream(s) {missing}; the world has "
                                 f"{sorted(names)}")
            self._infos = [i for i in self._infos if i.stream in self.want]

    def _make_world(self, start_ns: int):
        from edgebind.sim import World

        return World(scenario=self.scenario, seed=self.seed + self._run,
                     duration_s=self.segment_s, start_ns=start_ns, difficulty=self.difficulty)

    @property
    def timeline(self):
        """Ground truth of the current world (``EventOccurrence`` list, world = host clock);
        a chained source replaces it with each new world."""
        return [] if self.world is None else self.world.timeline

    def _stream_infos(self) -> list[StreamInfo]:
        return list(self._infos)

    def _open(self) -> None:
        self._run = 0
        self._start_world(time.monotonic_ns())

    def _start_world(self, start_ns: int, keep_pace: bool = False) -> None:
        self.world = None   # drop the finished world (and its caches) before building the next
        self._it = None
        self.world = self._make_world(start_ns)
        self._it = iter(self.world.samples(self.want))
        if not keep_pace or self._pace0 is None:
            self._pace0 = (start_ns, time.monotonic_ns())

    def _close(self) -> None:
        self._it = None   # the world stays: its timeline is the ground truth of the run

    def _read(self) -> list[Sample]:
        if self._it is None:
            raise OSError("simulation not started")
        s = next(self._it, None)
        if s is None:
            if self.total_s is not None and (self._run + 1) * self.segment_s >= self.total_s - 1e-6:
                raise EndOfStream()
            end_ns = self.world.end_ns
            self._run += 1
            self._start_world(end_ns, keep_pace=True)
            s = next(self._it, None)
            if s is None:
                raise EndOfStream()
        if self.speed > 0:
            world0, mono0 = self._pace0
            if not self._wait_until(mono0 + round((s.t_ns - world0) / self.speed)):
                return []
        return [s]


def _plan(duration_s: float | None, loop: bool, scenario: str) -> tuple[float, float | None]:
    """(seconds per chained world, total seconds or None for no end)."""
    # The demo shows each event once per world: keep its one-minute pace when endless.
    endless = DEMO_SEGMENT_S if scenario == "demo" else SEGMENT_S
    if loop:
        return (endless if duration_s is None else duration_s), None
    if duration_s is None:
        return endless, None
    # Equal segments, so none is too short for its scenario (the demo needs 14 s).
    n = max(1, math.ceil(duration_s / SEGMENT_S - 1e-9))
    return duration_s / n, duration_s
