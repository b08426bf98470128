"""Where INT8 calibration and held-out accuracy inputs come from.

Sources (recorded in the manifest as given):
- ``generated[:SEED]``: random model inputs of the right shape (text: random token sequences).
  Fine for plumbing and benchmarks; real data calibrates better.
- ``FILE.mcap``: a recording; windows cut and preprocessed as the daemon would
  (``edgebind-calibrate quant`` writes the same as a folder).
- a folder: ``DIR/<modality>.npy`` or ``DIR/<modality>/*.npy`` holding model-ready inputs, each
  file one sample or a batch (N, ...), or ``DIR/*.npz`` with one key per modality.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgebind.runtime.sample_inputs import example_input
from edgebind.modality import INPUT_SPECS


@dataclass(frozen=True)
class CalibrationSet:
    source: str
    calibration: list[np.ndarray]  # batches for the quantizer
    held_out: np.ndarray           # one batch for accuracy reports, never used to calibrate


def generated(modality: str, n_calib: int = 32, n_held_out: int = 32, batch: int = 8,
              seed: int = 0) -> CalibrationSet:
    calib = [example_input(modality, batch, seed=seed * 1000 + i)
             for i in range(max(1, n_calib // batch))]
    held = example_input(modality, n_held_out, seed=seed * 1000 + 999)
    return CalibrationSet(f"generated:{seed}", calib, held)


def from_folder(folder: Path, modality: str, batch: int = 8,
                held_out_fraction: float = 0.25) -> CalibrationSet:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration folder {folder} does not exist")
    arrays = []
    for f in sorted([folder / f"{modality}.npy", *sorted((folder / modality).glob("*.npy"))]):
        if f.is_file():
            arrays.append(np.load(f, allow_pickle=False))
    for f in sorted(folder.glob("*.npz")):
        with np.load(f, allow_pickle=False) as z:
            if modality in z.files:
                arrays.append(z[modality])
    spec = INPUT_SPECS[modality]
    samples = []
    for a in arrays:
        a = a[None] if a.ndim == len(spec.shape) else a
        if a.shape[1:] != spec.shape:
            raise ValueError(f"calibration data for {modality} in {folder}: expected samples of "
                             f"shape {spec.shape}, found {a.shape[1:]}")
        samples.append(a.astype(spec.dtype, copy=False))
    if not samples:
        raise ValueError(f"calibration folder {folder} has no {modality} samples (looked for "
                         f"{modality}.npy, {modality}/*.npy and *.npz with a {modality!r} key)")
    return _split(np.concatenate(samples), f"folder:{folder}", modality, batch,
                  held_out_fraction)


def from_recording(path: Path, modality: str, batch: int = 8, count: int = 64,
                   held_out_fraction: float = 0.25) -> CalibrationSet:
    """Windows of a recording, as the daemon would cut them (edgebind.calibration.quant)."""
    from edgebind.calibration.quant import preprocess_config, recording_inputs
    data = recording_inputs([path], [modality], count=count, preprocess=preprocess_config(None))
    if modality not in data:
        raise ValueError(f"recording {path} has no {modality} stream to calibrate with")
    return _split(data[modality], f"recording:{path}", modality, batch, held_out_fraction)


def _split(data: np.ndarray, source: str, modality: str, batch: int,
           held_out_fraction: float) -> CalibrationSet:
    if len(data) < 4:
        raise ValueError(f"calibration {source}: only {len(data)} {modality} samples; "
                         "need at least 4 (some are held out for the accuracy report)")
    n_held = max(2, int(round(len(data) * held_out_fraction)))
    held, calib = data[:n_held], data[n_held:]
    batches = [calib[i:i + batch] for i in range(0, len(calib), batch)]
    return CalibrationSet(source, batches, held)


def resolve(source: str | None, modality: str, seed: int = 0) -> CalibrationSet:
    if source is None or source == "generated":
        return generated(modality, seed=seed)
    if source.startswith("generated:"):
        return generated(modality, seed=int(source.split(":", 1)[1]))
    if source.endswith(".mcap"):
        return from_recording(Path(source), modality)
    return from_folder(Path(source), modality)
