"""Text hubs: all-MiniLM-L6-v2 against the reference embeddings, the registry, the frozen tower
with its projection, the combined model, and refusals of bad weights files."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from edgebind.models import build
from edgebind.models.bert import BertConfig, BertModel, load_reference_weights
from edgebind.models.checkpoint import CheckpointError
from edgebind.models.safetensors_file import SafetensorsError, read_safetensors
from edgebind.models.text_hubs import (
    TEXT_HUBS, TextHubError, build_text_tower, get_text_hub, register_text_hub, with_text_hub,
)

TOL = 1e-5   # the fixture's float32 tolerance


@pytest.fixture(scope="module")
def tower(minilm_files):
    return build_text_tower("all-MiniLM-L6-v2")


def _embed(tower, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return tower(torch.from_numpy(x)).numpy()


def test_fp32_parity_with_the_reference(tower, minilm_reference):
    tok = tower.tokenizer()
    ref = minilm_reference["embeddings"]
    full = _embed(tower, tok(minilm_reference["sentences"]))      # padded to 256 (long inputs)
    assert full.shape == ref.shape and np.abs(full - ref).max() <= TOL
    one_by_one = np.concatenate([_embed(tower, tok([s])) for s in minilm_reference["sentences"]])
    assert np.abs(one_by_one - ref).max() <= TOL                    # padding changes nothing
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-6)


def test_reference_input_ids_give_reference_embeddings(tower, minilm_reference):
    x = np.stack([minilm_reference["input_ids"], minilm_reference["attention_mask"]], axis=1)
    assert np.abs(_embed(tower, x) - minilm_reference["embeddings"]).max() <= TOL


def test_tower_is_frozen_and_projection_trains(minilm_files):
    t = build_text_tower(projection_dim=64, seed=3)
    assert t.embed_dim == 64 and not any(p.requires_grad for p in t.encoder.parameters())
    assert t.projection.weight.requires_grad
    t.train()
    assert t.training and not t.encoder.training
    x = torch.from_numpy(t.tokenizer()(["a dog barking", "glass breaking"]))
    y = t(x)
    assert y.shape == (2, 64) and torch.allclose(y.norm(dim=1), torch.ones(2), atol=1e-5)
    y.sum().backward()
    assert t.projection.weight.grad is not None
    same = build_text_tower(projection_dim=64, seed=3)
    assert torch.equal(same.projection.weight, t.projection.weight)
    assert not torch.equal(build_text_tower(projection_dim=64, seed=4).projection.weight,
                           t.projection.weight)


def test_bad_inputs_are_refused(tower):
    for bad in (torch.zeros(2, 10, dtype=torch.int64), torch.zeros(1, 2, 300, dtype=torch.int64),
                torch.zeros(1, 2, 4, dtype=torch.int32)):
        with pytest.raises(ValueError, match="batch, 2, tokens"):
            tower(bad)
    with pytest.raises(ValueError, match="positive int"):
        build_text_tower(projection_dim=0)


def test_registry(minilm_files):
    hub = get_text_hub("all-MiniLM-L6-v2")
    assert hub.dim == 384 and hub.tokenizer.max_tokens == 256 and hub.tokenizer.kind == "wordpiece"
    with pytest.raises(TextHubError, match="unknown text hub 'nope'.*all-MiniLM-L6-v2"):
        get_text_hub("nope")
    with pytest.raises(TextHubError, match="already registered"):
        register_text_hub(hub)
    assert set(TEXT_HUBS) >= {"all-MiniLM-L6-v2"}


def test_manifest_entry_names_the_hub_and_its_weights(tower, minilm_files):
    e = tower.manifest_entry()
    assert e["hub"] == "all-MiniLM-L6-v2" and e["embed_dim"] == e["hub_dim"] == 384
    assert e["weights"]["sha256"] == \
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"   # fixture README
    assert e["tokenizer"]["vocab_size"] == sum(1 for _ in open(minilm_files / "vocab.txt"))


def test_hub_model_routes_text_to_the_hub(tower):
    base = build("tiny", modalities=["vision", "imu"])
    with pytest.raises(ValueError, match="out_embed_dim=384 or projection_dim"):
        with_text_hub(base, tower)
    with pytest.raises(ValueError, match="own text tower"):
        with_text_hub(build("tiny"), tower)
    model = with_text_hub(base, "all-MiniLM-L6-v2", projection_dim=base.embed_dim)
    assert model.modalities == ("vision", "text", "imu")
    x = torch.from_numpy(model.text_tokenizer()(["a dog barking"]))
    with torch.inference_mode():
        out = model({"text": x, "imu": torch.zeros(1, 6, 2000)})
    assert out["text"].shape == out["imu"].shape == (1, base.embed_dim)
    with pytest.raises(ValueError, match="no tower"):
        model({"audio": torch.zeros(1)})


def _write_safetensors(path, tensors: dict[str, np.ndarray], header_extra=None) -> None:
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {"dtype": {np.float32: "F32", np.int64: "I64"}[a.dtype.type],
                     "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header.update(header_extra or {})
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_safetensors_reader_and_refusals(tmp_path):
    p = tmp_path / "w.safetensors"
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    _write_safetensors(p, {"a": a, "b": np.array([7], np.int64)}, {"__metadata__": {"x": "y"}})
    got = read_safetensors(p)
    np.testing.assert_array_equal(got["a"], a)
    assert got["b"].tolist() == [7] and set(got) == {"a", "b"}
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(SafetensorsError, match="truncated"):
        read_safetensors(p)
    p.write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(SafetensorsError, match="header length"):
        read_safetensors(p)
    p.write_bytes(struct.pack("<Q", 4) + b"{x}!")
    with pytest.raises(SafetensorsError, match="not JSON"):
        read_safetensors(p)
    _write_safetensors(p, {"a": a}, {"c": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}})
    with pytest.raises(SafetensorsError, match="dtype 'Q9'"):
        read_safetensors(p)


def test_weights_that_do_not_fit_are_refused(minilm_files):
    tensors = read_safetensors(minilm_files / "model.safetensors")
    small = BertModel(BertConfig(layers=5))
    with pytest.raises(CheckpointError, match="no place for, e.g. layers.5"):
        load_reference_weights(small, tensors)
    model = BertModel(BertConfig())
    with pytest.raises(CheckpointError, match="missing 2 BERT weights"):
        load_reference_weights(model, {k: v for k, v in tensors.items()
                                       if "layer.3.output.dense" not in k})
    wrong = dict(tensors)
    wrong["embeddings.word_embeddings.weight"] = np.zeros((10, 384), np.float32)
    with pytest.raises(CheckpointError, match="shapes differ.*word.weight"):
        load_reference_weights(model, wrong)
