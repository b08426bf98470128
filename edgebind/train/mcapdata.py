"""Paired windows from MCAP recordings: each camera frame (every ``hop_s``) with the other
streams' windows ending at the same time: the robot's own natural pairing, as ImageBind pairs
video frames with the audio and IMU around them. Torch-free.

Per modality the first stream found is used (or the one named in ``streams``). Depth and
thermal take the latest frame at or before the camera frame (within ``frame_tolerance_s``);
audio and IMU the ``window_s`` before it. Frames whose windows are incomplete are skipped and
counted in ``meta["skipped"]``.
"""
from __future__ import annotations

import dataclasses
import os
from bisect import bisect_right
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgebind import preprocess as pp
from edgebind.preprocess import PreprocessConfig
from edgebind.sample import NS
from edgebind.train.data import ArrayDataset


@dataclasses.dataclass
class _Stream:
    modality: str
    rate_hz: float
    t: list[int]
    data: list[np.ndarray]
    rows_t: list[np.ndarray]


def _read(path: Path, streams: Mapping[str, str] | None) -> dict[str, _Stream]:
    from edgebind.record import open_recording

    out: dict[str, _Stream] = {}
    with open_recording(path) as rec:
        chosen: dict[str, str] = {}
        for name, info in rec.streams.items():
            if streams and info.modality in streams:
                if streams[info.modality] == name:
                    chosen[info.modality] = name
            elif info.modality not in chosen:
                chosen[info.modality] = name
        wanted = {v: k for k, v in chosen.items()}
        for s in rec.samples(streams=list(wanted)):
            info = rec.streams[s.stream]
            st = out.setdefault(s.modality, _Stream(s.modality, info.rate_hz, [], [], []))
            st.t.append(int(s.t_ns))
            st.data.append(np.asarray(s.data))
            if s.row_t_ns is not None:
                st.rows_t.append(np.asarray(s.row_t_ns, dtype=np.int64))
    return out


def _latest(st: _Stream, t: int, tol_ns: int) -> np.ndarray | None:
    i = bisect_right(st.t, t) - 1
    if i < 0 or t - st.t[i] > tol_ns:
        return None
    return st.data[i]


def _audio_window(st: _Stream, t_end: int, window_s: float) -> np.ndarray | None:
    """Concatenated audio chunks covering [t_end - window, t_end] (chunks stamped at frame 0)."""
    rate = st.rate_hz
    start = t_end - int(window_s * NS)
    i0 = max(0, bisect_right(st.t, start) - 1)
    i1 = bisect_right(st.t, t_end)
    if i1 <= i0 or st.t[i0] > start:
        return None
    wave = np.concatenate([c.reshape(len(c), -1) for c in st.data[i0:i1]])
    offset = int(round((start - st.t[i0]) / NS * rate))
    n = int(round(window_s * rate))
    seg = wave[offset:offset + n]
    return seg if len(seg) >= int(0.98 * n) else None


def _imu_window(st: _Stream, t_end: int, window_s: float) -> tuple[np.ndarray, np.ndarray] | None:
    start = t_end - int(window_s * NS) - NS // 10
    rows, times = [], []
    for t_ns, d, rt in zip(st.t, st.data, st.rows_t):
        if rt[-1] >= start and rt[0] <= t_end + NS // 10:
            rows.append(d)
            times.append(rt)
    if not rows:
        return None
    return np.concatenate(rows).astype(np.float32), np.concatenate(times)


@dataclasses.dataclass(frozen=True)
class _Pairing:
    """How camera frames are paired with the other streams (see the module docstring)."""

    pre: PreprocessConfig
    one_clip: Any  # pre.audio, one clip per window
    window_s: float
    hop_s: float
    tol_ns: int

    def paired(self, m: str, st: _Stream, t: int) -> np.ndarray:
        """Model-ready ``m`` input paired with the camera frame at ``t``; LookupError(m) when
        its frame or window is not there."""
        if m in ("depth", "thermal"):
            x = _latest(st, t, self.tol_ns)
            if x is None:
                raise LookupError(m)
            return (pp.depth if m == "depth" else pp.thermal)(x, getattr(self.pre, m))
        if m == "audio":
            w = _audio_window(st, t, self.window_s)
            if w is None:
                raise LookupError(m)
            return pp.audio(w, int(st.rate_hz), layout="frames_first", params=self.one_clip)[0]
        imu = _imu_window(st, t, self.window_s)
        if imu is None:
            raise LookupError(m)
        return pp.imu(imu[0], imu[1], end_ns=t, params=self.pre.imu)

    def add(self, path: str | os.PathLike, streams: Mapping[str, str] | None,
            rows: dict[str, list[np.ndarray]], skipped: dict[str, int]) -> None:
        """Appends one recording's complete windows to ``rows``; counts the rest in ``skipped``."""
        data = _read(Path(path), streams)
        if "vision" not in data:
            raise ValueError(f"{path}: no camera (vision) stream to pair the others with")
        others = [m for m in ("audio", "depth", "thermal", "imu") if m in data]
        cam = data["vision"]
        next_t = min(st.t[0] for st in data.values()) + int(self.window_s * NS)
        for t, frame in zip(cam.t, cam.data):
            if t < next_t:
                continue
            item = {"vision": pp.image(frame, self.pre.vision)}
            try:
                item.update((m, self.paired(m, data[m], t)) for m in others)
            except (LookupError, ValueError) as exc:
                key = exc.args[0] if isinstance(exc, LookupError) else "invalid"
                skipped[key] = skipped.get(key, 0) + 1
                continue
            if rows and set(item) != set(rows):
                skipped["missing_streams"] = skipped.get("missing_streams", 0) + 1
                continue
            for k, v in item.items():
                rows.setdefault(k, []).append(v)
            next_t = t + int(self.hop_s * NS)


def pairs_from_recordings(paths: Sequence[str | os.PathLike], *, pre: PreprocessConfig | None = None,
                          window_s: float = 2.0, hop_s: float = 0.5,
                          frame_tolerance_s: float = 0.1,
                          streams: Mapping[str, str] | None = None,
                          dtype: Any = np.float16) -> ArrayDataset:
    """Model-ready paired windows (vision + whatever else the recordings hold)."""
    from edgebind.train.simdata import train_preprocess

    pre = pre or train_preprocess(window_s)
    pairing = _Pairing(pre, dataclasses.replace(pre.audio, clips_per_video=1), window_s, hop_s,
                       int(frame_tolerance_s * NS))
    rows: dict[str, list[np.ndarray]] = {}
    skipped: dict[str, int] = {}
    for path in paths:
        pairing.add(path, streams, rows, skipped)
    if not rows:
        raise ValueError(f"no complete paired windows in {', '.join(map(str, paths))} "
                         f"(skipped: {skipped or 'none'})")
    arrays = {k: np.stack(v).astype(dtype) for k, v in rows.items()}
    meta = {"source": "mcap", "recordings": [str(p) for p in paths], "window_s": window_s,
            "hop_s": hop_s, "skipped": skipped, "preprocess": pre.to_dict()}
    return ArrayDataset(arrays, meta)
