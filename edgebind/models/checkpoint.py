"""Loading ImageBind-layout checkpoints (e.g. the official ``imagebind_huge.pth``).

The file is memory-mapped and only the chosen towers are built (on the meta device) and then
given the checkpoint tensors directly (``load_state_dict(assign=True)``), so time and memory
scale with the towers asked for, not with the file.
"""
from __future__ import annotations

import os
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterable, Mapping

import torch
from torch import Tensor

from edgebind.errors import EdgeBindError
from edgebind.modality import MODALITIES, check_modality
from edgebind.models.config import PRESETS, ImageBindConfig, resolve_config
from edgebind.models.imagebind import ImageBindModel, build

GROUPS = ("modality_preprocessors", "modality_trunks", "modality_heads", "modality_postprocessors")
WRAPPER_KEYS = ("model", "state_dict", "module")
_BLOCK = re.compile(r"^modality_trunks\.(\w+)\.blocks\.(\d+)\.")
_MAX_LISTED = 8


class CheckpointError(EdgeBindError, RuntimeError):
    """A checkpoint could not be read, or does not fit the model."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    pass


def torch_load(source: str | os.PathLike[str] | IO[bytes], *, mmap: bool = False,
               name: str | None = None) -> Any:
    """The one way EdgeBind reads a torch file: ``weights_only=True``, on CPU. A file whose
    pickle asks for anything beyond tensors and plain data (a crafted file that would run code)
    is refused with a CheckpointError before any of it runs; other errors pass through."""
    try:
        return torch.load(source, weights_only=True, mmap=mmap, map_location="cpu")
    except pickle.UnpicklingError as err:
        text = str(err)
        if "Weights only load failed" not in text:
            raise
        # ``from None``: torch's own message suggests weights_only=False, the very hole.
        found = re.search(r"GLOBAL ([\w.]+)", text)
        if found:
            raise CheckpointError(f"refusing to load {name or source}: it asks to import and "
                                  f"call {found.group(1)} while loading, which no file of "
                                  f"tensors and plain data does (crafted or tampered with?); "
                                  f"nothing in it was run") from None
        detail = [p.strip() for p in text.split("\n\n")[1:] if p.strip()
                  and not p.startswith("Check the documentation")]
        raise CheckpointError(f"cannot read checkpoint {name or source} (truncated or not a "
                              f"torch checkpoint?): {' '.join(detail) or 'unpickling failed'}"
                              ) from None


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """``torch.load`` (weights only, memory-mapped, on CPU) and unwrap; clear errors on failure."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointNotFoundError(f"checkpoint not found: {p}")
    try:
        obj = torch_load(p, mmap=True)
    except CheckpointError:
        raise
    except Exception as mmap_err:  # noqa: BLE001 - torch raises many types for bad files
        # Files in the legacy (pre-zip) format cannot be mapped; read those the plain way.
        if "mmap" not in str(mmap_err):
            raise CheckpointError(f"cannot read checkpoint {p} (truncated or not a torch "
                                  f"checkpoint?): {type(mmap_err).__name__}: {mmap_err}") from mmap_err
        try:
            obj = torch_load(p)
        except CheckpointError:
            raise
        except Exception as err:  # noqa: BLE001
            raise CheckpointError(f"cannot read checkpoint {p} (truncated or not a torch "
                                  f"checkpoint?): {type(err).__name__}: {err}") from err
    try:
        return unwrap_state_dict(obj)
    except CheckpointError as err:
        raise CheckpointError(f"{p}: {err}") from None


def unwrap_state_dict(obj: Any) -> dict[str, Tensor]:
    """Accept a plain state dict, a ``{"model"|"state_dict": ...}`` wrapper, ``module.`` prefixes."""
    for _ in range(3):  # nested wrappers, e.g. {"state_dict": {"model": ...}}
        if isinstance(obj, Mapping) and not any(isinstance(v, Tensor) for v in obj.values()):
            inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"expected a state dict (mapping of names to tensors), got "
                              f"{type(obj).__name__}")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}
    if not sd:
        raise CheckpointError(f"no tensors found; top-level keys: {list(obj)[:_MAX_LISTED]}")
    for prefix in ("module.", "model."):
        if all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    return sd


def key_modality(key: str) -> str | None:
    """``modality_trunks.audio.blocks.0...`` -> ``audio``; None for keys outside the layout."""
    parts = key.split(".", 2)
    if len(parts) >= 3 and parts[0] in GROUPS and parts[1] in MODALITIES:
        return parts[1]
    return None


