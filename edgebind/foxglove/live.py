"""The Foxglove view of a simulated world driven synchronously (``edgebind demo --foxglove``):
the samples are paced to real time (or ``speed`` times it) and handed to the bridge on the
way into the pipeline, so a newcomer watches the robot as the detector sees it."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from edgebind.foxglove.bridge import FoxgloveBridge
from edgebind.sample import Sample, StreamInfo


class LiveView:
    """A started bridge over ``infos`` whose clock maps the world's ``t0`` onto "now"."""

    def __init__(self, address: tuple[str, int], infos: Sequence[StreamInfo], t0_ns: int,
                 speed: float = 1.0, wait_s: float = 60.0, say: Callable[[str], None] = print):
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed, self.t0_ns, self.wait_s, self.say = float(speed), int(t0_ns), wait_s, say
        self.bridge = FoxgloveBridge(infos, *address, name="edgebind demo",
                                     time_offset_ns=time.time_ns() - int(t0_ns))
        self.health: Callable[[], dict[str, Any]] = lambda: {"status": "ok"}

    def start(self) -> "LiveView":
        self.bridge.start()
        self.say(f"  Foxglove view on {self.bridge.url}: in Foxglove, Open connection → "
                 f"Foxglove WebSocket → {self.bridge.url}; Layouts → Import from file → "
                 f"{_layout()}")
        if self.wait_s > 0:
            self.say(f"  waiting up to {self.wait_s:g} s for a Foxglove client ...")
            end = time.monotonic() + self.wait_s
            while self.bridge.stats()["clients"] == 0 and time.monotonic() < end:
                time.sleep(0.05)
        return self

    def paced(self, samples: Iterable[Sample]) -> Iterator[Sample]:
        """``samples`` at ``speed`` × real time, each also shown in Foxglove; the wall clock
        of the view starts when the first sample leaves."""
        start: tuple[int, int] | None = None
        for s in samples:
            now = time.monotonic_ns()
            if start is None:
                start = (s.t_ns, now)
                self.bridge.time_offset_ns = time.time_ns() - s.t_ns
            delay = start[1] + (s.t_ns - start[0]) / self.speed - now
            if delay > 0:
                time.sleep(delay / 1e9)
            self.bridge.on_sample(s)
            yield s

    def on_window(self, result: Any) -> None:
        self.bridge.on_window(result)
        self.bridge.tick(self.health)

    def on_event(self, event: Any) -> None:
        self.bridge.on_event(event)

    def stop(self) -> None:
        self.bridge.stop()


def _layout() -> str:
    from edgebind.foxglove.layout import layout_path
    return str(layout_path())
