"""The simulated multi-sensor world: a scripted room producing consistent camera, depth,
thermal, microphone and IMU streams for everyday robot events, with randomised nuisance,
a ground-truth timeline and captions. numpy only (no torch); deterministic under a seed.

- :class:`World` streams :class:`edgebind.sample.Sample` s for a scenario (:data:`SCENARIOS`).
- :func:`sample_clip` draws one training/eval window (:class:`Clip`) of a chosen event.
- :data:`EVENTS`, :data:`CAPTIONS`: the vocabulary. See docs/sim.md.
"""
from edgebind.sim.clips import Clip, sample_clip
from edgebind.sim.events import (CAPTIONS, EVENTS, HELDOUT_PHRASINGS, QUIET, EventOccurrence,
                                  check_event)
from edgebind.sim.scenarios import SCENARIOS
from edgebind.sim.world import STREAMS, World

__all__ = ["CAPTIONS", "Clip", "EVENTS", "EventOccurrence", "HELDOUT_PHRASINGS", "QUIET", "SCENARIOS", "STREAMS", "World",
           "check_event", "sample_clip"]
