"""What is trained: a task is an ``nn.Module`` whose ``forward(batch)`` returns
``(loss, metrics)``; frozen parts stay frozen (and in eval mode) whatever ``train()`` says.

- :class:`BindTask`: InfoNCE between a modality's tower and a hub tower (vision by default, as in
  ImageBind). The hub is frozen unless ``train_hub`` (stage 1 of the default recipe trains vision
  and text together). Text batches are de-duplicated: identical captions in a batch are one
  column, positive for every sample that carries it.
- :class:`DistillTask`: a student tower learns to land where a frozen teacher tower lands.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from edgebind.modality import check_modality
from edgebind.train.losses import Temperature, distill_loss, info_nce, retrieval_top1


def _freeze(module: nn.Module) -> None:
    for p in module.parameters():
        p.requires_grad_(False)


def tower_modules(model: nn.Module, modality: str) -> list[nn.Module]:
    """The four parts of one ImageBind tower."""
    return [getattr(model, g)[modality] for g in ("modality_preprocessors", "modality_trunks",
                                                   "modality_heads", "modality_postprocessors")]


def random_crop(x: Tensor, min_side: float) -> Tensor:
    """A random square crop per image (side a uniform fraction in [min_side, 1]) resized back to
    the input size: one batched ``grid_sample``, bilinear."""
    n = x.shape[0]
    side = torch.empty(n, device=x.device).uniform_(min_side, 1.0)
    # Centre offsets in [-(1 - side), 1 - side] keep the crop inside the image (normalised coords).
    cx = (torch.rand(n, device=x.device) * 2 - 1) * (1 - side)
    cy = (torch.rand(n, device=x.device) * 2 - 1) * (1 - side)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 1, 1] = side, side
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", align_corners=False)


class BindTask(nn.Module):
    """Bind ``modality`` to ``hub``: symmetric InfoNCE, in-batch negatives.

    batch keys: ``modality`` (model input) and either ``hub`` (model input) or
    ``"<hub>_embedding"`` (precomputed frozen hub embeddings: much cheaper for long runs);
    optional ``label`` with ``positives="labels"`` makes same-label pairs positive too.
    ``lora_rank`` > 0 trains LoRA adapters on the (frozen) modality tower instead of the tower.
    ``hflip`` mirrors half of the vision images while training; ``crop`` (a minimum side
    fraction, e.g. 0.7) also takes a random square crop of each vision image, resized back;
    ``freeze`` keeps parameters whose names contain one of the fragments fixed.
    ``hub_from_batch``: the hub is not a tower of ``model`` (e.g. a frozen pretrained text
    encoder run once over every caption); batches carry ``"<hub>_embedding"``.
    """

    def __init__(self, model: nn.Module, modality: str, hub: str = "vision",
                 temperature: str | float = "tower", train_hub: bool = False,
                 positives: str = "pairs", lora_rank: int = 0, lora_alpha: float = 8.0,
                 hflip: bool = False, crop: float = 0.0,
                 freeze: tuple[str, ...] = (), hub_from_batch: bool = False) -> None:
        super().__init__()
        # Label-preserving augmentations of trained vision images (mirror, random crop).
        self.hflip = hflip
        if not 0.0 <= crop <= 1.0:
            raise ValueError(f"crop must be a side fraction in [0, 1], got {crop}")
        self.crop = crop
        self.modality, self.hub = check_modality(modality), check_modality(hub)
        if modality == hub:
            raise ValueError(f"cannot bind {modality} to itself")
        if hub_from_batch and train_hub:
            raise ValueError("a hub given as precomputed embeddings cannot be trained")
        for m in (modality,) if hub_from_batch else (modality, hub):
            if m not in model.modalities:
                raise ValueError(f"the model has no {m} tower; it has {', '.join(model.modalities)}")
        self.hub_from_batch = hub_from_batch
        if positives not in ("pairs", "labels"):
            raise ValueError(f"positives must be 'pairs' or 'labels', got {positives!r}")
        self.model = model
        self.train_hub, self.positives = train_hub, positives
        self.temperature = Temperature(temperature)
        _freeze(model)
        trained = [modality] + ([hub] if train_hub else [])
        if lora_rank:
            from edgebind.train.lora import add_lora
            for part in tower_modules(model, modality):
                if any(p.ndim == 2 for p in part.parameters()):
                    try:
                        add_lora(part, rank=lora_rank, alpha=lora_alpha)
                    except ValueError:
                        pass  # a part without matching weights (e.g. the stem) stays frozen
            trained = [hub] if train_hub else []
        for m in trained:
            for part in tower_modules(model, m):
                for name, p in part.named_parameters():
                    # ``freeze``: name fragments kept fixed, e.g. "token_embedding" (the text
                    # tower's 49408-row table: most of the optimizer's work, little of the gain)
                    p.requires_grad_(not any(f in name for f in freeze))

    def train(self, mode: bool = True) -> "BindTask":
        super().train(mode)
        for m in self.model.modalities:
            if m != self.modality and not (self.train_hub and m == self.hub):
                for part in tower_modules(self.model, m):
                    part.eval()  # frozen towers: no dropout / drop-path noise
        return self

    def _embed(self, m: str, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Embeddings, and for text the inverse map sample -> unique caption row."""
        if self.hflip and self.training and m == "vision" and x.ndim == 4:
            flip = torch.rand(x.shape[0], device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if 0.0 < self.crop < 1.0 and self.training and m == "vision" and x.ndim == 4:
            x = random_crop(x, self.crop)
        if m == "text":
            uniq, inverse = torch.unique(x, dim=0, return_inverse=True)
            return self.model.embed("text", uniq), inverse
        return self.model.embed(m, x), None

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Any]]:
        x, inv_x = self._embed(self.modality, batch[self.modality])
        key = f"{self.hub}_embedding"
        if key in batch:
            y, inv_y = batch[key], None
        elif self.hub_from_batch:
            raise ValueError(f"the batch has no {key!r}; this task takes the hub's embeddings "
                             "from the data")
        elif self.train_hub:
            y, inv_y = self._embed(self.hub, batch[self.hub])
        else:
            with torch.no_grad():
                y, inv_y = self._embed(self.hub, batch[self.hub])
        pos = self._positives(batch, inv_x, inv_y, len(batch[self.modality]))
        xs, ys, scale = self.temperature(x, y)
        loss = info_nce(xs, ys, scale, pos)
        metrics = {"top1": retrieval_top1(x, y, pos)}
        if self.temperature.mode == "learned":
            metrics["temperature"] = self.temperature.value()
        return loss, metrics

    def _positives(self, batch: dict[str, Tensor], inv_x: Tensor | None, inv_y: Tensor | None,
                   n: int) -> Tensor | None:
        if inv_x is None and inv_y is None and self.positives == "pairs":
            return None
        device = batch[self.modality].device
        ar = torch.arange(n, device=device)
        rows = inv_x if inv_x is not None else ar
        cols = inv_y if inv_y is not None else ar
        nx, ny = int(rows.max()) + 1, int(cols.max()) + 1
        pos = torch.zeros(nx, ny, dtype=torch.bool, device=device)
        pos[rows, cols] = True
        if self.positives == "labels":
            label = batch["label"]
            lx = torch.full((nx,), -1, dtype=label.dtype, device=device).scatter(0, rows, label)
            ly = torch.full((ny,), -2, dtype=label.dtype, device=device).scatter(0, cols, label)
            pos |= lx[:, None] == ly[None, :]
        return pos


