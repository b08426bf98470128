"""Model-ready datasets rendered from the simulated world (``edgebind.sim.sample_clip``).

Torch-free: the evaluation (``edgebind eval``) renders its held-out set with the same code.
Each sample is one ``window_s`` window: the camera/depth/thermal frame at its end, the audio and
IMU of the whole window, the caption (token ids), the primary event and every event active in it.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from edgebind.preprocess import PreprocessConfig
from edgebind.train.data import ArrayDataset, save_cache

SENSOR_KEYS = ("vision", "audio", "depth", "thermal", "imu")


# Input scaling of the default model, from the simulated world's statistics. Both towers'
# stems end in a per-token LayerNorm, which erases a token's overall level: thermal frames
# (0.60 +- 0.09 after the fixed 253-323 K mapping) and IMU rows (gravity 9.8 m/s^2 on z against
# motion of ~0.05 m/s^2 and ~0.003 rad/s) would give every window the same tokens, and the towers
# collapse to one embedding. Centring thermal and rebalancing the IMU channels fixes that.
THERMAL_MEAN_STD = (0.60, 0.09)
IMU_SCALE = (20.0, 20.0, 0.1, 300.0, 300.0, 300.0)


def train_preprocess(window_s: float = 2.0) -> PreprocessConfig:
    """The default model's preprocessing: audio and IMU windows of ``window_s``, thermal centred,
    IMU channels rebalanced (ImageBind's defaults otherwise). Audio keeps 3 clips for the bundle's
    input shape; on a 2 s window they are one clip three times, which the model averages to the
    single-clip embedding."""
    base = PreprocessConfig()
    return dataclasses.replace(
        base,
        audio=dataclasses.replace(base.audio, clip_duration=float(window_s)),
        thermal=dataclasses.replace(base.thermal, mean=THERMAL_MEAN_STD[0],
                                    std=THERMAL_MEAN_STD[1]),
        imu=dataclasses.replace(base.imu, window_s=float(window_s), scale=IMU_SCALE))


def clip_inputs(clip: Any, pre: PreprocessConfig) -> dict[str, np.ndarray]:
    """One sim Clip -> model-ready arrays (audio as ONE clip (1, 128, 204))."""
    from edgebind import preprocess as pp

    one_clip = dataclasses.replace(pre.audio, clips_per_video=1)
    return {
        "vision": pp.image(clip.vision, pre.vision),
        "audio": pp.audio(np.asarray(clip.audio, dtype=np.float32), 16000, params=one_clip)[0],
        "depth": pp.depth(clip.depth, pre.depth),
        "thermal": pp.thermal(clip.thermal, pre.thermal),
        "imu": pp.imu(clip.imu, clip.imu_t_ns, params=pre.imu),
    }


def event_schedule(n: int, events: Sequence[str], rng: np.random.Generator) -> list[str]:
    """A class-balanced, shuffled list of ``n`` event names."""
    reps = -(-n // len(events))
    names = (list(events) * reps)[:n]
    rng.shuffle(names)
    return names


def _one(args: tuple[int, int, str, float, float, dict]) -> tuple[dict[str, np.ndarray], str, str, tuple[str, ...]]:
    """Render and preprocess window ``i`` (its own generator: results do not depend on workers)."""
    from edgebind.sim import sample_clip

    seed, i, name, difficulty, window_s, pre_dict = args
    rng = np.random.default_rng([seed, i])
    clip = sample_clip(rng, name, window_s=window_s, difficulty=difficulty)
    return clip_inputs(clip, PreprocessConfig.from_dict(pre_dict)), clip.event, clip.caption, \
        tuple(clip.events)


def render(n: int, seed: int, *, pre: PreprocessConfig | None = None, difficulty: float = 1.0,
           window_s: float = 2.0, keys: Sequence[str] = SENSOR_KEYS, dtype: Any = np.float16,
           workers: int = 1, progress: Callable[[int], None] | None = None) -> ArrayDataset:
    """``n`` class-balanced sim windows as model inputs; window i is drawn from
    ``np.random.default_rng([seed, i])``, so any number of ``workers`` gives the same arrays.

    Arrays: the sensor ``keys``, ``text`` (N, 77) int32 caption tokens, ``label`` (N,) int16
    primary event, ``events`` (N, E) bool active events. ``meta`` lists events and captions.
    """
    from edgebind.preprocess import tokenize
    from edgebind.sim import CAPTIONS, EVENTS

    if n < 1:
        raise ValueError(f"render: n must be >= 1, got {n}")
    pre = pre or train_preprocess(window_s)
    names = event_schedule(n, EVENTS, np.random.default_rng([seed, 2**31]))
    jobs = [(seed, i, name, float(difficulty), float(window_s), pre.to_dict())
            for i, name in enumerate(names)]
    arrays: dict[str, np.ndarray] = {}
    captions: list[str] = []
    label = np.zeros(n, np.int16)
    active = np.zeros((n, len(EVENTS)), bool)
    token_cache: dict[str, np.ndarray] = {}

    def results():
        if workers <= 1:
            yield from map(_one, jobs)
            return
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_one, jobs, chunksize=8)

    for i, (x, event, caption, events) in enumerate(results()):
        for k in keys:
            if k not in arrays:
                arrays[k] = np.empty((n, *x[k].shape), dtype)
            arrays[k][i] = x[k]
        captions.append(caption)
        if caption not in token_cache:
            token_cache[caption] = tokenize(caption)[0].astype(np.int32)
        label[i] = EVENTS.index(event)
        for e in events:
            active[i, EVENTS.index(e)] = True
        active[i, label[i]] = True
        if progress is not None:
            progress(i + 1)
    arrays["text"] = np.stack([token_cache[c] for c in captions])
    arrays["label"] = label
    arrays["events"] = active
    meta = {"source": "sim", "seed": int(seed), "difficulty": float(difficulty),
            "window_s": float(window_s), "events": list(EVENTS),
            "captions": {e: list(CAPTIONS[e]) for e in EVENTS}, "sample_captions": captions,
            "preprocess": pre.to_dict()}
    return ArrayDataset(arrays, meta)


def cached(folder: str | os.PathLike, want: dict[str, Any],
           build: Callable[[Callable[[int], None] | None], ArrayDataset], *, total: int,
           desc: str, unit: str, show_progress: bool = True) -> Path:
    """``folder`` when its cache metadata matches ``want``; otherwise ``build(progress)`` is
    saved there, with a progress bar over ``total`` when asked (and tqdm is installed)."""
    import json

    from edgebind.train.data import META, load_cache
    folder = Path(folder)
    if (folder / META).is_file():
        meta = json.loads((folder / META).read_text())
        if all(meta.get(k) == v for k, v in want.items()):
            load_cache(folder)  # validates
            return folder
    from edgebind.progress import Counter
    with Counter(total, desc, unit, enabled=show_progress) as bar:
        ds = build(lambda i: bar.update())
    return save_cache(folder, ds.arrays, ds.meta)


def build_cache(folder: str | os.PathLike, n: int, seed: int, *, difficulty: float = 1.0,
                window_s: float = 2.0, workers: int = 2, show_progress: bool = True) -> Path:
    """Render ``n`` windows into a cache folder (reused when it already matches)."""
    want = {"seed": int(seed), "difficulty": float(difficulty), "window_s": float(window_s),
            "size": int(n), "preprocess": train_preprocess(window_s).to_dict()}
    return cached(folder, want,
                  lambda progress: render(n, seed, difficulty=difficulty, window_s=window_s,
                                          workers=workers, progress=progress),
                  total=n, desc=f"render sim (seed {seed})", unit="clip",
                  show_progress=show_progress)
