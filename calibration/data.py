"""Reading one stream of a recording into arrays the calibration math takes (I/O at the edge)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from edgebind.sample import Sample, StreamInfo

from edgebind.calibration.report import progress


@dataclass
class ImuSeries:
    stream: str
    info: StreamInfo
    t_ns: np.ndarray   # (N,) int64 per row
    rows: np.ndarray   # (N, 6) float64 [ax ay az gx gy gz]

    @property
    def rate_hz(self) -> float:
        """Measured row rate (the nominal one in StreamInfo may be off)."""
        if len(self.t_ns) < 2:
            return float(self.info.rate_hz)
        return float((len(self.t_ns) - 1) / ((self.t_ns[-1] - self.t_ns[0]) / 1e9))


@dataclass
class AudioSeries:
    stream: str
    info: StreamInfo
    rate: float
    wave: np.ndarray   # (frames, channels) float32
    t_ns: np.ndarray   # (frames,) int64: chunk time + frame index / rate (gaps are kept)


@dataclass
class FrameSeries:
    stream: str
    info: StreamInfo
    t_ns: np.ndarray   # (N,) int64
    frames: list[np.ndarray]


def pick_stream(streams: dict[str, StreamInfo], name: str | None, modalities: tuple[str, ...],
                source: str) -> StreamInfo:
    """The stream called ``name`` (checked to be of one of ``modalities``), or the only stream
    of those modalities; a clear error listing what the recording has otherwise."""
    have = ", ".join(f"{k} ({v.modality})" for k, v in streams.items()) or "no streams"
    if name is not None:
        if name not in streams:
            raise ValueError(f"{source} has no stream {name!r}; it has {have}")
        if streams[name].modality not in modalities:
            raise ValueError(f"{source}: stream {name!r} is {streams[name].modality}, this "
                             f"needs {' or '.join(modalities)}")
        return streams[name]
    cands = [v for v in streams.values() if v.modality in modalities]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise ValueError(f"{source} has no {' or '.join(modalities)} stream; it has {have}")
    raise ValueError(f"{source} has several {' or '.join(modalities)} streams "
                     f"({', '.join(c.stream for c in cands)}); choose one with --stream")


def _samples(path: Path, info: StreamInfo, show: bool) -> Iterator[Sample]:
    from edgebind.record import open_recording
    with open_recording(path) as rep:
        stats = rep.summary().channels.get(info.stream)
        total = stats.message_count if stats else None
        yield from progress(rep.samples(streams=[info.stream]), total,
                            f"read {info.stream}", show)


def stream_info(path: str | os.PathLike, name: str | None, modalities: tuple[str, ...]
                ) -> StreamInfo:
    from edgebind.record import open_recording
    with open_recording(path) as rep:
        return pick_stream(rep.streams, name, modalities, f"recording {path}")


def read_imu(path: str | os.PathLike, name: str | None = None, show: bool = False) -> ImuSeries:
    info = stream_info(path, name, ("imu",))
    ts, rows = [], []
    for s in _samples(Path(path), info, show):
        d = np.asarray(s.data, dtype=np.float64).reshape(-1, 6)
        t = s.row_t_ns if s.row_t_ns is not None else np.full(len(d), s.t_ns, dtype=np.int64)
        ts.append(np.asarray(t, dtype=np.int64))
        rows.append(d)
    if not rows:
        raise ValueError(f"recording {path}: stream {info.stream!r} has no IMU rows")
    t = np.concatenate(ts)
    r = np.concatenate(rows)
    order = np.argsort(t, kind="stable")
    r, t = r[order], t[order]
    bad = ~np.all(np.isfinite(r), axis=1)
    if bad.any():  # a glitching sensor: drop the rows rather than poison every estimate
        r, t = r[~bad], t[~bad]
    return ImuSeries(info.stream, info, t, r)


def read_audio(path: str | os.PathLike, name: str | None = None, show: bool = False
               ) -> AudioSeries:
    info = stream_info(path, name, ("audio",))
    rate = float(info.rate_hz)
    if rate <= 0:
        raise ValueError(f"recording {path}: audio stream {info.stream!r} has rate {rate}")
    waves, ts = [], []
    for s in _samples(Path(path), info, show):
        d = np.asarray(s.data, dtype=np.float32)
        d = d[:, None] if d.ndim == 1 else d
        waves.append(d)
        ts.append(s.t_ns + np.round(np.arange(len(d)) * 1e9 / rate).astype(np.int64))
    if not waves:
        raise ValueError(f"recording {path}: stream {info.stream!r} has no audio")
    return AudioSeries(info.stream, info, rate, np.concatenate(waves), np.concatenate(ts))


def read_frames(path: str | os.PathLike, name: str | None = None,
                modalities: tuple[str, ...] = ("vision", "thermal", "depth"),
                every: int = 1, show: bool = False) -> FrameSeries:
    info = stream_info(path, name, modalities)
    ts, frames = [], []
    for i, s in enumerate(_samples(Path(path), info, show)):
        if i % max(1, every) == 0:
            ts.append(s.t_ns)
            frames.append(np.asarray(s.data))
    if not frames:
        raise ValueError(f"recording {path}: stream {info.stream!r} has no frames")
    return FrameSeries(info.stream, info, np.asarray(ts, dtype=np.int64), frames)
