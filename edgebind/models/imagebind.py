"""The ImageBind model: per-modality preprocessor -> trunk -> head -> postprocessor, and ``build``.

Semantics follow the reference forward: inputs with a clip axis (audio (B,S,1,128,204), video
(B,S,3,T,H,W), depth/thermal (B,S,1,224,224)) are embedded per clip and averaged *after*
normalisation and scaling, without re-normalising.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn

from edgebind.modality import MODALITIES, check_modality
from edgebind.models.config import ImageBindConfig, resolve_config
from edgebind.models.heads import build_head, build_postprocessor
from edgebind.models.stems import build_preprocessor
from edgebind.models.transformer import Trunk, init_weights

# Towers whose attention has the learned extra K/V token.
BIAS_KV = frozenset({"audio", "depth", "thermal", "imu"})


class ImageBindModel(nn.Module):
    """ImageBind towers for ``modalities`` (default all six); state-dict keys equal upstream's."""

    def __init__(self, config: ImageBindConfig | None = None,
                 modalities: Iterable[str] | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ImageBindConfig()
        chosen = set(MODALITIES if modalities is None else (check_modality(m) for m in modalities))
        # Canonical order, so state_dict() lists keys in the reference order.
        self.modalities: tuple[str, ...] = tuple(m for m in MODALITIES if m in chosen)
        cfg = self.config
        self.modality_preprocessors = nn.ModuleDict(
            {m: build_preprocessor(m, cfg) for m in self.modalities})
        self.modality_trunks = nn.ModuleDict({
            m: Trunk(cfg.embed_dim(m), cfg.num_blocks(m), cfg.num_heads(m), m in BIAS_KV,
                     drop_path=cfg.drop_path(m), pre_norm=(m == "vision"))
            for m in self.modalities})
        self.modality_heads = nn.ModuleDict({m: build_head(m, cfg) for m in self.modalities})
        self.modality_postprocessors = nn.ModuleDict(
            {m: build_postprocessor(m) for m in self.modalities})
        self.modality_trunks.apply(init_weights)
        self.modality_heads.apply(init_weights)

    @property
    def embed_dim(self) -> int:
        return self.config.out_embed_dim

    def embed(self, modality: str, x: Tensor) -> Tensor:
        """Embed one modality's batch: (B, out_embed_dim)."""
        if modality not in self.modality_preprocessors:
            raise ValueError(f"modality {modality!r} is not in this model; it has "
                             f"{', '.join(self.modalities) or 'no towers'}")
        pre = self.modality_preprocessors[modality]
        clips = pre.check(x)
        weight_dtype = next(pre.parameters()).dtype
        if x.is_floating_point() and x.dtype != weight_dtype:
            raise ValueError(f"{modality} input is {x.dtype} but the model weights are "
                             f"{weight_dtype}; cast the input with .to({weight_dtype})")
        if clips:
            num_clips = x.shape[1]
            x = x.reshape((-1,) + tuple(x.shape[2:]))
        tokens, attn_mask, seq_len = pre(x)
        y = self.modality_trunks[modality](tokens, attn_mask)
        y = self.modality_heads[modality](y, seq_len)
        y = self.modality_postprocessors[modality](y)
        if clips:
            y = y.reshape(-1, num_clips, y.shape[-1]).mean(dim=1)
        return y

    def forward(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        unknown = [k for k in inputs if k not in self.modality_preprocessors]
        if unknown:
            raise ValueError(f"inputs {unknown} have no tower in this model; it has "
                             f"{', '.join(self.modalities) or 'no towers'}")
        return {m: self.embed(m, x) for m, x in inputs.items()}


def build(config: str | ImageBindConfig | Mapping[str, Any] = "imagebind_huge",
          modalities: Iterable[str] | None = None,
          device: str | torch.device | None = None,
          dtype: torch.dtype | None = None) -> ImageBindModel:
    """A fresh (randomly initialised) model in eval mode.

    ``config``: a preset name (see ``PRESETS``), an ``ImageBindConfig``, or reference constructor
    kwargs. ``modalities`` builds only those towers. ``device="meta"`` allocates nothing.
    """
    cfg = resolve_config(config)
    with torch.device(device) if device is not None else contextlib.nullcontext():
        model = ImageBindModel(cfg, modalities)
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval()
