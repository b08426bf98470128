"""A simulated room streaming camera, depth, thermal, microphone and IMU samples with ground truth."""
from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sim.compose import NS, Tracks, render_frames
from edgebind.sim.events import QUIET, EventOccurrence
from edgebind.sim.scenarios import make_scene

CAMERA_FPS = 15.0
THERMAL_FPS = 8.0
AUDIO_RATE = 16000
AUDIO_CHUNK = 512
IMU_RATE = 400
IMU_BATCH = 20

# stream -> (modality, units)
STREAMS: dict[str, tuple[str, str]] = {
    "camera": ("vision", "RGB uint8"), "depth": ("depth", "m"), "thermal": ("thermal", "K"),
    "mic": ("audio", "float32 [-1, 1]"), "imu": ("imu", "m/s^2, rad/s"),
}


class World:
    """A deterministic simulated world: same (scenario, seed, duration, start, difficulty) ->
    same timeline and bit-identical samples.

    ``samples()`` yields every stream's samples in non-decreasing ``t_ns`` (ties in the order of
    :data:`STREAMS`); audio chunks and IMU batches are stamped at their first row. Time runs
    from ``start_ns`` for ``duration_s`` seconds (a sample is emitted when it starts inside).
    """

    def __init__(self, scenario: str = "default", seed: int = 0, duration_s: float = 60.0,
                 start_ns: int = 0, *, difficulty: float = 1.0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        try:
            duration_s = float(duration_s)
        except (TypeError, ValueError):
            raise ValueError(f"duration_s must be a number of seconds, got {duration_s!r}") from None
        if isinstance(start_ns, bool) or not isinstance(start_ns, (int, np.integer)):
            raise ValueError(f"start_ns must be an integer (ns), got {start_ns!r}")
        self.scenario = scenario
        self.seed = int(seed)
        self.duration_s = duration_s
        self.start_ns = int(start_ns)
        self.difficulty = float(difficulty)
        self.scene = make_scene(scenario, self.seed, duration_s, self.start_ns, self.difficulty)
        self.end_ns = self.start_ns + int(round(duration_s * NS))

    @property
    def timeline(self) -> list[EventOccurrence]:
        """Ground truth: the labelled occurrences, by start time."""
        return sorted(self.scene.occurrences, key=lambda o: (o.t_start_ns, o.event))

    @property
    def stream_infos(self) -> list[StreamInfo]:
        dev = f"sim:{self.scenario}:seed={self.seed}"
        extra = {"scenario": self.scenario, "seed": self.seed, "difficulty": self.difficulty}
        return [
            StreamInfo("camera", "vision", CAMERA_FPS, (224, 224, 3), STREAMS["camera"][1], dev, dict(extra)),
            StreamInfo("depth", "depth", CAMERA_FPS, (224, 224), STREAMS["depth"][1], dev, dict(extra)),
            StreamInfo("thermal", "thermal", THERMAL_FPS, (120, 160), STREAMS["thermal"][1], dev, dict(extra)),
            StreamInfo("mic", "audio", float(AUDIO_RATE), (-1, 1), STREAMS["mic"][1], dev,
                       {**extra, "chunk": AUDIO_CHUNK}),
            StreamInfo("imu", "imu", float(IMU_RATE), (-1, 6), STREAMS["imu"][1], dev,
                       {**extra, "batch": IMU_BATCH}),
        ]

    def label_at(self, t_ns: int) -> set[str]:
        """Events active at ``t_ns``, or {"quiet_room"} when none is."""
        names = {o.event for o in self.scene.active(int(t_ns))}
        return names or {QUIET}

    def labels_between(self, t0_ns: int, t1_ns: int) -> set[str]:
        """Events active at any time in [t0_ns, t1_ns), or {"quiet_room"}."""
        names = {o.event for o in self.scene.overlapping(int(t0_ns), int(t1_ns))}
        return names or {QUIET}

    def _times(self, stream: str) -> Iterator[int]:
        k = 0
        while True:
            if stream in ("camera", "depth"):
                t = self.start_ns + int(round(k * NS / CAMERA_FPS))
            elif stream == "thermal":
                t = self.start_ns + int(round(k * NS / THERMAL_FPS))
            elif stream == "mic":
                t = self.start_ns + k * AUDIO_CHUNK * NS // AUDIO_RATE
            else:
                t = self.start_ns + k * IMU_BATCH * NS // IMU_RATE
            if t >= self.end_ns:
                return
            yield t
            k += 1

    def samples(self, streams: list[str] | tuple[str, ...] | None = None) -> Iterator[Sample]:
        """Every sample of the chosen streams (default all), in time order."""
        names = list(STREAMS) if streams is None else list(streams)
        for s in names:
            if s not in STREAMS:
                raise ValueError(f"unknown sim stream {s!r}; expected some of {', '.join(STREAMS)}")
        order = [s for s in STREAMS if s in names]
        tracks = Tracks(self.scene)
        heap: list[tuple[int, int, int]] = []
        its = {i: self._times(s) for i, s in enumerate(order)}
        for i, it in its.items():
            t = next(it, None)
            if t is not None:
                heap.append((t, i, 0))
        heapq.heapify(heap)
        frame_cache: tuple[int, dict[str, np.ndarray]] | None = None
        want_cam = tuple(m for s, m in (("camera", "vision"), ("depth", "depth")) if s in order)
        while heap:
            t, i, k = heapq.heappop(heap)
            s = order[i]
            modality = STREAMS[s][0]
            if s in ("camera", "depth"):
                if frame_cache is None or frame_cache[0] != t:
                    frame_cache = (t, render_frames(self.scene, t, want_cam))
                yield Sample(s, modality, t, frame_cache[1][modality], {"seq": k})
            elif s == "thermal":
                yield Sample(s, modality, t, render_frames(self.scene, t, ("thermal",))["thermal"], {"seq": k})
            elif s == "mic":
                yield Sample(s, modality, t, tracks.audio(t, AUDIO_CHUNK)[:, None], {"seq": k})
                tracks.forget_before(t)
            else:
                rows = t + np.arange(IMU_BATCH, dtype=np.int64) * (NS // IMU_RATE)
                yield Sample(s, modality, t, tracks.imu(rows), {"seq": k}, row_t_ns=rows)
                tracks.forget_before(t)
            nt = next(its[i], None)
            if nt is not None:
                heapq.heappush(heap, (nt, i, k + 1))
