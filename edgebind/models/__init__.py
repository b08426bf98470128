"""Clean-room PyTorch ImageBind towers (torch only; the device side never imports this).

``build`` makes a fresh model from a preset, config or reference kwargs; ``load_checkpoint`` loads
an ImageBind-layout checkpoint (the official ``imagebind_huge.pth`` loads strictly) for all or
some towers.
"""
from edgebind.models.checkpoint import (
    CheckpointError,
    CheckpointNotFoundError,
    infer_config,
    load_checkpoint,
    read_state_dict,
)
from edgebind.models.config import PRESETS, ImageBindConfig, resolve_config
from edgebind.models.imagebind import ImageBindModel, build

__all__ = [
    "PRESETS",
    "CheckpointError",
    "CheckpointNotFoundError",
    "ImageBindConfig",
    "ImageBindModel",
    "build",
    "infer_config",
    "load_checkpoint",
    "read_state_dict",
    "resolve_config",
]
