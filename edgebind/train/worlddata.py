"""Paired windows cut from simulated World streams exactly as the live pipeline cuts them
(``WindowAssembler`` over ``World.samples()``, every ``hop_s``): each window's camera frame with
the audio, depth, thermal and IMU windows ending at the same time. This is the streaming view the
daemon and ``edgebind demo`` see (an event may fill only part of a window, or none of it), which
``sample_clip``'s centred clips do not show; binding on both makes the sensor towers land where
the vision tower does on live windows too. Torch-free.

Arrays match ``simdata.render``: the sensors, ``label`` (the event overlapping the window most
if it covers a quarter of it, else ``quiet_room``), ``events`` (every event active in the window,
``quiet_room`` when none is), ``text`` (a caption of the label). World ``i`` is
``World(scenario, seed=seed + i)``, so results do not depend on workers.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgebind.preprocess import PreprocessConfig
from edgebind.train.data import ArrayDataset
from edgebind.train.simdata import SENSOR_KEYS, cached, train_preprocess


def _overlap(o: Any, t0: int, t1: int) -> int:
    return max(0, min(o.t_end_ns, t1) - max(o.t_start_ns, t0))


def window_inputs(ws: Any, pre: PreprocessConfig) -> dict[str, np.ndarray] | None:
    """One assembled ``WindowSet`` -> model-ready arrays (audio as ONE clip), or None when a
    modality was skipped for this window."""
    from edgebind import preprocess as pp

    if ws.skipped or not all(m in ws.windows for m in SENSOR_KEYS):
        return None
    w = ws.windows
    one_clip = dataclasses.replace(pre.audio, clips_per_video=1)
    return {
        "vision": pp.image(w["vision"].data, pre.vision),
        "audio": pp.audio(w["audio"].data, int(round(w["audio"].rate_hz)), layout="frames_first",
                          params=one_clip)[0],
        "depth": pp.depth(w["depth"].data, pre.depth),
        "thermal": pp.thermal(w["thermal"].data, pre.thermal),
        "imu": pp.imu(w["imu"].data, w["imu"].timestamps_ns, params=pre.imu),
    }


def _one_world(args: tuple[str, int, float, float, float, float, dict]) -> list[tuple[dict, int, tuple]]:
    from edgebind.sensors.windows import WindowAssembler
    from edgebind.sim import EVENTS, World
    from edgebind.sim.events import QUIET

    scenario, seed, duration_s, difficulty, window_s, hop_s, pre_dict = args
    pre = PreprocessConfig.from_dict(pre_dict)
    world = World(scenario, seed=seed, duration_s=duration_s, difficulty=difficulty)
    asm = WindowAssembler(world.stream_infos, window_s=window_s, hop_s=hop_s,
                          imu_rows=int(pre.imu.n_samples))
    occ = world.timeline
    out = []

    def take(sets: list) -> None:
        for ws in sets:
            x = window_inputs(ws, pre)
            if x is None:
                continue
            t1 = int(ws.t_end_ns)
            t0 = t1 - int(window_s * 1e9)
            hits = [h for h in ((_overlap(o, t0, t1), o.event) for o in occ) if h[0] > 0]
            # Main label: the event covering most of the window, if it covers a quarter of it.
            main = max(hits)[1] if hits and max(hits)[0] >= (t1 - t0) // 4 else QUIET
            active = tuple(sorted({e for _, e in hits})) or (QUIET,)
            out.append((x, EVENTS.index(main), tuple(EVENTS.index(e) for e in active)))

    for s in world.samples():
        asm.push(s)
        take(asm.poll(s.t_ns))
    take(asm.flush())
    return out


def world_windows(n_worlds: int, seed: int, *, scenario: str = "default", duration_s: float = 60.0,
                  difficulty: float = 1.0, window_s: float = 2.0, hop_s: float = 1.0,
                  pre: PreprocessConfig | None = None, dtype: Any = np.float16, workers: int = 1,
                  progress: Callable[[int], None] | None = None) -> ArrayDataset:
    """Windows from ``n_worlds`` simulated worlds (seeds ``seed .. seed + n_worlds - 1``)."""
    from edgebind.preprocess import tokenize
    from edgebind.sim import CAPTIONS, EVENTS, SCENARIOS

    if n_worlds < 1:
        raise ValueError(f"world_windows: n_worlds must be >= 1, got {n_worlds}")
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    pre = pre or train_preprocess(window_s)
    jobs = [(scenario, seed + i, float(duration_s), float(difficulty), float(window_s),
             float(hop_s), pre.to_dict()) for i in range(n_worlds)]

    def results():
        if workers <= 1:
            yield from map(_one_world, jobs)
            return
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_one_world, jobs)

    rows: list[tuple[dict, int, tuple]] = []
    for i, part in enumerate(results()):
        rows.extend(part)
        if progress is not None:
            progress(i + 1)
    if not rows:
        raise ValueError(f"no complete windows in {n_worlds} world(s) of {duration_s} s")
    n = len(rows)
    arrays = {k: np.stack([r[0][k] for r in rows]).astype(dtype) for k in SENSOR_KEYS}
    rng = np.random.default_rng([seed, 2**31])
    captions = [CAPTIONS[EVENTS[r[1]]][rng.integers(len(CAPTIONS[EVENTS[r[1]]]))] for r in rows]
    tokens = {c: tokenize(c)[0].astype(np.int32) for c in set(captions)}
    arrays["text"] = np.stack([tokens[c] for c in captions])
    arrays["label"] = np.array([r[1] for r in rows], np.int16)
    active = np.zeros((n, len(EVENTS)), bool)
    for i, r in enumerate(rows):
        active[i, list(r[2])] = True
    arrays["events"] = active
    meta = {"source": "sim-world", "scenario": scenario, "seed": int(seed),
            "worlds": int(n_worlds), "duration_s": float(duration_s),
            "difficulty": float(difficulty), "window_s": float(window_s), "hop_s": float(hop_s),
            "events": list(EVENTS), "captions": {e: list(CAPTIONS[e]) for e in EVENTS},
            "sample_captions": captions, "preprocess": pre.to_dict()}
    return ArrayDataset(arrays, meta)


def concat(parts: Sequence[ArrayDataset], keys: Sequence[str]) -> ArrayDataset:
    """Rows of several datasets (the given keys), metadata of the first plus the parts' sources."""
    arrays = {k: np.concatenate([np.asarray(p.arrays[k]) for p in parts]) for k in keys}
    meta = dict(parts[0].meta)
    meta["parts"] = [{"source": p.meta.get("source"), "rows": len(p)} for p in parts]
    return ArrayDataset(arrays, meta)


def build_world_cache(folder: str | os.PathLike, n_worlds: int, seed: int, *,
                      scenario: str = "default", duration_s: float = 60.0,
                      difficulty: float = 1.0, window_s: float = 2.0, hop_s: float = 1.0,
                      workers: int = 2, show_progress: bool = True) -> Path:
    """:func:`world_windows` into a cache folder (reused when it already matches)."""
    want = {"scenario": scenario, "seed": int(seed), "worlds": int(n_worlds),
            "duration_s": float(duration_s), "difficulty": float(difficulty),
            "window_s": float(window_s), "hop_s": float(hop_s),
            "preprocess": train_preprocess(window_s).to_dict()}
    return cached(folder, want,
                  lambda progress: world_windows(
                      n_worlds, seed, scenario=scenario, duration_s=duration_s,
                      difficulty=difficulty, window_s=window_s, hop_s=hop_s, workers=workers,
                      progress=progress),
                  total=n_worlds, desc=f"stream sim worlds (seed {seed})", unit="world",
                  show_progress=show_progress)
