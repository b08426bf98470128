"""Contrastive and distillation losses (torch).

``info_nce`` is the symmetric InfoNCE of CLIP/ImageBind: row i of ``x`` is paired with row i of
``y`` (or with every column ``pos_mask`` marks), all other rows of the batch are negatives.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOGIT_SCALE_MAX = 100.0


def info_nce(x: Tensor, y: Tensor, scale: Tensor | float | None = None,
             pos_mask: Tensor | None = None, symmetric: bool = True) -> Tensor:
    """Mean InfoNCE between ``x`` (N, D) and ``y`` (M, D).

    ``scale``: multiplies the dot products; None uses the embeddings as given (ImageBind's towers
    carry their temperature in the embedding norm). ``pos_mask`` (N, M) bool marks positives;
    None means the diagonal (N == M). With several positives per row the row's loss is
    ``-log(sum_pos p)`` (probability mass on any positive). ``symmetric`` averages x->y and y->x.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"info_nce: expected (N, D) and (M, D), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    logits = x.float() @ y.float().T
    if scale is not None:
        logits = logits * scale
    if pos_mask is None:
        if x.shape[0] != y.shape[0]:
            raise ValueError("info_nce without pos_mask needs paired rows (N == M), got "
                             f"{x.shape[0]} and {y.shape[0]}")
        target = torch.arange(x.shape[0], device=x.device)
        loss = F.cross_entropy(logits, target)
        return 0.5 * (loss + F.cross_entropy(logits.T, target)) if symmetric else loss
    if pos_mask.shape != logits.shape:
        raise ValueError(f"pos_mask shape {tuple(pos_mask.shape)} != logits {tuple(logits.shape)}")
    loss = _multi_positive(logits, pos_mask)
    return 0.5 * (loss + _multi_positive(logits.T, pos_mask.T)) if symmetric else loss


def _multi_positive(logits: Tensor, pos: Tensor) -> Tensor:
    rows = pos.any(dim=1)  # rows without a positive carry no signal
    if not bool(rows.any()):
        raise ValueError("info_nce: pos_mask has no positive pair")
    logits, pos = logits[rows], pos[rows]
    pos_lse = torch.logsumexp(logits.masked_fill(~pos, float("-inf")), dim=1)
    return (torch.logsumexp(logits, dim=1) - pos_lse).mean()


def retrieval_top1(x: Tensor, y: Tensor, pos_mask: Tensor | None = None) -> float:
    """Fraction of rows of ``x`` whose most similar row of ``y`` is a positive (a batch metric)."""
    with torch.no_grad():
        best = (F.normalize(x.float(), dim=-1) @ F.normalize(y.float(), dim=-1).T).argmax(dim=1)
        if pos_mask is None:
            return float((best == torch.arange(len(x), device=x.device)).float().mean())
        return float(pos_mask[torch.arange(len(x), device=x.device), best].float().mean())


def distill_loss(student: Tensor, teacher: Tensor, cos_weight: float = 1.0,
                 contrastive_weight: float = 1.0, temperature: float = 0.05) -> Tensor:
    """Student lands where the teacher lands: ``1 - cos`` plus InfoNCE against the batch's teacher
    embeddings (so the student also keeps the teacher's neighbourhood structure)."""
    s, t = F.normalize(student.float(), dim=-1), F.normalize(teacher.float(), dim=-1)
    loss = cos_weight * (1.0 - (s * t).sum(dim=-1)).mean()
    if contrastive_weight:
        loss = loss + contrastive_weight * info_nce(s, t, scale=1.0 / temperature, symmetric=False)
    return loss


class Temperature(nn.Module):
    """How logits are scaled: "tower" (the embeddings as the towers output them: ImageBind's
    per-modality logit scales), a fixed temperature ``T`` (cosine / T), or "learned" (cosine
    times a learned scale, initialised at 1/0.07 and clamped at 100)."""

    def __init__(self, mode: str | float = "tower", init: float = 0.07) -> None:
        super().__init__()
        self.mode = "fixed" if isinstance(mode, (int, float)) else str(mode)
        if self.mode not in ("tower", "fixed", "learned"):
            raise ValueError(f"temperature must be 'tower', 'learned' or a number > 0, got {mode!r}")
        if self.mode == "fixed":
            if not float(mode) > 0:
                raise ValueError(f"temperature must be > 0, got {mode!r}")
            self.register_buffer("log_scale", torch.tensor(math.log(1.0 / float(mode))))
        elif self.mode == "learned":
            self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init)))

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        if self.mode == "tower":
            return x, y, None
        scale = torch.clamp(self.log_scale.exp(), max=LOGIT_SCALE_MAX)
        return F.normalize(x, dim=-1), F.normalize(y, dim=-1), scale

    def value(self) -> float:
        """The current temperature (NaN for "tower", whose scale lives in the towers)."""
        if self.mode == "tower":
            return float("nan")
        return float(1.0 / torch.clamp(self.log_scale.detach().exp(), max=LOGIT_SCALE_MAX))


def parse_temperature(text: str) -> str | float:
    """CLI form: 'tower', 'learned' or a number."""
    if text in ("tower", "learned"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--temperature must be 'tower', 'learned' or a number, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"--temperature must be > 0, got {text!r}")
    return value
