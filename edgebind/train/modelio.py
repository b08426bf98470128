"""Model files written by the trainers: ``{"format": "edgebind.model/1", "config": {...},
"model": state_dict}``. The ``model`` wrapper key means ``edgebind.models.load_checkpoint`` and
``edgebind export --model FILE`` read them too; the stored config keeps what shapes cannot tell
(head counts, audio stride)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch

FORMAT = "edgebind.model/1"


def save_model(model, path: str | os.PathLike, extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "config": model.config.to_dict(),
             "modalities": list(model.modalities),
             "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
             "extra": extra or {}}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_model(spec: str | os.PathLike, modalities: Iterable[str] | None = None, seed: int = 0):
    """A preset name (fresh weights from ``seed``) or a model file (trainer output, or any
    ImageBind-layout checkpoint). Returns an eval-mode model."""
    from edgebind import models
    if isinstance(spec, str) and spec in models.PRESETS:
        torch.manual_seed(seed)
        return models.build(spec, modalities)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"{spec!r} is neither a preset ({', '.join(models.PRESETS)}) nor "
                                "an existing model file")
    try:
        obj = models.torch_load(path)
    except models.CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 - torch raises many types for bad files
        raise models.CheckpointError(f"cannot read model file {path} (truncated or not a torch "
                                     f"file?): {type(err).__name__}: {err}") from err
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return models.load_checkpoint(obj["model"], config=obj["config"], modalities=modalities)
    return models.load_checkpoint(path, modalities=modalities)
