"""Training (torch, workstation side): bind a sensor's tower to the space through a frozen hub
tower (ImageBind's recipe), distil a big tower into a small one, LoRA adapters, DDP via torchrun,
and the recipe of the default tiny model (``python -m edgebind.train.default``).

Attributes load lazily so ``edgebind --help`` (which imports the CLI module) stays torch-free.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "info_nce": "losses", "distill_loss": "losses", "Temperature": "losses",
    "add_lora": "lora", "lora_parameters": "lora", "merge_lora": "lora",
    "ArrayDataset": "data", "load_cache": "data", "save_cache": "data",
    "BindTask": "tasks", "DistillTask": "tasks", "agreement": "tasks",
    "TrainConfig": "loop", "TrainResult": "loop", "fit": "loop",
    "MetricsLog": "metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"edgebind.train.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'edgebind.train' has no attribute {name!r}")
