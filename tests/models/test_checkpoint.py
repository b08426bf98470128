"""Checkpoint loading: strict, subsets, wrappers, config inference and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from edgebind.models import (PRESETS, CheckpointError, ImageBindConfig, build, infer_config,
                             load_checkpoint)
from tests.models.test_inputs import CFG, sample


@pytest.fixture(scope="module")
def source():
    torch.manual_seed(0)
    return build(CFG)


@pytest.fixture(scope="module")
def ckpt(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "model.pth"
    torch.save(source.state_dict(), path)
    return path


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_strict_round_trip(source, ckpt):
    model = load_checkpoint(ckpt, config=CFG)
    _same_weights(source, model)
    assert not model.training
    x = {"imu": sample("imu"), "text": sample("text")}
    with torch.no_grad():
        for k, y in model(x).items():
            assert torch.equal(y, source(x)[k])
    # The loaded weights are plain CPU parameters that still train.
    assert all(p.requires_grad and p.device.type == "cpu" for p in model.parameters())


def test_subset_loads_only_chosen_towers(source, ckpt):
    model = load_checkpoint(ckpt, config=CFG, modalities=["audio", "vision"])
    assert model.modalities == ("vision", "audio")
    keys = set(model.state_dict())
    assert {k.split(".")[1] for k in keys} == {"vision", "audio"}
    full = source.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(v, full[k])


def test_infer_config_with_head_override(source, ckpt):
    cfg = ImageBindConfig.from_dict(CFG)
    assert infer_config(source.state_dict(), num_heads=2) == cfg
    # Width 32 is no preset: head_dim 64 cannot divide it, so the rule falls back to 1 head.
    assert infer_config(source.state_dict()).vision_num_heads == 1
    model = load_checkpoint(ckpt, num_heads=2)
    assert model.config == cfg


@pytest.mark.parametrize("name", ["tiny", "small", "imagebind_huge"])
def test_infer_config_round_trip_presets(name):
    sd = build(name, device="meta").state_dict()
    assert infer_config(sd) == PRESETS[name]
    part = {k: v for k, v in sd.items() if ".imu." in k or ".depth." in k}
    inferred = infer_config(part)
    for m in ("imu", "depth"):
        assert inferred.embed_dim(m) == PRESETS[name].embed_dim(m)
        assert inferred.num_heads(m) == PRESETS[name].num_heads(m)


def test_infer_config_head_dim_rule():
    cfg = ImageBindConfig(vision_embed_dim=512, vision_num_blocks=1, vision_num_heads=4)
    sd = build(cfg, modalities=["vision"], device="meta").state_dict()
    assert infer_config(sd).vision_num_heads == 8  # 512 / 64
    assert infer_config(sd, num_heads={"vision": 4}).vision_num_heads == 4


@pytest.mark.parametrize("wrap", [
    lambda sd: {"model": sd},
    lambda sd: {"state_dict": sd, "epoch": 3},
    lambda sd: {f"module.{k}": v for k, v in sd.items()},
    lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}},
])
def test_wrapped_and_prefixed(source, tmp_path, wrap):
    path = tmp_path / "wrapped.pth"
    torch.save(wrap(source.state_dict()), path)
    _same_weights(source, load_checkpoint(path, config=CFG))
    _same_weights(source, load_checkpoint(wrap(source.state_dict()), config=CFG))


def test_missing_key(source, tmp_path):
    sd = source.state_dict()
    del sd["modality_trunks.audio.blocks.0.attn.bias_k"]
    path = tmp_path / "missing.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"missing key modality_trunks\.audio\.blocks\.0\."
                                              r"attn\.bias_k \(expected shape \(1, 1, 32\)\)"):
        load_checkpoint(path, config=CFG)
    # Not asking for audio makes the file usable.
    assert load_checkpoint(path, config=CFG, modalities=["imu"]).modalities == ("imu",)


def test_wrong_shape_names_key_and_shapes(source):
    sd = source.state_dict()
    sd["modality_heads.imu.3.weight"] = torch.zeros(8, 32)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(sd, config=CFG)
    msg = str(err.value)
    assert "modality_heads.imu.3.weight" in msg and "(16, 32)" in msg and "(8, 32)" in msg


def test_unexpected_key(source):
    sd = source.state_dict() | {"modality_heads.imu.9.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match=r"unexpected key modality_heads\.imu\.9\.weight"):
        load_checkpoint(sd, config=CFG)
    # Keys of towers not asked for are ignored.
    assert load_checkpoint(sd, config=CFG, modalities=["depth"]).modalities == ("depth",)


def test_config_mismatch_is_reported(ckpt):
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_checkpoint(ckpt, config="tiny", modalities=["imu"])


def test_nonexistent_path(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint(missing)
    with pytest.raises(CheckpointError):
        load_checkpoint(missing)


@pytest.mark.parametrize("content", ["truncated", "garbage", "empty"])
def test_corrupt_file(ckpt, tmp_path, content):
    path = tmp_path / f"{content}.pth"
    data = ckpt.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a checkpoint" * 64,
                      "empty": b""}[content])
    with pytest.raises(CheckpointError, match=f"cannot read checkpoint .*{content}.pth"):
        load_checkpoint(path, config=CFG)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match="list.pth.*expected a state dict"):
        load_checkpoint(path)


def test_dtype_and_legacy_format(source, tmp_path):
    path = tmp_path / "legacy.pth"
    torch.save(source.state_dict(), path, _use_new_zipfile_serialization=False)
    model = load_checkpoint(path, config=CFG, dtype=torch.float64, modalities=["imu"])
    assert all(t.dtype == torch.float64 for t in model.state_dict().values())


def test_infer_config_reads_conv_stems():
    cfg = PRESETS["tiny"].replace(kernel_size=(2, 32, 32), vision_stem="conv", thermal_stem="conv",
                                  thermal_kernel_size=64, stem_channels=16)
    sd = build(cfg, device="meta").state_dict()
    assert infer_config(sd) == cfg
