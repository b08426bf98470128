"""Input validation and dynamic batch (a tiny random model; no fixtures needed)."""
from __future__ import annotations

import math

import pytest
import torch

from edgebind.models import build

CFG = {"out_embed_dim": 16, "kernel_size": [2, 14, 14],
       **{f"{m}_{k}": v for m in ("vision", "text", "audio", "depth", "thermal", "imu")
          for k, v in (("embed_dim", 32), ("num_blocks", 1), ("num_heads", 2))}}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build(CFG)


def sample(name: str, batch: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if name == "text":
        ids = torch.randint(1, 1000, (batch, 77), generator=g)
        ids[:, 0], ids[:, 5], ids[:, 6:] = 49406, 49407, 0
        return ids
    shape = {"vision": (3, 224, 224), "audio": (3, 1, 128, 204), "depth": (1, 224, 224),
             "thermal": (1, 224, 224), "imu": (6, 2000)}[name]
    return torch.randn((batch,) + shape, generator=g)


@pytest.mark.parametrize("name,x,match", [
    ("vision", torch.zeros(1, 3, 2, 224, 224), "5-D"),
    ("vision", torch.zeros(1, 3, 224, 196), "square"),
    ("vision", torch.zeros(1, 1, 224, 224), "3 colour channels"),
    ("vision", torch.zeros(3, 224, 224), "4-D"),
    ("text", torch.zeros(1, 76, dtype=torch.long), r"\(B, 77\)"),
    ("text", torch.zeros(1, 77), "integer"),
    ("text", torch.full((1, 77), 50000), "49408"),
    ("audio", torch.zeros(1, 3, 1, 128, 200), r"\(1, 128, 204\)"),
    ("audio", torch.zeros(1, 128, 204), "4-D"),
    ("depth", torch.zeros(1, 1, 256, 256), r"\(1, 224, 224\)"),
    ("thermal", torch.zeros(1, 3, 224, 224), r"\(1, 224, 224\)"),
    ("imu", torch.zeros(1, 6, 1000), r"\(B, 6, 2000\)"),
    ("imu", torch.zeros(1, 6, 2000, dtype=torch.int32), "floating"),
    ("imu", torch.zeros(1, 6, 2000, dtype=torch.float64), "cast the input"),
])
def test_bad_input_shape(model, name, x, match):
    with pytest.raises(ValueError, match=match):
        model({name: x})


@pytest.mark.parametrize("name", ["vision", "audio", "depth", "thermal", "imu"])
def test_nan_input(model, name):
    x = sample(name, 1)
    x.view(-1)[7] = math.nan
    with pytest.raises(ValueError, match=f"{name} input contains NaN"):
        model({name: x})


def test_unknown_or_missing_tower():
    model = build(CFG, modalities=["imu"])
    with pytest.raises(ValueError, match="no tower"):
        model({"vision": sample("vision", 1)})


@pytest.mark.parametrize("name", ["vision", "text", "audio", "depth", "thermal", "imu"])
def test_dynamic_batch(model, name):
    """The same module gives the same per-row result for batch 1 and batch 3."""
    x = sample(name, 3)
    with torch.no_grad():
        y3 = model({name: x})[name]
        y1 = torch.cat([model({name: x[i:i + 1]})[name] for i in range(3)])
    assert y3.shape == (3, 16)
    torch.testing.assert_close(y1, y3, atol=1e-5, rtol=1e-5)


def test_video_and_other_resolutions(model):
    clip = sample("vision", 2)
    video = torch.stack([clip, clip], dim=2).unsqueeze(1).repeat(1, 3, 1, 1, 1, 1)  # (2,3,3,2,H,W)
    with torch.no_grad():
        img = model({"vision": clip})["vision"]
        vid = model({"vision": video})["vision"]
        big = model({"vision": torch.randn(1, 3, 280, 280)})["vision"]
    # Repeating a frame is what the image path does, so identical clips give the image embedding.
    torch.testing.assert_close(vid, img, atol=1e-5, rtol=1e-5)
    assert big.shape == (1, 16)
