"""Every window's embeddings, recorded by running the pipeline over a simulated world: the input
``edgebind.detect.tune`` replays through candidate detector settings. It lives here, above the
detector, because it drives the pipeline."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from edgebind.detect import Detector, DetectorConfig
from edgebind.detect.tune import Recording
from edgebind.pipeline.config import PipelineConfig
from edgebind.pipeline.core import Pipeline

if TYPE_CHECKING:
    from edgebind.anchors import AnchorSet
    from edgebind.runtime.encoder import SupportsEmbedding


class RecordingDetector(Detector):
    """A detector that also keeps each window's ``(t_start_ns, t_end_ns, embeddings)``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.recorded: list[tuple[int, int, dict[str, np.ndarray]]] = []

    def update(self, t_start_ns: int, t_end_ns: int, embeddings: Mapping[str, np.ndarray],
               streams: Sequence[str] = ()) -> list:
        self.recorded.append((int(t_start_ns), int(t_end_ns),
                              {k: np.array(v, dtype=np.float32) for k, v in embeddings.items()}))
        return super().update(t_start_ns, t_end_ns, embeddings, streams)


def record_world(embedder: SupportsEmbedding, anchor_set: AnchorSet, scenario: str, seed: int,
                 *, duration_s: float = 60.0, difficulty: float = 1.0) -> Recording:
    """Runs the pipeline (synchronously) over a simulated world, keeping every window's
    embeddings."""
    from edgebind.sim import World
    world = World(scenario, seed=seed, duration_s=duration_s, difficulty=difficulty)
    recorder = RecordingDetector(anchor_set, DetectorConfig())
    pipe = Pipeline([], embedder, anchor_set, recorder, [], config=PipelineConfig(),
                    stream_infos=world.stream_infos)
    for _ in pipe.run_sync(world.samples()):
        pass
    return Recording(recorder.recorded,
                     [(o.event, o.t_start_ns, o.t_end_ns) for o in world.timeline])
