"""LoRA adapters on frozen towers, through ``torch.nn.utils.parametrize``.

Each chosen 2-D weight ``W`` becomes ``W + (alpha / rank) * B @ A`` with ``A`` (rank, in) random
and ``B`` (out, rank) zero, so training starts from the frozen tower exactly. Because it is a
parametrization, it covers the packed attention ``in_proj_weight`` as well as ``nn.Linear``
weights, and ``merge_lora`` bakes the adapters in for export (plain weights, no extra ops).
"""
from __future__ import annotations

import math
import re

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

DEFAULT_TARGETS = r"(in_proj_weight|out_proj\.weight|fc1\.weight|fc2\.weight)$"


class LoRADelta(nn.Module):
    def __init__(self, out_features: int, in_features: int, rank: int, alpha: float) -> None:
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(rank, in_features))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / rank

    def forward(self, weight: Tensor) -> Tensor:
        return weight + self.scaling * (self.lora_B @ self.lora_A).to(weight.dtype)


def add_lora(module: nn.Module, rank: int = 4, alpha: float = 8.0,
             targets: str = DEFAULT_TARGETS) -> list[str]:
    """Freeze every parameter of ``module`` and add adapters to the 2-D weights whose names match
    ``targets`` (a regex). Returns the adapted parameter names."""
    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    pattern = re.compile(targets)
    for p in module.parameters():
        p.requires_grad_(False)
    chosen = [(n, p) for n, p in module.named_parameters() if p.ndim == 2 and pattern.search(n)]
    if not chosen:
        raise ValueError(f"no 2-D weight in the module matches LoRA targets {targets!r}")
    for name, p in chosen:
        owner_name, _, attr = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        parametrize.register_parametrization(
            owner, attr, LoRADelta(p.shape[0], p.shape[1], rank, alpha).to(p.device))
    return [n for n, _ in chosen]


def lora_parameters(module: nn.Module) -> list[nn.Parameter]:
    return [p for n, p in module.named_parameters() if "lora_A" in n or "lora_B" in n]


def merge_lora(module: nn.Module) -> int:
    """Bake every adapter into its weight (for export). Returns how many were merged."""
    merged = 0
    for sub in list(module.modules()):
        if parametrize.is_parametrized(sub):
            for attr in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, attr, leave_parametrized=True)
                merged += 1
    return merged
