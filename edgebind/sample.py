"""The shared data model: one timestamped chunk of sensor data, and the description of its stream.

Time is integer nanoseconds on the host's monotonic clock (``time.monotonic_ns()``); data is a
numpy array in SI-like units (see DESIGN.md): camera uint8 H×W×3 RGB, depth float32 metres,
thermal float32 kelvin, audio float32 [-1, 1] frames×channels, IMU float32 N×6
``[ax ay az gx gy gz]`` (m/s², rad/s) with one int64 timestamp per row in ``row_t_ns``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

NS = 1_000_000_000   # nanoseconds per second: every timestamp is integer ns


@dataclass
class Sample:
    """``(stream, modality, t_ns, data, meta)``; batches (audio, IMU) are stamped at their first row.

    ``row_t_ns`` holds per-row times (int64 ns) for IMU batches; ``None`` elsewhere.
    """

    stream: str
    modality: str
    t_ns: int
    data: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    row_t_ns: np.ndarray | None = None


@dataclass(frozen=True)
class StreamInfo:
    """What a consumer needs to interpret a stream without having seen the device.

    ``rate_hz`` is the nominal rate of the stream's natural unit: frames/s for cameras, audio
    frames/s (the sample rate) for microphones, rows/s for IMUs. ``shape`` is the per-sample
    shape with -1 for sizes that vary (e.g. audio chunk length). ``device`` identifies the
    physical sensor (model/serial/port) so a recording can be traced back to hardware.
    """

    stream: str
    modality: str
    rate_hz: float
    shape: tuple[int, ...]
    units: str
    device: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Normalise so infos compare equal after a JSON round trip (lists come back for tuples).
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "rate_hz", float(self.rate_hz))
        if not self.stream:
            raise ValueError("StreamInfo.stream must be a non-empty id")

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "modality": self.modality, "rate_hz": self.rate_hz,
                "shape": list(self.shape), "units": self.units, "device": self.device,
                "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamInfo:
        try:
            return cls(stream=d["stream"], modality=d["modality"], rate_hz=d["rate_hz"],
                       shape=tuple(d["shape"]), units=d["units"], device=d.get("device", ""),
                       extra=dict(d.get("extra") or {}))
        except KeyError as exc:
            raise ValueError(f"stream info lacks key {exc.args[0]!r}") from None


def require_unique_streams(infos) -> list[StreamInfo]:
    """``infos`` as a list, if every stream name appears once (samples are routed by name);
    else a ValueError naming the repeated ones."""
    infos = list(infos)
    names = [i.stream for i in infos]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"stream names must be unique; {', '.join(dup)} appear more than once")
    return infos
