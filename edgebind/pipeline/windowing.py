"""The window assembly stage: the assembler behind a short lock (capture threads push samples
while the windows thread, or the synchronous driver, collects window sets), warm-up, and the
one job-collection function both the live and the synchronous mode use."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from edgebind.pipeline.stages import Job

if TYPE_CHECKING:
    from edgebind.pipeline.metrics import Counters
    from edgebind.sample import Sample
    from edgebind.sensors.windows import WindowAssembler, WindowSet


class Windowing:
    """``push`` samples, ``collect`` jobs. Window sets ending less than ``warmup_ns`` after the
    first sample are not scored (counted as warm-up): before then audio and IMU windows
    cannot be full."""

    def __init__(self, assembler: WindowAssembler, warmup_ns: int, counters: Counters):
        self.assembler = assembler
        self.lock = threading.Lock()
        self.warmup_ns = warmup_ns
        self.first_sample_ns: int | None = None
        self.counters = counters

    def push(self, sample: Sample) -> None:
        with self.lock:
            self.assembler.push(sample)
            if self.first_sample_ns is None:
                self.first_sample_ns = int(sample.t_ns)

    def collect(self, now_ns: int | None, flush: bool = False, live: bool = False) -> list[Job]:
        """The window sets the assembler completed by ``now_ns`` (None: by its newest sample;
        ``flush``: every one it can still make), past warm-up, as jobs. End-to-end latency
        runs from the window's end when ``live`` (the sensors' clock is the host's), from now
        in synchronous mode (samples come as fast as they are read)."""
        c = self.counters
        t0 = time.perf_counter()
        try:
            with self.lock:
                wss = self.assembler.flush() if flush else self.assembler.poll(now_ns)
        except Exception as exc:
            c.error("assemble", exc)
            return []
        if wss:
            c.latency["assemble"].observe(time.perf_counter() - t0)
        wss = self._past_warmup(wss)
        ready = time.monotonic_ns()
        c.windows_in += len(wss)
        return [Job(ws, ready, int(ws.t_end_ns) if live else ready) for ws in wss]

    def _past_warmup(self, wss: list[WindowSet]) -> list[WindowSet]:
        first = self.first_sample_ns
        if not self.warmup_ns or first is None:
            return wss
        keep = [ws for ws in wss if int(ws.t_end_ns) - first >= self.warmup_ns]
        if len(keep) < len(wss):
            with self.counters.lock:
                self.counters.windows_warmup += len(wss) - len(keep)
        if keep:
            self.warmup_ns = 0  # once, at start: a later clock jump must not silence windows
        return keep
