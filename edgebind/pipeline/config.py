"""``PipelineConfig``: window assembly, queueing and batching, with the sane range of each
setting; and the window lengths a bundle's model was trained on (the default windows)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgebind.runtime.encoder import SupportsEmbedding

# Sane ranges (lo, hi, lo allowed?): outside them a value is a typo that would crash start-up
# (``window_s = 1e300``), divide by a zero-length hop (``hop_s = 1e-300``) or kill a thread
# (``poll_interval_s = 1e300``).
LIMITS: dict[str, tuple[float, float, bool]] = {
    "window_s": (0.0, 600.0, False), "hop_s": (0.001, 3600.0, True),
    "frame_tolerance_s": (0.0, 60.0, True), "lateness_s": (0.0, 60.0, True),
    "queue_size": (1, 100_000, True), "max_batch": (1, 1024, True),
    "poll_interval_s": (0.001, 10.0, True), "warmup_s": (0.0, 3600.0, True),
    "stall_hops": (1, 100_000, True),
}
INTEGER_KEYS = ("queue_size", "max_batch", "stall_hops")


def expected(name: str) -> str:
    """What ``PipelineConfig.<name>`` must be, in words (for errors naming a config key)."""
    lo, hi, closed = LIMITS[name]
    if name in INTEGER_KEYS:
        return f"an integer >= {lo} and <= {hi}"
    if lo == 0 and closed:
        return f"a number of seconds >= 0 and <= {hi:g}"
    return f"a positive number of seconds {f'from {lo:g} ' if lo else ''}up to {hi:g}"


def within(name: str, v: Any) -> bool:
    from edgebind.checks import is_finite_number
    lo, hi, closed = LIMITS[name]
    if name in INTEGER_KEYS and not (isinstance(v, int) and not isinstance(v, bool)):
        return False
    return is_finite_number(v) and (v >= lo if closed else v > lo) and v <= hi


@dataclass
class PipelineConfig:
    """Window assembly, queueing and batching. ``window_s=None`` takes the windows the bundle's
    model was trained on (its audio clip length and IMU window)."""

    window_s: float | None = None
    hop_s: float = 0.5
    frame_tolerance_s: float = 0.1
    lateness_s: float = 0.1
    queue_size: int = 16
    max_batch: int = 8
    poll_interval_s: float = 0.02
    modalities: tuple[str, ...] | None = None   # towers to run; default: every one with a stream
    # Windows ending less than this after the first sample are not scored (counted as warm-up):
    # before then the audio and IMU windows cannot be full, and frames alone would decide.
    # None: the longest model window; 0: score from the first window.
    warmup_s: float | None = None
    # Health turns failing, and the systemd watchdog stops being pinged, when samples arrive but
    # no window has been embedded for this many hops (at least liveness.MIN_STALL_S seconds).
    stall_hops: int = 10

    def validate(self) -> None:
        for name in LIMITS:
            v = getattr(self, name)
            if v is None and name in ("window_s", "warmup_s"):
                continue
            if not within(name, v):
                raise ValueError(f"PipelineConfig.{name}: expected {expected(name)}, got {v!r:.40}")

    @property
    def stall_s(self) -> float:
        from edgebind.pipeline.liveness import MIN_STALL_S
        return max(self.stall_hops * self.hop_s, MIN_STALL_S)

    def window_lengths(self, embedder: SupportsEmbedding) -> dict[str, float]:
        """Per-modality window seconds: ``window_s`` for audio and IMU alike when set, else
        the model's own (:func:`model_windows`)."""
        if self.window_s:
            return {"audio": float(self.window_s), "imu": float(self.window_s)}
        return model_windows(embedder)


def model_windows(embedder: SupportsEmbedding) -> dict[str, float]:
    """Per-modality window lengths the bundle's model was trained on: audio = its clip
    length, IMU = its IMU window (frames use the frame nearest the window end)."""
    # Tolerated: an embedder without preprocessing parameters (``SupportsEmbedding`` allows
    # ``preprocess = None``) gets the reference model's 2 s windows.
    pre = embedder.preprocess
    if pre is None:
        return {"audio": 2.0, "imu": 2.0}
    return {"audio": float(pre.audio.clip_duration), "imu": float(pre.imu.window_s)}