class DistillTask(nn.Module):
    """``student``'s ``modality`` tower learns the frozen ``teacher``'s embeddings of the same
    inputs (cosine + contrastive), so the student works in the teacher's space. Both towers must
    output the same dimension. batch keys: ``modality`` or ``"teacher_embedding"``."""

    def __init__(self, teacher: nn.Module, student: nn.Module, modality: str,
                 cos_weight: float = 1.0, contrastive_weight: float = 1.0,
                 temperature: float = 0.05) -> None:
        super().__init__()
        self.modality = check_modality(modality)
        for name, m in (("teacher", teacher), ("student", student)):
            if modality not in m.modalities:
                raise ValueError(f"the {name} has no {modality} tower")
        if teacher.embed_dim != student.embed_dim:
            raise ValueError(f"teacher and student must share the embedding dim to share a space; "
                             f"got {teacher.embed_dim} and {student.embed_dim} (set the student's "
                             "out_embed_dim)")
        self.teacher, self.student = teacher, student
        self.weights = (cos_weight, contrastive_weight, temperature)
        _freeze(teacher)
        _freeze(student)
        for part in tower_modules(student, modality):
            for p in part.parameters():
                p.requires_grad_(True)

    def train(self, mode: bool = True) -> "DistillTask":
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Any]]:
        x = batch[self.modality]
        if "teacher_embedding" in batch:
            t = batch["teacher_embedding"]
        else:
            with torch.no_grad():
                t = self.teacher.embed(self.modality, x)
        s = self.student.embed(self.modality, x)
        cos_w, con_w, temp = self.weights
        loss = distill_loss(s, t, cos_w, con_w, temp)
        cos = torch.nn.functional.cosine_similarity(s.detach().float(), t.float(), dim=-1).mean()
        return loss, {"cosine": float(cos)}


def agreement(student_emb, teacher_emb, anchors) -> float:
    """Retention: the fraction of samples whose zero-shot decision (nearest anchor by cosine) is
    the same for the student's and the teacher's embeddings. numpy or torch inputs."""
    import numpy as np

    def nearest(e):
        e = np.asarray(e, dtype=np.float64)
        a = np.asarray(anchors, dtype=np.float64)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        return (e @ a.T).argmax(axis=1)

    return float((nearest(student_emb) == nearest(teacher_emb)).mean())