def modalities_in(state_dict: Mapping[str, Tensor]) -> tuple[str, ...]:
    present = {key_modality(k) for k in state_dict}
    return tuple(m for m in MODALITIES if m in present)


def _width(sd: Mapping[str, Tensor], m: str) -> int | None:
    key = ("modality_preprocessors.text.pos_embed" if m == "text"
           else f"modality_preprocessors.{m}.cls_token")
    return int(sd[key].shape[-1]) if key in sd else None


def _out_dim(sd: Mapping[str, Tensor], m: str) -> int | None:
    key = {"text": "modality_heads.text.proj.1.weight", "imu": "modality_heads.imu.3.weight"}.get(
        m, f"modality_heads.{m}.2.weight")
    return int(sd[key].shape[0]) if key in sd else None


def _conv_stem(sd: Mapping[str, Tensor], prefix: str) -> tuple[int, int, int] | None:
    """(patch, channels, frames) of a conv stem (``stems.conv_stem``) under ``prefix``, or None
    when the stem is a single projection. Its convolutions are the 4-D/5-D weights in order:
    a 4x4/4 patchify, 3x3/2 stages, a final 2x2/2 (x frames) projection."""
    convs = sorted(((int(k[len(prefix):].split(".")[0]), v) for k, v in sd.items()
                    if k.startswith(prefix) and k.endswith(".weight") and v.ndim in (4, 5)),
                   key=lambda kv: kv[0])
    if len(convs) < 2:
        return None
    first, last = convs[0][1], convs[-1][1]
    frames = int(last.shape[2]) if last.ndim == 5 else 0
    return 4 * 2 ** (len(convs) - 1), int(first.shape[0]), frames


def _default_heads(dim: int) -> int:
    # Shapes do not fix the head count: assume head_dim 64 (the usual ViT choice), falling back
    # to the nearest count that divides the width.
    h = max(1, round(dim / 64))
    while dim % h:
        h -= 1
    return h


def _tower_sizes(sd: Mapping[str, Tensor], present: tuple[str, ...]) -> dict[str, Any]:
    """Each tower's width and depth, and the shared output width (heads must agree on it)."""
    blocks: Counter[str] = Counter()
    for k in sd:
        if (match := _BLOCK.match(k)) is not None:
            blocks[match.group(1)] = max(blocks[match.group(1)], int(match.group(2)) + 1)
    found: dict[str, Any] = {}
    outs = set()
    for m in present:
        width = _width(sd, m)
        if width is not None:
            found[f"{m}_embed_dim"] = width
        found[f"{m}_num_blocks"] = blocks.get(m, 0)
        if (out := _out_dim(sd, m)) is not None:
            outs.add(out)
    if len(outs) > 1:
        raise CheckpointError(f"towers disagree on the output width: {sorted(outs)}")
    if outs:
        found["out_embed_dim"] = outs.pop()
    return found


def _stems(sd: Mapping[str, Tensor]) -> dict[str, Any]:
    """Patch kernels, and conv-stem settings where a tower has a conv stem."""
    found: dict[str, Any] = {}
    vis = sd.get("modality_preprocessors.vision.rgbt_stem.proj.1.weight")
    if vis is not None:
        conv = _conv_stem(sd, "modality_preprocessors.vision.rgbt_stem.proj.")
        if conv is None:
            found["kernel_size"] = tuple(int(s) for s in vis.shape[2:])
        else:
            patch, found["stem_channels"], frames = conv
            found["kernel_size"] = (frames, patch, patch)
            found["vision_stem"] = "conv"
    for m, stem in (("audio", "rgbt_stem"), ("depth", "depth_stem"), ("thermal", "rgbt_stem")):
        w = sd.get(f"modality_preprocessors.{m}.{stem}.proj.weight")
        if w is not None:
            found[f"{m}_kernel_size"] = int(w.shape[-1])
        elif (conv := _conv_stem(sd, f"modality_preprocessors.{m}.{stem}.proj.")) is not None:
            found[f"{m}_kernel_size"], found["stem_channels"], _ = conv
            found[f"{m}_stem"] = "conv"
    return found


