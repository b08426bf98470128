"""The shared ImageBind trunk: pre-norm transformer blocks with optional learned bias K/V.

Batch-first throughout. Parameter names equal those of the reference (which uses
``nn.MultiheadAttention``), so checkpoints load strictly. Shapes are taken from tensors at run
time (never baked in) so that exported graphs keep a dynamic batch dimension.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LN_EPS = 1e-6  # every trunk and head LayerNorm; stems use the torch default 1e-5

# Note: normal_ on "meta" tensors imports torch's Python meta kernels (~1 s); init code skips it
# there so that meta builds (checkpoint loading) stay instant.


class Attention(nn.Module):
    """Multi-head self-attention with a packed q/k/v projection.

    ``add_bias_kv`` appends one learned key/value token *after* the in-projection (as
    ``nn.MultiheadAttention(add_bias_kv=True)`` does); an attention mask then gets a zero column.
    """

    def __init__(self, dim: int, num_heads: int, add_bias_kv: bool = False) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.dim, self.num_heads = dim, num_heads
        self.head_dim = dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * dim))
        if add_bias_kv:
            self.bias_k = nn.Parameter(torch.empty(1, 1, dim))
            self.bias_v = nn.Parameter(torch.empty(1, 1, dim))
        else:
            self.bias_k = self.bias_v = None
        self.out_proj = nn.Linear(dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)
        if self.bias_k is not None and not self.bias_k.is_meta:
            nn.init.xavier_normal_(self.bias_k)
            nn.init.xavier_normal_(self.bias_v)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        batch = x.shape[0]
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        if self.bias_k is not None:
            k = torch.cat([k, self.bias_k.expand(batch, -1, -1)], dim=1)
            v = torch.cat([v, self.bias_v.expand(batch, -1, -1)], dim=1)
            if attn_mask is not None:
                attn_mask = F.pad(attn_mask, (0, 1))
        # (B, L, D) -> (B, H, L, hd)
        q, k, v = (t.reshape(batch, -1, self.num_heads, self.head_dim).transpose(1, 2)
                   for t in (q, k, v))
        if attn_mask is not None:
            attn_mask = attn_mask.to(q.dtype)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out_proj(o.transpose(1, 2).reshape(batch, -1, self.dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf, as the reference
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth per sample; identity in eval mode or at rate 0."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """Pre-norm block: x + attn(norm_1(x)); x + mlp(norm_2(x)). No layer scale."""

    def __init__(self, dim: int, num_heads: int, add_bias_kv: bool, drop_path: float = 0.0,
                 mlp_ratio: int = 4) -> None:
        super().__init__()
        self.attn = Attention(dim, num_heads, add_bias_kv)
        self.drop_path = DropPath(drop_path)
        self.norm_1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, mlp_ratio * dim)
        self.norm_2 = nn.LayerNorm(dim, eps=LN_EPS)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm_1(x), attn_mask))
        return x + self.drop_path(self.mlp(self.norm_2(x)))


class Trunk(nn.Module):
    """Optional pre-LayerNorm (vision only, key ``pre_transformer_layer.0``) then the blocks.

    There is no final LayerNorm: it lives in the head, as in the reference.
    """

    def __init__(self, dim: int, depth: int, num_heads: int, add_bias_kv: bool,
                 drop_path: float = 0.0, pre_norm: bool = False) -> None:
        super().__init__()
        self.pre_transformer_layer = (nn.Sequential(nn.LayerNorm(dim, eps=LN_EPS)) if pre_norm
                                      else nn.Identity())
        rates = torch.linspace(0, drop_path, depth, device="cpu").tolist() if depth else []
        self.blocks = nn.ModuleList(Block(dim, num_heads, add_bias_kv, r) for r in rates)

    def forward(self, tokens: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        x = self.pre_transformer_layer(tokens)
        for block in self.blocks:
            x = block(x, attn_mask)
        return x


def init_weights(module: nn.Module) -> None:
    """Fresh-model init for linear/LayerNorm layers (checkpoints overwrite it)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


__all__ = ["Attention", "Block", "DropPath", "LN_EPS", "Mlp", "Trunk", "init_weights"]
