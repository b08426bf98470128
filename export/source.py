"""Where the model to export comes from: a named preset (random weights, for tests and
benchmarks) or a checkpoint file (config by preset name or inferred from shapes)."""
from __future__ import annotations

from pathlib import Path

from edgebind.space import space_id_from_arrays


def tensor_arrays(state_dict):
    """(name, numpy array) pairs of a torch state dict, bit-exact (bf16 viewed as int16)."""
    import torch
    for k, t in state_dict.items():
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            t = t.view(torch.int16)
        yield k, t.numpy()


def space_id_of(state_dict) -> str:
    """The embedding-space id of a set of weights (all towers in the state dict)."""
    return space_id_from_arrays(tensor_arrays(state_dict))


def resolve_model(spec: str, modalities: list[str] | None = None, preset: str | None = None,
                  seed: int = 0):
    """Returns (model, space_id, model_info for the manifest)."""
    import torch

    from edgebind import models

    if spec in models.PRESETS:
        # All towers are built (so the space id does not depend on which ones are exported),
        # with a fixed seed so the same preset and seed always give the same space.
        torch.manual_seed(seed)
        model = models.build(spec)
        info = {"preset": spec, "config": model.config.to_dict(), "source": f"random-init:seed={seed}"}
        return model, space_id_of(model.state_dict()), info
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"--model {spec!r} is neither a preset ({', '.join(models.PRESETS)}) "
                                "nor an existing checkpoint file")
    sd = models.read_state_dict(path)
    space = space_id_of(sd)
    model = models.load_checkpoint(sd, config=preset, modalities=modalities)
    info = {"preset": preset or "inferred", "config": model.config.to_dict(), "source": path.name}
    return model, space, info
