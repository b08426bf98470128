"""Few-shot examples from a recording: the windows of an MCAP recording, cut exactly as the
pipeline cuts them and embedded with a bundle's towers. Workstation side; the sensor stack is
imported when used, so the device-side anchors code never depends on it."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from edgebind.checks import isfinite


def recording_examples(embedder: Any, path: str | os.PathLike, start_s: float, end_s: float, *,
                       modalities: Sequence[str] | None = None, hop_s: float = 0.5,
                       streams: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Few-shot examples from a recording: the embeddings {modality: (N, D)} of every window whose
    end lies between ``start_s`` and ``end_s`` seconds after the recording's first sample, cut
    exactly as the pipeline cuts them (same window assembler, the bundle's window lengths)."""
    from edgebind.embedder import stack_items
    from edgebind.sensors.sources.replay import ReplaySource
    from edgebind.sensors.windows import WindowAssembler

    if not (0 <= start_s <= end_s) or not isfinite(end_s):
        raise ValueError(f"need 0 <= start_s <= end_s, got {start_s}, {end_s}")
    towers = [m for m in embedder.modalities if m != "text"]
    want = list(modalities or towers)
    missing = [m for m in want if m not in towers]
    if missing:
        raise ValueError(f"the bundle has no {', '.join(missing)} tower; it has {', '.join(towers)}")
    src = ReplaySource(path, speed=0, streams=list(streams) if streams else None)
    infos = [i for i in src.streams if i.modality in want]
    if not infos:
        raise ValueError(f"{path}: no {'/'.join(want)} streams in this recording")
    pre = embedder.preprocess
    assembler = WindowAssembler(infos, window_s={"audio": float(pre.audio.clip_duration),
                                                 "imu": float(pre.imu.window_s)}, hop_s=hop_s)
    batches = _window_batches(src.iter_samples(), assembler, {i.stream for i in infos},
                              {m: embedder.preprocessor(m) for m in want}, start_s, end_s)
    out = {m: np.asarray(embedder.embed_batch(m, stack_items(b))) for m, b in batches.items() if b}
    if not out:
        raise ValueError(f"{path}: no complete {'/'.join(want)} window ends between {start_s:g} s and "
                         f"{end_s:g} s (windows are {pre.audio.clip_duration:g} s long for audio)")
    return out


def _window_batches(samples: Iterable[Any], assembler: Any, names: set[str],
                    prepare: dict[str, Callable[[Any], np.ndarray]], start_s: float,
                    end_s: float) -> dict[str, list[np.ndarray]]:
    """{modality: model-ready batches of one} of the windows ending in [start_s, end_s] after
    the first sample; reading stops a second past ``end_s``."""
    batches: dict[str, list[np.ndarray]] = {m: [] for m in prepare}
    t0: int | None = None

    def take(sets: list) -> None:
        for ws in sets:
            if start_s * 1e9 <= ws.t_end_ns - t0 <= end_s * 1e9:
                for m, w in ws.windows.items():
                    if m in prepare:
                        batches[m].append(prepare[m](w))

    for sample in samples:
        if t0 is None:
            t0 = sample.t_ns
        if sample.t_ns - t0 > (end_s + 1.0) * 1e9:
            break
        if sample.stream in names:
            assembler.push(sample)
            take(assembler.poll())
    if t0 is not None:
        take(assembler.flush())
    return batches
