"""Fixtures for the model tests: the parity reference model, its inputs and outputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebind.models import ImageBindModel, load_checkpoint


@pytest.fixture(scope="session")
def parity_config(parity_dir: Path) -> dict:
    return json.loads((parity_dir / "config.json").read_text())["ctor_kwargs_full"]


@pytest.fixture(scope="session")
def parity_model(parity_dir: Path, parity_config: dict) -> ImageBindModel:
    """The reference parity configuration with its weights, float32, eval mode."""
    return load_checkpoint(parity_dir / "state_dict.pt", config=parity_config)


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return dict(f)


@pytest.fixture(scope="session")
def parity_inputs(parity_dir: Path) -> dict[str, torch.Tensor]:
    """All six modality inputs plus ``vision_video`` and ``vision_280``."""
    arrays = _load(parity_dir / "inputs.npz") | _load(parity_dir / "inputs_extra.npz")
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


@pytest.fixture(scope="session")
def outputs32(parity_dir: Path) -> dict[str, np.ndarray]:
    return _load(parity_dir / "outputs.npz")


@pytest.fixture(scope="session")
def outputs64(parity_dir: Path) -> dict[str, np.ndarray]:
    return _load(parity_dir / "outputs_float64.npz")


@pytest.fixture(scope="session")
def intermediates(parity_dir: Path) -> dict[str, np.ndarray]:
    return _load(parity_dir / "intermediates.npz")


def case_input(name: str, inputs: dict[str, torch.Tensor]) -> tuple[str, torch.Tensor]:
    """Parity case name -> (modality, input): ``vision_video``/``vision_280`` feed vision."""
    return ("vision" if name.startswith("vision") else name), inputs[name]
