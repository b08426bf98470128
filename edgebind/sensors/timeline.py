"""The assembler's timeline: which clock windows follow, and what to do when a stream's clock
jumps (docs/windows.md, "Clock jumps"). Bookkeeping only; the assembler holds the lock."""
from __future__ import annotations

from typing import Any, Iterable

from edgebind.sensors.intake import StreamState


class Timeline:
    """Where the windows are: ``watermark`` (newest in-timeline sample start), ``next_end`` (the
    next window end due) and ``last_end`` (the newest one emitted). A sample more than
    ``jump_ns`` from the watermark is off the timeline; :meth:`observe` decides when the
    timeline follows such a clock instead."""

    def __init__(self, jump_ns: int):
        self.jump_ns = jump_ns
        self.watermark: int | None = None
        self.next_end: int | None = None
        self.last_end: int | None = None
        self._off_run: list[int] | None = None   # [min, max] start of consecutive off-timeline

    def observe(self, st: StreamState, t: int, streams: Iterable[StreamState],
                stats: dict[str, Any], per: dict[str, Any]) -> None:
        """Account for a sample of ``st`` starting at ``t`` (before it is stored)."""
        if self.watermark is None:
            self.watermark = t
        off = abs(t - self.watermark) > self.jump_ns
        # Off already, but on yet another clock than its buffered data: that data is stale too.
        hop_clock = off and st.off_timeline and st.newest_ns is not None \
            and abs(t - st.newest_ns) > self.jump_ns
        if off != st.off_timeline or hop_clock:
            # Either way the buffered data belongs to another clock epoch than what follows.
            stats["evicted"] += st.ring.clear()
            st.newest_ns = None
            if off:
                stats["clock_jumps"] += 1
                per["clock_jumps"] += 1
            st.off_timeline = off
        if not off:
            self._off_run = None
            self.watermark = max(self.watermark, t)
            return
        run = self._off_run
        if run is None or t < run[0] - self.jump_ns or t > run[1] + self.jump_ns:
            run = [t, t]          # off-timeline samples of another clock start their own run
        self._off_run = [min(run[0], t), max(run[1], t)]
        streams = list(streams)
        seen = [s for s in streams if s.newest_ns is not None or s is st]
        on_n = sum(not s.off_timeline for s in seen)
        agree = [s for s in seen if s.off_timeline and
                 (s is st or abs(s.newest_ns - t) <= self.jump_ns)]   # type: ignore[operator]
        # More streams agree on this sample's clock than are on the timeline (one mis-stamped
        # stream that happened to deliver first set it; or every stream jumped), or this clock
        # has kept coming for clock_jump_s with nothing on the timeline in between: follow it.
        if len(agree) > on_n or self._off_run[1] - self._off_run[0] >= self.jump_ns:
            self._reset(streams, agree, t, stats)

    def _reset(self, streams: list[StreamState], group: list[StreamState], t: int,
               stats: dict[str, Any]) -> None:
        """Move the timeline to the clock of ``group`` (streams whose data agree with ``t``);
        every other stream's buffer is cleared (its data is on another clock) and it is judged
        afresh by its next sample."""
        stats["timeline_resets"] += 1
        new_mark = t
        for s in streams:
            if any(s is g for g in group):
                s.off_timeline = False
                if s.newest_ns is not None:
                    new_mark = max(new_mark, s.newest_ns)
            else:
                stats["evicted"] += s.ring.clear()
                s.newest_ns = None
                s.off_timeline = False
        self.watermark = new_mark
        self._off_run = None
        self.next_end = None
        self.last_end = None