def infer_config(state_dict: Mapping[str, Tensor],
                 num_heads: int | Mapping[str, int] | None = None) -> ImageBindConfig:
    """Recover an ``ImageBindConfig`` from tensor shapes.

    Widths come from cls tokens / positions, block counts from the block indices, the output
    width from the heads, patch kernels from the stems. Head counts cannot be read from shapes:
    when every present tower matches a preset (``imagebind_huge``, ``small``, ``tiny``) its head
    counts are used, otherwise head_dim 64 is assumed. ``num_heads`` (one int for all towers or a
    per-modality dict) overrides both. Audio stride/mel/length and drop-path rates keep the
    preset's or default values.
    """
    sd = state_dict
    present = modalities_in(sd)
    if not present:
        raise CheckpointError("no ImageBind keys found (expected e.g. "
                              "'modality_preprocessors.vision.cls_token')")
    found = _tower_sizes(sd, present) | _stems(sd)
    # A preset is recognised by its widths and depths (stems and kernels may be varied).
    sizes = {k: v for k, v in found.items() if k.endswith(("_embed_dim", "_num_blocks"))}
    base = next((cfg for cfg in PRESETS.values()
                 if all(getattr(cfg, k) == v for k, v in sizes.items())), None)
    if base is None:
        base = ImageBindConfig()
        for m in present:
            if f"{m}_embed_dim" in found:
                found[f"{m}_num_heads"] = _default_heads(found[f"{m}_embed_dim"])
    cfg = base.to_dict() | found
    if num_heads is not None:
        per = num_heads if isinstance(num_heads, Mapping) else {m: num_heads for m in MODALITIES}
        for m, h in per.items():
            cfg[f"{check_modality(m)}_num_heads"] = int(h)
    return ImageBindConfig.from_dict(cfg)


def _fmt(shape: Iterable[int]) -> str:
    return str(tuple(int(s) for s in shape))


def check_compatible(model: ImageBindModel, state_dict: Mapping[str, Tensor]) -> None:
    """Raise ``CheckpointError`` naming every missing, unexpected or mis-shaped key."""
    expected = model.state_dict()
    towers = set(model.modalities)
    # Shape mismatches first: with a wrong config they say the most.
    problems = [f"wrong shape for {k}: model expects {_fmt(t.shape)}, checkpoint has "
                f"{_fmt(state_dict[k].shape)}" for k, t in expected.items()
                if k in state_dict and tuple(state_dict[k].shape) != tuple(t.shape)]
    problems += [f"missing key {k} (expected shape {_fmt(t.shape)})"
                 for k, t in expected.items() if k not in state_dict]
    problems += [f"unexpected key {k} (shape {_fmt(t.shape)})" for k, t in state_dict.items()
                 if k not in expected and key_modality(k) in towers | {None}]
    if problems:
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise CheckpointError(f"checkpoint does not fit the model ({len(problems)} problems):\n  "
                              + "\n  ".join(problems[:_MAX_LISTED]) + more)


def load_checkpoint(path_or_state_dict: str | os.PathLike[str] | Mapping[str, Tensor],
                    config: str | ImageBindConfig | Mapping[str, Any] | None = None,
                    modalities: Iterable[str] | None = None,
                    device: str | torch.device | None = None,
                    dtype: torch.dtype | None = None,
                    num_heads: int | Mapping[str, int] | None = None) -> ImageBindModel:
    """Build the chosen towers and load their weights strictly; returns an eval-mode model.

    ``config`` is a preset name, config or kwargs dict; None infers it from shapes (see
    ``infer_config``; ``num_heads`` overrides the head counts there). ``modalities`` defaults to
    every tower present in the checkpoint; keys of other towers are ignored (never read).
    """
    source = "state dict"
    if isinstance(path_or_state_dict, Mapping):
        sd = unwrap_state_dict(path_or_state_dict)
    else:
        source = str(path_or_state_dict)
        sd = read_state_dict(path_or_state_dict)
    chosen = modalities_in(sd) if modalities is None else tuple(
        check_modality(m) for m in modalities)
    sub = {k: v for k, v in sd.items() if key_modality(k) in chosen or key_modality(k) is None}
    if config is None:
        cfg = infer_config({k: v for k, v in sub.items() if key_modality(k) is not None},
                           num_heads)
    else:
        cfg = resolve_config(config)
    model = build(cfg, chosen, device="meta")
    try:
        check_compatible(model, sub)
    except CheckpointError as err:
        raise CheckpointError(f"{source}: {err}") from None
    if dtype is not None:
        sub = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sub.items()}
    model.load_state_dict(sub, strict=True, assign=True)
    if device is not None:
        model = model.to(device)
    return model.eval()
