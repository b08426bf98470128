"""Heads (trunk tokens -> one projected vector) and postprocessors (normalise, scale).

Index-named ``nn.Sequential`` layouts reproduce the reference keys: ``heads.<m>.0`` LayerNorm and
``.2`` Linear, ``heads.imu.3`` (a Dropout sits before it), ``heads.text.proj.{0,1}``, and
``postprocessors.<m>.1.log_logit_scale``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgebind.models.config import ImageBindConfig
from edgebind.models.transformer import LN_EPS

# Fixed output scales of the non-vision, non-text towers (buffers; checkpoints carry them).
FIXED_LOGIT_SCALES = {"audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}
LOGIT_SCALE_MAX = 100.0


class SelectToken(nn.Module):
    def __init__(self, index: int = 0) -> None:
        super().__init__()
        self.index = index

    def forward(self, x: Tensor) -> Tensor:
        return x[:, self.index]


class ClsHead(nn.Sequential):
    """LayerNorm -> token 0 -> [Dropout] -> Linear. ``seq_len`` is ignored."""

    def forward(self, x: Tensor, seq_len: Tensor | None = None) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x)
        return x


class EotHead(nn.Module):
    """Text: pick the EOT token per row, *then* LayerNorm -> Linear (``proj.0``, ``proj.1``)."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(dim, eps=LN_EPS), nn.Linear(dim, out_dim, bias=False))

    def forward(self, x: Tensor, seq_len: Tensor | None = None) -> Tensor:
        if seq_len is None:
            raise ValueError("the text head needs the EOT positions (seq_len)")
        # gather rather than x[arange(B), seq_len]: same values, no baked batch size.
        index = seq_len.reshape(-1, 1, 1).expand(-1, 1, x.shape[-1])
        return self.proj(x.gather(1, index).squeeze(1))


def build_head(modality: str, cfg: ImageBindConfig) -> nn.Module:
    dim, out = cfg.embed_dim(modality), cfg.out_embed_dim
    if modality == "text":
        return EotHead(dim, out)
    # Every head projection is bias-free (no head bias keys in the reference checkpoint).
    norm, proj = nn.LayerNorm(dim, eps=LN_EPS), nn.Linear(dim, out, bias=False)
    if modality == "imu":
        return ClsHead(norm, SelectToken(0), nn.Dropout(0.5), proj)
    return ClsHead(norm, SelectToken(0), proj)


class Normalize(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(x, dim=-1, p=2)


class LogitScale(nn.Module):
    """Multiply by ``min(exp(log_logit_scale), 100)``.

    Learnable (text) -> a parameter; fixed (audio, depth, thermal, imu) -> a persistent buffer.
    """

    def __init__(self, init: float, learnable: bool) -> None:
        super().__init__()
        value = torch.tensor(math.log(init), dtype=torch.float32)
        if learnable:
            self.log_logit_scale = nn.Parameter(value)
        else:
            self.register_buffer("log_logit_scale", value)
        self.learnable = learnable

    def forward(self, x: Tensor) -> Tensor:
        return torch.clamp(self.log_logit_scale.exp(), max=LOGIT_SCALE_MAX) * x

    def extra_repr(self) -> str:
        return f"learnable={self.learnable}"


def build_postprocessor(modality: str) -> nn.Module:
    if modality == "vision":
        return Normalize()
    if modality == "text":
        return nn.Sequential(Normalize(), LogitScale(1 / 0.07, learnable=True))
    return nn.Sequential(Normalize(), LogitScale(FIXED_LOGIT_SCALES[modality], learnable=False))
