"""A text hub (all-MiniLM-L6-v2) exported into a bundle: the manifest's text_tower key and
vocabulary, every variant against the reference embeddings of shared/fixtures/minilm, the
device check, loading without torch, and bundles whose text tower does not fit their manifest."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgebind.export import quantize
from edgebind.preprocess.text_spec import (
    TEXT_TOWER_KEY, TextTowerError, read_text_tower, text_tokenizer_for_bundle,
)
from edgebind.runtime import cpu as cpu_info
from edgebind.runtime.manifest import Manifest
from tests.conftest import REPO

pytestmark = pytest.mark.slow
INT8_MEAN, INT8_MIN = 0.99, 0.98          # the bar for the bundle's variant


def _manifest(bundle: Path) -> Manifest:
    return Manifest.read(bundle / "manifest.json")


def _cosines(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))


def _run_variant(path: Path, x_rows: list[np.ndarray]) -> np.ndarray:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"text": x})[0] for x in x_rows])


def test_manifest_names_the_text_tower_and_ships_its_vocabulary(minilm_bundle, minilm_files):
    m = _manifest(minilm_bundle)
    spec = read_text_tower(m.extra, "manifest")
    assert spec.hub == "all-MiniLM-L6-v2" and spec.embed_dim == m.embed_dim == 384
    assert not spec.projection and spec.tokenizer.max_tokens == 256
    vocab = minilm_bundle / spec.tokenizer.vocab_file
    assert vocab.read_bytes() == (minilm_files / "vocab.txt").read_bytes()
    text = m.encoders["text"]
    assert list(text.input.shape) == ["batch", 2, "tokens"] and text.input.dtype == "int64"
    from edgebind.runtime.golden import GoldenSet
    golden = GoldenSet.load(minilm_bundle / text.golden.file, "int64")
    assert golden.inputs.ndim == 3 and golden.inputs.shape[1] == 2 and len(golden) == text.golden_n
    ids, mask = golden.inputs[:, 0], golden.inputs[:, 1]
    assert (ids[:, 0] == 101).all() and ((mask == 0) | (mask == 1)).all()   # [CLS] ... mask
    assert {k: v.family for k, v in text.variants.items()} == \
        {"fp32": "fp32", "fp16": "fp16", "int8": "int8", "int8-u8": "int8"}


def test_every_variant_against_the_reference(minilm_bundle, minilm_reference):
    m = _manifest(minilm_bundle)
    tok = text_tokenizer_for_bundle(minilm_bundle, m)
    rows = [tok([s]) for s in minilm_reference["sentences"]]
    ref = minilm_reference["embeddings"]
    here = cpu_info.detect().target
    seen = {}
    for key, v in m.encoders["text"].variants.items():
        path = minilm_bundle / v.file.file
        weights = v.info.get("quantization", {}).get("weight_form")
        if weights and weights not in quantize.EXACT_ON.get(here or "", ()):
            path = quantize.exact_copy(path, path.with_name(f"{key}.exact.onnx"))
        got = _run_variant(path, rows)
        cos = _cosines(got, ref)
        seen[key] = (round(float(cos.mean()), 5), round(float(cos.min()), 5), v.file.bytes)
        if key == "fp32":
            assert np.abs(got - ref).max() <= 1e-5
        elif key == "fp16":
            assert cos.min() >= 0.999
        else:
            assert cos.mean() >= INT8_MEAN and cos.min() >= INT8_MIN, (key, seen[key])
            assert v.file.bytes < 30e6     # uint8 table: the FP32 one alone is 47 MB
    print("variants vs reference (mean, min cosine, bytes):", seen)


def test_load_bundle_checks_the_text_tower_and_embedder_uses_wordpiece(minilm_bundle,
                                                                       minilm_reference):
    from edgebind import Embedder
    e = Embedder.from_bundle(minilm_bundle, modalities=["text"])
    assert e.text_tokenizer.kind == "wordpiece"
    assert e.bundle.choices["text"].status == "verified"
    got = e.embed(text=minilm_reference["sentences"])["text"]
    assert _cosines(got, minilm_reference["embeddings"]).min() >= INT8_MIN
    tokens, batch = e.tokenize_text(["", "a dog barking"])
    assert batch.shape == (2, 2, tokens.ids.shape[1]) and tokens.notes[0].empty
    for p in ("fp32", "fp16"):
        one = Embedder.from_bundle(minilm_bundle, modalities=["text"], precision=p)
        got = one.embed(text=minilm_reference["sentences"])["text"]
        assert _cosines(got, minilm_reference["embeddings"]).min() >= 0.999


def test_device_side_without_torch(minilm_bundle, minilm_reference, tmp_path):
    sents = minilm_reference["sentences"][:6]
    np.save(tmp_path / "ref.npy", minilm_reference["embeddings"][:6])
    (tmp_path / "p.toml").write_text('[[anchor]]\nname = "dog"\nprompts = ["a dog barking"]\n')
    code = textwrap.dedent(f"""
        import sys, json; sys.modules["torch"] = None
        import numpy as np
        from edgebind import Embedder
        from edgebind.cli import main
        e = Embedder.from_bundle({str(minilm_bundle)!r}, modalities=["text"])
        got = e.embed(text={sents!r})["text"]
        ref = np.load({str(tmp_path / "ref.npy")!r})
        cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1)
        rc = main(["anchors", "build", "--bundle", {str(minilm_bundle)!r}, "--prompts",
                   {str(tmp_path / "p.toml")!r}, "--out", {str(tmp_path / "a.json")!r}])
        print(json.dumps({{"kind": e.text_tokenizer.kind, "min": float(cos.min()), "rc": rc}}))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"kind": "wordpiece", "min": out["min"], "rc": 0} and out["min"] >= INT8_MIN
    anchors = json.loads((tmp_path / "a.json").read_text())
    assert anchors["meta"]["text_tower"] == "all-MiniLM-L6-v2" and anchors["dim"] == 384


