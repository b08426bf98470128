"""Clean-room PyTorch ImageBind towers (torch only; the device side never imports this).

``build`` makes a fresh model from a preset, config or reference kwargs; ``load_checkpoint`` loads
an ImageBind-layout checkpoint (the official ``imagebind_huge.pth`` loads strictly) for all or
some towers. Text hubs (``build_text_tower``, ``with_text_hub``): pretrained sentence encoders
such as all-MiniLM-L6-v2 as the frozen text side of a space (see ``text_hubs``).
"""
try:
    import torch  # noqa: F401
except ModuleNotFoundError as err:  # the device side runs without torch
    raise ModuleNotFoundError("edgebind.models needs PyTorch; install it with "
                              "`pip install 'edgebind[train]'` (or the `export` extra)") from err

from edgebind.models.checkpoint import (  # noqa: E402
    CheckpointError,
    CheckpointNotFoundError,
    infer_config,
    load_checkpoint,
    read_state_dict,
    torch_load,
)
from edgebind.models.config import PRESETS, ImageBindConfig, resolve_config  # noqa: E402
from edgebind.models.imagebind import ImageBindModel, build  # noqa: E402
from edgebind.models.text_hubs import (  # noqa: E402
    DEFAULT_TEXT_HUB,
    TEXT_HUBS,
    HubModel,
    TextHub,
    TextHubError,
    TextHubTower,
    build_text_tower,
    get_text_hub,
    register_text_hub,
    with_text_hub,
)

__all__ = [
    "DEFAULT_TEXT_HUB",
    "PRESETS",
    "TEXT_HUBS",
    "HubModel",
    "TextHub",
    "TextHubError",
    "TextHubTower",
    "build_text_tower",
    "get_text_hub",
    "register_text_hub",
    "with_text_hub",
    "CheckpointError",
    "CheckpointNotFoundError",
    "ImageBindConfig",
    "ImageBindModel",
    "build",
    "infer_config",
    "load_checkpoint",
    "read_state_dict",
    "resolve_config",
    "torch_load",
]
