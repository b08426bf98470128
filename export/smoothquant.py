"""SmoothQuant-style rescaling before INT8: trained ViTs have a few LayerNorm output channels with
very large activations, which per-tensor activation quantization cannot represent. Moving a
per-channel factor s from the activation into the weights (LayerNorm gamma, beta / s; the next
Linear's input columns * s) leaves the float function unchanged and flattens the outliers."""
from __future__ import annotations

import copy
import re

import numpy as np


def smooth_tower(model, modality: str, batches: list[np.ndarray], alpha: float = 0.5):
    """Return a rescaled deep copy of ``model`` (only ``modality``'s trunk changes) and stats."""
    import torch

    model = copy.deepcopy(model).eval()
    pattern = re.compile(rf"(^|\.)modality_trunks\.{modality}\.blocks\.(\d+)\.norm_([12])$")
    norms = {name: mod for name, mod in model.named_modules() if pattern.search(name)}
    if not norms:
        raise ValueError(f"no transformer blocks found for {modality!r}")
    amax: dict[str, torch.Tensor] = {}

    def hook(name):
        def fn(_mod, _inp, out):
            m = out.detach().abs().reshape(-1, out.shape[-1]).amax(0)
            amax[name] = torch.maximum(amax[name], m) if name in amax else m
        return fn

    handles = [mod.register_forward_hook(hook(name)) for name, mod in norms.items()]
    try:
        with torch.inference_mode():
            for x in batches:
                model({modality: torch.from_numpy(x)})
    finally:
        for h in handles:
            h.remove()

    ratios = []
    with torch.no_grad():
        for name, norm in norms.items():
            block = model.get_submodule(name.rsplit(".", 1)[0])
            weight = block.attn.in_proj_weight if name.endswith("norm_1") else block.mlp.fc1.weight
            w_max = weight.abs().amax(0).clamp(min=1e-5)
            a_max = amax[name].clamp(min=1e-5)
            s = (a_max.pow(alpha) / w_max.pow(1 - alpha)).clamp(min=1e-2, max=1e2)
            norm.weight.div_(s)
            norm.bias.div_(s)
            weight.mul_(s)
            ratios.append(float(a_max.max() / a_max.median()))
    return model, {"method": "smoothquant", "alpha": alpha, "layers": len(norms),
                   "max_outlier_ratio_before": round(max(ratios), 3)}