def _linked_copy(bundle: Path, dest: Path, edit) -> Path:
    """The bundle with hard-linked files (no 90 MB copies) and an edited manifest."""
    shutil.copytree(bundle, dest, copy_function=os.link)
    raw = json.loads((bundle / "manifest.json").read_text())
    (dest / "manifest.json").unlink()
    (dest / "manifest.json").write_text(json.dumps(edit(copy.deepcopy(raw))))
    return dest


def test_bundle_without_the_key_is_refused_naming_both(minilm_bundle, tmp_path):
    from edgebind import Embedder

    def drop(raw):
        del raw[TEXT_TOWER_KEY]
        return raw
    b = _linked_copy(minilm_bundle, tmp_path / "no-key", drop)
    with pytest.raises(TextTowerError, match=r"names no 'text_tower'.*CLIP.*\[batch, 77\].*"
                                             r"\['batch', 2, 'tokens'\]"):
        Embedder.from_bundle(b, modalities=["text"], check=False)


def test_text_tower_that_does_not_fit_its_manifest(minilm_bundle, tmp_path):
    m = _manifest(minilm_bundle)
    clip_like = copy.deepcopy(m)
    text = clip_like.encoders["text"]
    object.__setattr__(text, "input", type(text.input)("text", ("batch", 77), "int64"))
    with pytest.raises(TextTowerError, match=r"all-MiniLM-L6-v2.*but encoders.text takes int64 "
                                             r"\['batch', 77\]"):
        text_tokenizer_for_bundle(minilm_bundle, clip_like)
    projected = copy.deepcopy(m)
    projected.extra[TEXT_TOWER_KEY].update(embed_dim=128, projection=True)
    with pytest.raises(TextTowerError, match="projected to 128.*gives 384-d"):
        text_tokenizer_for_bundle(minilm_bundle, projected)
    bad = copy.deepcopy(m)
    bad.extra[TEXT_TOWER_KEY]["schema"] = "edgebind.text_tower/9"
    with pytest.raises(TextTowerError, match="text_tower.schema"):
        text_tokenizer_for_bundle(minilm_bundle, bad)
    bad = copy.deepcopy(m)
    bad.extra[TEXT_TOWER_KEY]["tokenizer"]["vocab"]["file"] = "../vocab.txt"
    with pytest.raises(TextTowerError, match="vocab.file"):
        text_tokenizer_for_bundle(minilm_bundle, bad)


def test_altered_or_missing_vocabulary(minilm_bundle, tmp_path):
    m = _manifest(minilm_bundle)
    name = m.extra[TEXT_TOWER_KEY]["tokenizer"]["vocab"]["file"]
    root = tmp_path / "b"
    root.mkdir()
    with pytest.raises(TextTowerError, match="missing"):
        text_tokenizer_for_bundle(root, m)
    text = (minilm_bundle / name).read_text().replace("\ndog\n", "\ndoge\n")
    (root / name).write_text(text)
    with pytest.raises(TextTowerError, match="was modified"):
        text_tokenizer_for_bundle(root, m)


def test_precisions_text_hubs_do_not_have(minilm_files, tmp_path):
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.writer import ExportError
    from edgebind.models import build, with_text_hub
    model = with_text_hub(build("tiny", modalities=["imu"]), "all-MiniLM-L6-v2", projection_dim=128)
    with pytest.raises(ExportError, match="precision torch is not made for text hubs"):
        export_bundle(model, tmp_path / "b", ExportOptions(["text"], ["torch"], progress=False),
                      space_id="ebs1-test", model_info={})
    assert not (tmp_path / "b").exists()
