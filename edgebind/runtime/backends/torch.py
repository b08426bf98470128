"""Torch backend: the reference tower in eager PyTorch (workstation only, never on the device).

Runs a bundle's ``torch`` variant: a state dict of one tower saved with ``torch.save``, built
with ``edgebind.models`` from the manifest's model config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgebind.runtime.encoder import Encoder
from edgebind.runtime.manifest import TensorSpec


def available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class TorchEncoder(Encoder):
    backend = "torch"

    def __init__(self, path: Path, modality: str, precision: str, input_spec: TensorSpec,
                 output_spec: TensorSpec, space_id: str, threads: int | None = None,
                 model_config: dict[str, Any] | None = None, model=None):
        super().__init__(modality, precision, input_spec, output_spec, space_id)
        import torch
        from edgebind import models
        if threads:
            torch.set_num_threads(threads)
        if model is None:
            if not model_config:
                raise ValueError("the torch backend needs the manifest's model.config")
            model = models.load_checkpoint(str(path), config=model_config, modalities=[modality])
        self.model = model.eval()
        self._torch = torch

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return run_tower(self._torch, self.model, self.modality, batch)


def run_tower(torch: Any, model: Any, modality: str, batch: np.ndarray) -> np.ndarray:
    """One batch through a torch tower (an ``edgebind.models`` model) -> float32 numpy: the one
    place torch towers run, for this backend and ``Embedder``'s torch mode alike."""
    with torch.inference_mode():
        y = model({modality: torch.from_numpy(np.ascontiguousarray(batch))})[modality]
    return y.float().numpy()
