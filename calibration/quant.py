"""The INT8 calibration set for the export toolchain, drawn from this robot's recordings: the
windows the daemon would embed (window assembler, profile applied), preprocessed exactly as the
bundle preprocesses, spread evenly over the recordings.

Output: the folder format ``edgebind.export.calibration_data.from_folder`` reads:
``DIR/<modality>.npy`` (N, *model input shape) float32, plus ``calibration_set.json`` saying
where it came from. Use it as ``edgebind export ... --calibration DIR``.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from edgebind.profile import Profile

from edgebind.calibration.report import Check, Result, progress

HELP = "quant: INT8 calibration set for the export toolchain, from recordings"
WINDOWED = ("vision", "audio", "depth", "thermal", "imu")


def preprocess_config(bundle: Path | None):
    """The bundle's preprocessing (its manifest), else the default bundle's, else defaults."""
    from edgebind.preprocess import PreprocessConfig
    from edgebind.runtime.manifest import Manifest
    if bundle is None:
        try:
            from edgebind.assets import default_bundle_path
            bundle = default_bundle_path()
        except (ImportError, FileNotFoundError):
            return PreprocessConfig()
    return PreprocessConfig.from_dict(Manifest.read(Path(bundle) / "manifest.json").preprocess)


def recording_inputs(recordings: Sequence[str | os.PathLike], modalities: Iterable[str] | None = None,
                     count: int = 64, profile: Profile | None = None, preprocess=None,
                     hop_s: float = 0.5, show: bool = False) -> dict[str, np.ndarray]:
    """Model-ready inputs {modality: (N, ...)} from up to ``count`` windows per modality, spread
    evenly over ``recordings``."""
    from edgebind.embedder import window_input
    from edgebind.preprocess import PreprocessConfig
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    pre = preprocess or PreprocessConfig()
    want = set(modalities) if modalities is not None else None
    if want is not None and want - set(WINDOWED):
        raise ValueError(f"quant draws {', '.join(WINDOWED)} from recordings; not "
                         f"{sorted(want - set(WINDOWED))}")
    # An even stride over the estimated window count, without holding every window.
    stride = max(1, max(1, int(_seconds(recordings) / hop_s)) // count)
    out: dict[str, list[np.ndarray]] = {}
    for k, ws in enumerate(_window_sets(recordings, want, pre, hop_s, profile, show)):
        if k % stride:
            continue
        for m, w in ws.windows.items():
            if len(out.get(m, ())) < count:
                # The embedder's own window preprocessing, without loading any model; audio as
                # the reference's 3-clip input (no folding).
                out.setdefault(m, []).append(window_input(m, w, pre, fold_audio_clips=False)[0])
    if not out:
        raise ValueError(f"no windows of {', '.join(sorted(want or WINDOWED))} in "
                         f"{', '.join(map(str, recordings))}")
    return {m: np.stack(v).astype(np.float32) for m, v in out.items()}


def _seconds(recordings: Sequence[str | os.PathLike]) -> float:
    """The recordings' summed spans (first to last sample over all channels)."""
    from edgebind.record import open_recording
    total = 0.0
    for r in recordings:
        with open_recording(r) as rep:
            ch = [c for c in rep.summary().channels.values() if c.first_t_ns is not None]
            if ch:
                total += (max(c.last_t_ns for c in ch) - min(c.first_t_ns for c in ch)) / 1e9
    return total


def _window_sets(recordings: Sequence[str | os.PathLike], want: set[str] | None, pre,
                 hop_s: float, profile: Profile | None, show: bool) -> Iterator:
    """Every WindowSet the daemon's assembler makes of each recording, the profile's
    corrections applied (edgebind.profile.apply, as at run time)."""
    from edgebind.record import open_recording
    from edgebind.sensors.windows import WindowAssembler
    for r in recordings:
        with open_recording(r) as rep:
            infos = [i for i in rep.streams.values() if i.modality in WINDOWED
                     and (want is None or i.modality in want)]
            if not infos:
                continue
            kwargs = dict(window_s={"audio": float(pre.audio.clip_duration),
                                    "imu": float(pre.imu.window_s)},
                          hop_s=hop_s, imu_rows=int(pre.imu.n_samples))
            asm = WindowAssembler.from_profile(infos, profile, **kwargs) if profile \
                else WindowAssembler(infos, **kwargs)
            names = {i.stream for i in infos}
            samples = rep.samples()
            for s in progress(samples, rep.summary().message_count, f"windows {Path(r).name}", show):
                if s.stream in names:
                    asm.push(s)
                    yield from asm.poll(s.t_ns)
            yield from asm.flush()


def write_folder(inputs: dict[str, np.ndarray], folder: Path, sources: Sequence[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for m, a in inputs.items():
        np.save(folder / f"{m}.npy", a, allow_pickle=False)
    (folder / "calibration_set.json").write_text(json.dumps(
        {"format": "edgebind.calibration_set/1", "recordings": list(sources),
         "samples": {m: int(len(a)) for m, a in inputs.items()},
         "shapes": {m: list(a.shape[1:]) for m, a in inputs.items()}}, indent=2) + "\n")
    return folder


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=False,
                   help="folder to write (default: <profile stem>_int8_calibration beside the profile)")
    p.add_argument("--count", type=int, default=64, help="samples per modality (default 64)")
    p.add_argument("--modalities", nargs="+", choices=WINDOWED,
                   help="modalities to draw (default: every one the recordings have)")
    p.add_argument("--bundle", type=Path,
                   help="bundle whose preprocessing to use (default: the packaged one)")
    p.add_argument("--hop", type=float, default=0.5, help="window hop in seconds (default 0.5)")


def run(args: argparse.Namespace, profile: Profile) -> Result:
    if not args.recording:
        raise ValueError("quant needs one or more --recording FILE.mcap")
    out = args.out or Path(args.profile).with_name(Path(args.profile).stem + "_int8_calibration")
    pre = preprocess_config(args.bundle)
    inputs = recording_inputs(args.recording, args.modalities, args.count, profile, pre,
                              args.hop, args.progress)
    write_folder(inputs, out, [str(r) for r in args.recording])
    res = Result("quant")
    res.estimates.update({"folder": str(out), "samples": {m: len(a) for m, a in inputs.items()}})
    for m, a in inputs.items():
        res.checks.append(Check(f"{m} samples", len(a), min(args.count, 32), ">="))
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{m} calibration inputs contain NaN/inf; check the recording")
    profile.quant = {"folder": str(out), "recordings": [str(r) for r in args.recording],
                     "samples": {m: int(len(a)) for m, a in inputs.items()},
                     "hop_s": args.hop}
    res.notes.append(f"export with: edgebind export ... --calibration {out}")
    return res
