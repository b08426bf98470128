"""The simulated multi-sensor world (:class:`edgebind.sim.World`) as a source: vision, depth,
thermal, audio and IMU streams from one scripted scene, with its ground-truth timeline.

``speed``: 1 = real time, paced on the monotonic clock, with the world's clock starting "now"
(stamps are what a live robot would produce); 2 = twice as fast; 0 = as fast as possible
(stamps still start now and keep the simulated spacing, so they run ahead of the clock).
``duration_s`` ends the source; ``loop`` starts the next run (seed + 1) right after it.
"""
from __future__ import annotations

import time
from typing import Iterator

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream, Source


class SimSource(Source):
    kind = "sim"

    def __init__(self, *, name: str = "sim", scenario: str = "default", seed: int = 0,
                 duration_s: float = 60.0, speed: float = 1.0, streams: list[str] | None = None,
                 loop: bool = False, **kw) -> None:
        super().__init__(**kw)
        if not speed >= 0:
            raise ValueError(f"sim {name!r}: speed must be >= 0 (0 = as fast as possible), "
                             f"got {speed!r}")
        if not duration_s > 0:
            raise ValueError(f"sim {name!r}: duration_s must be positive, got {duration_s!r}")
        from edgebind.sim import SCENARIOS

        if scenario not in SCENARIOS:
            raise ValueError(f"sim {name!r}: unknown scenario {scenario!r}; "
                             f"known: {', '.join(sorted(SCENARIOS))}")
        self.name, self.scenario, self.seed = name, scenario, int(seed)
        self.duration_s, self.speed, self.loop = float(duration_s), float(speed), loop
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
                     duration_s=self.duration_s, start_ns=start_ns)

    @property
    def timeline(self):
        """Ground truth of the current run (``EventOccurrence`` list, world = host clock)."""
        return [] if self.world is None else self.world.timeline

    def _stream_infos(self) -> list[StreamInfo]:
        return list(self._infos)

    def _open(self) -> None:
        self._run = 0
        self._start_world(time.monotonic_ns())

    def _start_world(self, start_ns: int, keep_pace: bool = False) -> None:
        self.world = self._make_world(start_ns)
        self._it = iter(self.world.samples(self.want))
        if not keep_pace or self._pace0 is None:
            self._pace0 = (start_ns, time.monotonic_ns())

    def _close(self) -> None:
        self._it = None

    def _read(self) -> list[Sample]:
        if self._it is None:
            raise OSError("simulation not started")
        s = next(self._it, None)
        if s is None:
            if not self.loop:
                raise EndOfStream()
            self._run += 1
            self._start_world(self._pace0[0] + self._run * round(self.duration_s * 1e9),
                              keep_pace=True)
            s = next(self._it, None)
            if s is None:
                raise EndOfStream()
        if self.speed > 0:
            world0, mono0 = self._pace0
            if not self._wait_until(mono0 + round((s.t_ns - world0) / self.speed)):
                return []
        return [s]
