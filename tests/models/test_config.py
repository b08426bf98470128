"""Configs, presets and building on the meta device (no fixtures needed except the huge key list)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from edgebind.modality import MODALITIES
from edgebind.models import PRESETS, ImageBindConfig, build


def _kinds(model: torch.nn.Module) -> dict[str, str]:
    params = {k for k, _ in model.named_parameters()}
    return {k: "parameter" if k in params else "buffer" for k in model.state_dict()}


def test_config_dict_round_trip():
    cfg = PRESETS["small"]
    assert ImageBindConfig.from_dict(cfg.to_dict()) == cfg
    assert ImageBindConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert ImageBindConfig.from_dict({"kernel_size": [2, 14, 14]}) == ImageBindConfig()


def test_config_rejects_unknown_and_bad_heads():
    with pytest.raises(ValueError, match="unknown ImageBind config keys"):
        ImageBindConfig.from_dict({"vision_width": 3})
    with pytest.raises(ValueError, match="num_heads"):
        ImageBindConfig(vision_embed_dim=100, vision_num_heads=16)
    with pytest.raises(ValueError, match="unknown preset"):
        build("imagebind_giant", device="meta")


def test_parity_kwargs_map_to_config(parity_dir: Path):
    cfg = json.loads((parity_dir / "config.json").read_text())
    full = ImageBindConfig.from_dict(cfg["ctor_kwargs_full"])
    assert full.to_dict() == cfg["ctor_kwargs_full"]  # same names, same order, nothing extra
    assert ImageBindConfig.from_dict(cfg["ctor_kwargs_given"]) == full


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build_on_meta(name):
    model = build(name, device="meta")
    cfg = PRESETS[name]
    assert model.modalities == MODALITIES
    assert all(p.is_meta for p in model.parameters())
    sd = model.state_dict()
    for m in MODALITIES:
        blocks = {k.split(".")[3] for k in sd if k.startswith(f"modality_trunks.{m}.blocks.")}
        assert len(blocks) == cfg.num_blocks(m)
        assert sd[f"modality_trunks.{m}.blocks.0.norm_1.weight"].shape == (cfg.embed_dim(m),)
    assert sd["modality_heads.vision.2.weight"].shape == (cfg.out_embed_dim, cfg.vision_embed_dim)


def test_small_and_tiny_shapes():
    small, tiny = PRESETS["small"], PRESETS["tiny"]
    for m in MODALITIES:
        assert (small.embed_dim(m), small.num_blocks(m), small.num_heads(m)) == (384, 12, 6)
        assert tiny.embed_dim(m) % tiny.num_heads(m) == 0 and tiny.num_blocks(m) <= 4
    assert small.out_embed_dim == 512


def test_huge_matches_reference_state_dict(fixtures_dir: Path):
    ref = json.loads((fixtures_dir / "huge_state_dict.json").read_text())
    model = build("imagebind_huge", device="meta")
    sd = model.state_dict()
    assert len(sd) == ref["num_keys"] == 1311
    assert list(sd) == list(ref["keys"])  # same keys, same order
    kinds = _kinds(model)
    for k, spec in ref["keys"].items():
        assert list(sd[k].shape) == spec["shape"], k
        assert str(sd[k].dtype).removeprefix("torch.") == spec["dtype"], k
        assert kinds[k] == spec["kind"], k
    assert sum(v == "buffer" for v in kinds.values()) == 5
    params = dict(model.named_parameters())
    for m, spec in ref["per_modality"].items():
        assert sum(p.numel() for k, p in params.items() if k.split(".")[1] == m) == spec["params"]
    assert sum(p.numel() for p in params.values()) == ref["total_params"]


def test_build_subset_and_dtype():
    model = build("tiny", modalities=["imu", "vision"], device="meta", dtype=torch.float16)
    assert model.modalities == ("vision", "imu")  # canonical order
    assert {k.split(".")[1] for k in model.state_dict()} == {"vision", "imu"}
    assert all(p.dtype == torch.float16 for p in model.parameters())
    with pytest.raises(ValueError, match="unknown modality"):
        build("tiny", modalities=["lidar"], device="meta")


def test_build_from_kwargs_dict():
    model = build({"out_embed_dim": 16, "imu_embed_dim": 32, "imu_num_blocks": 1,
                   "imu_num_heads": 2}, modalities=["imu"], device="meta")
    assert model.modality_heads.imu[3].weight.shape == (16, 32)
    assert model.training is False


def test_conv_stem_config_and_grid():
    cfg = ImageBindConfig.from_dict({**PRESETS["tiny"].to_dict(), "kernel_size": [2, 32, 32],
                                     "vision_stem": "conv", "depth_stem": "conv",
                                     "depth_kernel_size": 16, "stem_channels": 8})
    assert ImageBindConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert "vision_stem" not in PRESETS["tiny"].to_dict()  # reference kwargs stay exact
    torch.manual_seed(0)
    model = build(cfg, ["vision", "depth"]).eval()
    vis, dep = model.modality_preprocessors["vision"], model.modality_preprocessors["depth"]
    # The conv stack ends on the same grid as the single patch projection would.
    assert vis.stem(torch.zeros(2, 3, 224, 224)).shape == (2, 7 * 7, 128)
    assert dep.stem(torch.zeros(2, 1, 224, 224)).shape == (2, 14 * 14, 128)
    with torch.no_grad():
        img = torch.randn(2, 3, 224, 224)
        a = model.embed("vision", img)
        # An image equals the 2-frame video of itself, as with the reference's (2, k, k) stem.
        b = model.embed("vision", img[:, None, :, None].repeat(1, 1, 1, 2, 1, 1))
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("bad, match", [
    ({"vision_stem": "resnet"}, "vision_stem must be one of"),
    ({"vision_stem": "conv", "kernel_size": [2, 28, 28]}, "power-of-two patch size"),
    ({"thermal_stem": "conv", "thermal_kernel_size": 4}, "power-of-two patch size"),
    ({"stem_channels": 0}, "stem_channels"),
])
def test_conv_stem_config_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        ImageBindConfig.from_dict(bad)
