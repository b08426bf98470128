"""What the window assembler emits: one :class:`Window` per modality, grouped in a
:class:`WindowSet` per window end. Plain records, numpy only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

FRAME_MODALITIES = ("vision", "depth", "thermal")
SERIES_MODALITIES = ("audio", "imu")
WINDOW_MODALITIES = ("vision", "audio", "depth", "thermal", "imu")   # text never streams


@dataclass
class Window:
    """One modality's model-ready input over ``[t_start_ns, t_end_ns]``.

    ``data``: vision uint8 H×W×3; depth/thermal float32 H×W; audio float64 (frames, channels),
    a view of a C-contiguous (channels, frames) buffer (``data.T``), which is the layout and
    dtype the audio preprocessing computes in, so the embedder uses it as it is; imu float32
    (imu_rows, 6) with ``timestamps_ns`` int64 (imu_rows,). Audio is finite (checked once, when
    its samples entered the assembler). ``streams`` names the stream that contributed;
    ``rate_hz`` is the stream's rate as configured. ``meta`` says how it was built (frame time,
    zero-filled frames...). ``Embedder.preprocessor(modality)`` turns a Window into model input.
    """

    modality: str
    t_start_ns: int
    t_end_ns: int
    data: np.ndarray
    streams: tuple[str, ...]
    rate_hz: float
    timestamps_ns: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class WindowSet:
    """All modalities' windows ending at ``t_end_ns``; ``skipped`` maps modality -> reason."""

    t_end_ns: int
    windows: dict[str, Window]
    skipped: dict[str, str]
