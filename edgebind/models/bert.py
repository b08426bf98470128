"""BERT encoder (clean-room) and a mean-pooled sentence encoder on top of it, for text hubs such
as all-MiniLM-L6-v2. Torch only.

Structure (post-LayerNorm BERT): token + position + token-type (always type 0) embeddings,
LayerNorm; per layer self-attention (query/key/value, heads of width hidden/heads, softmax of
scaled scores with padded keys excluded), output projection, residual, LayerNorm; feed-forward
(hidden -> intermediate, exact GELU, -> hidden), residual, LayerNorm. The sentence embedding is
the mean of the last hidden states over the attention mask, L2-normalised.

Weights load from the reference's safetensors layout (``embeddings.word_embeddings.weight``,
``encoder.layer.0.attention.self.query.weight``, ...) through an explicit key map; every
parameter must be present with its shape, and only the unused pooler and the position-id
buffer may be left over.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgebind.models.checkpoint import CheckpointError


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    intermediate: int = 1536
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12

    @classmethod
    def from_reference(cls, cfg: Mapping[str, Any]) -> "BertConfig":
        """From a reference ``config.json`` (BERT with absolute positions and GELU only)."""
        if cfg.get("hidden_act", "gelu") != "gelu" or \
                cfg.get("position_embedding_type", "absolute") != "absolute":
            raise CheckpointError(f"unsupported BERT variant: hidden_act={cfg.get('hidden_act')!r}, "
                                  f"position_embedding_type={cfg.get('position_embedding_type')!r}")
        try:
            return cls(vocab_size=int(cfg["vocab_size"]), hidden=int(cfg["hidden_size"]),
                       layers=int(cfg["num_hidden_layers"]), heads=int(cfg["num_attention_heads"]),
                       intermediate=int(cfg["intermediate_size"]),
                       max_positions=int(cfg["max_position_embeddings"]),
                       type_vocab=int(cfg.get("type_vocab_size", 2)),
                       eps=float(cfg.get("layer_norm_eps", 1e-12)))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"BERT config.json: missing or bad key ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        if c.hidden % c.heads:
            raise ValueError(f"hidden {c.hidden} is not a multiple of heads {c.heads}")
        self.heads = c.heads
        self.q = nn.Linear(c.hidden, c.hidden)
        self.k = nn.Linear(c.hidden, c.hidden)
        self.v = nn.Linear(c.hidden, c.hidden)
        self.attn_out = nn.Linear(c.hidden, c.hidden)
        self.attn_norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.ffn_in = nn.Linear(c.hidden, c.intermediate)
        self.ffn_out = nn.Linear(c.intermediate, c.hidden)
        self.ffn_norm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        """x: (B, L, H); keep: bool (B, 1, 1, L), True for keys that may be attended."""
        b, n, h = x.shape
        d = h // self.heads

        def split(t: Tensor) -> Tensor:
            return t.reshape(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        # Padded keys get -inf, so they weigh exactly 0; [CLS] is never padded, so no row is
        # all -inf.
        scores = scores.masked_fill(~keep, float("-inf"))
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class BertModel(nn.Module):
    """Token ids and attention mask in, last hidden states (B, L, hidden) out."""

    def __init__(self, config: BertConfig | None = None):
        super().__init__()
        c = self.config = config or BertConfig()
        self.word = nn.Embedding(c.vocab_size, c.hidden)
        self.position = nn.Embedding(c.max_positions, c.hidden)
        self.token_type = nn.Embedding(c.type_vocab, c.hidden)
        self.norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.layers))

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        n = ids.shape[1]
        x = self.word(ids) + self.position.weight[:n] + self.token_type.weight[0]
        x = self.norm(x)
        keep = (mask != 0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, keep)
        return x


class SentenceEncoder(nn.Module):
    """BERT + mean pooling over the attention mask + L2 normalisation: (B, hidden)."""

    def __init__(self, config: BertConfig | None = None):
        super().__init__()
        self.bert = BertModel(config)

    @property
    def dim(self) -> int:
        return self.bert.config.hidden

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        h = self.bert(ids, mask)
        m = mask.to(h.dtype).unsqueeze(-1)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)


# reference key -> ours (per-layer keys use {i})
_LAYER_KEYS = {
    "attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
    "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "ffn_in", "output.dense": "ffn_out", "output.LayerNorm": "ffn_norm",
}
_TOP_KEYS = {"embeddings.word_embeddings": "word", "embeddings.position_embeddings": "position",
             "embeddings.token_type_embeddings": "token_type", "embeddings.LayerNorm": "norm"}
_LAYER = re.compile(r"^(?:bert\.)?encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$")
_TOP = re.compile(r"^(?:bert\.)?(embeddings\.\w+)\.(weight|bias)$")
# Present in the reference files but not part of the sentence embedding.
_UNUSED = re.compile(r"^(?:bert\.)?(pooler\..*|embeddings\.position_ids)$")
_LN_OLD = {"gamma": "weight", "beta": "bias"}


def reference_key(key: str) -> str | None:
    """Our parameter name for a reference key; None for keys the encoder does not use."""
    key = re.sub(r"\.(gamma|beta)$", lambda m: "." + _LN_OLD[m.group(1)], key)
    if _UNUSED.match(key):
        return None
    m = _LAYER.match(key)
    if m and m.group(2) in _LAYER_KEYS:
        return f"layers.{m.group(1)}.{_LAYER_KEYS[m.group(2)]}.{m.group(3)}"
    m = _TOP.match(key)
    if m and m.group(1) in _TOP_KEYS:
        return f"{_TOP_KEYS[m.group(1)]}.{m.group(2)}"
    raise CheckpointError(f"unexpected key {key!r} in a BERT checkpoint")


def load_reference_weights(model: BertModel, tensors: Mapping[str, np.ndarray],
                           where: str = "checkpoint") -> None:
    """Copy reference-layout tensors into ``model``: every parameter present, shapes equal."""
    mapped: dict[str, Tensor] = {}
    for key, arr in tensors.items():
        ours = reference_key(key)
        if ours is not None:
            if ours in mapped:
                raise CheckpointError(f"{where}: two keys map to {ours!r} (one is {key!r})")
            mapped[ours] = torch.from_numpy(np.array(arr, dtype=np.float32))
    own = model.state_dict()
    missing = sorted(set(own) - set(mapped))
    if missing:
        raise CheckpointError(f"{where}: missing {len(missing)} BERT weights, e.g. "
                              f"{', '.join(missing[:4])}")
    extra = sorted(set(mapped) - set(own))
    if extra:
        raise CheckpointError(f"{where}: {len(extra)} weights the config has no place for, e.g. "
                              f"{', '.join(extra[:4])} (more layers or another width?)")
    bad = [f"{k}: file {tuple(mapped[k].shape)}, model {tuple(own[k].shape)}"
           for k in own if tuple(mapped[k].shape) != tuple(own[k].shape)]
    if bad:
        raise CheckpointError(f"{where}: shapes differ from the config: {'; '.join(bad[:4])}")
    model.load_state_dict(mapped, strict=True)
