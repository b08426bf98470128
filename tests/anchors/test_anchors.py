"""Anchor building (prompt ensembles, examples, composition), files, and refusing other spaces."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.anchors import (DEFAULT_TEMPLATES, Anchor, AnchorSet, AnchorSetError, build_anchor_set,
                              composed_anchor, example_anchor, load_prompts, text_anchor)
from edgebind.space import SpaceMismatchError
from tests.anchors.conftest import fake_encoder

D = 24
SPACE = "ebs1-aaaaaaaaaaaaaaaaaaaa"


def unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def test_text_anchor_is_the_renormalised_mean_over_templates_and_prompts():
    enc = fake_encoder(D)
    a = text_anchor("glass", ["glass breaking", "a window shattering"], enc)
    assert a.source == "text" and set(a.embeddings) == set(DEFAULT_TEMPLATES)
    for key, templates in DEFAULT_TEMPLATES.items():
        texts = [t.replace("{}", p) for t in templates for p in a.prompts]
        want = unit(np.mean([unit(r) for r in enc(texts)], axis=0))
        np.testing.assert_allclose(a.embeddings[key], want, atol=1e-6)
    assert "the sound of glass breaking." in {t for call in enc.calls for t in call}
    # The default is the plain prompts: no template words.
    np.testing.assert_allclose(a.embedding("default"),
                               unit(unit(enc(["glass breaking"])[0]) + unit(enc(["a window shattering"])[0])),
                               atol=1e-6)
    assert a.embedding("imu") is a.embeddings["imu"]


def test_templates_may_contain_braces_and_are_validated():
    enc = fake_encoder(D)
    a = text_anchor("x", ["{weird} prompt"], enc, templates={"audio": ["{} {literal}"]})
    assert set(a.embeddings) == {"default", "audio"}
    np.testing.assert_allclose(a.embeddings["audio"], unit(enc(["{weird} prompt {literal}"])[0]), atol=1e-6)
    with pytest.raises(ValueError, match="no '{}'"):
        text_anchor("x", ["p"], enc, templates={"audio": ["no slot"]})
    with pytest.raises(ValueError, match="at least one prompt"):
        text_anchor("x", [], enc)
    with pytest.raises(ValueError, match="list of strings"):
        text_anchor("x", "a prompt", enc)
    blank = text_anchor("x", ["  "], enc, templates={})   # embedded as "", reported by the CLI
    np.testing.assert_allclose(blank.embeddings["default"], unit(enc([""])[0]), atol=1e-6)
    with pytest.raises(ValueError, match=r"returned shape \(2, 24\); expected \(2, 32\)"):
        text_anchor("x", ["p", "q"], enc, templates={}, dim=32)
    with pytest.raises(ValueError, match="NaN"):
        text_anchor("x", ["p"], lambda t: np.full((len(t), D), np.nan))


def test_example_anchor_is_a_few_shot_mean():
    rng = np.random.default_rng(1)
    audio, imu = rng.standard_normal((5, D)) * 20, rng.standard_normal((3, D)) * 5
    a = example_anchor("fall", {"audio": audio, "imu": imu}, threshold=0.4)
    np.testing.assert_allclose(a.embeddings["audio"], unit(np.mean([unit(r) for r in audio], 0)), atol=1e-6)
    np.testing.assert_allclose(a.embeddings["default"],
                               unit(a.embeddings["audio"] + a.embeddings["imu"]), atol=1e-6)
    assert a.source == "examples" and a.meta["examples"] == {"audio": 5, "imu": 3}
    with pytest.raises(ValueError, match="NaN"):
        example_anchor("bad", np.full((2, D), np.nan))
    with pytest.raises(ValueError, match="example key 'smell'"):
        example_anchor("bad", {"smell": audio})


def test_composed_anchor_is_embedding_arithmetic():
    enc = fake_encoder(D)
    alarm = text_anchor("alarm", ["smoke alarm"], enc, templates={"audio": ["the sound of {}."]})
    dog = text_anchor("dog", ["dog barking"], enc, templates={})
    c = composed_anchor("alarm_not_dog", [(alarm, 1.0), (dog, -0.3)])
    np.testing.assert_allclose(c.embeddings["default"], unit(alarm.embeddings["default"] - 0.3 * dog.embeddings["default"]), atol=1e-6)
    # dog has no audio embedding: its default stands in
    np.testing.assert_allclose(c.embeddings["audio"], unit(alarm.embeddings["audio"] - 0.3 * dog.embeddings["default"]), atol=1e-6)
    assert c.meta["composition"] == [{"anchor": "alarm", "weight": 1.0}, {"anchor": "dog", "weight": -0.3}]
    with pytest.raises(ValueError, match="cancels out"):
        composed_anchor("zero", [(alarm, 1.0), (alarm, -1.0)])
    with pytest.raises(ValueError, match="weight must be a finite number"):
        composed_anchor("nan", [(alarm, float("nan"))])


def _set(space=SPACE, dim=D) -> AnchorSet:
    enc = fake_encoder(dim)
    return AnchorSet(space_id=space, dim=dim, anchors=[
        text_anchor("glass", ["glass breaking"], enc, threshold=0.3),
        text_anchor("quiet", ["a quiet room"], enc, templates={}, background=True)])


def test_save_load_round_trip(tmp_path):
    s = _set()
    p = s.save(tmp_path / "sub" / "anchors.json")
    d = json.loads(p.read_text())
    assert d["schema"] == "edgebind.anchors/1" and d["space_id"] == SPACE and d["dim"] == D
    t = AnchorSet.load(p, space_id=SPACE)
    assert t.names == ["glass", "quiet"] and [a.name for a in t.background] == ["quiet"]
    assert t.thresholds() == {"glass": 0.3}
    for a, b in zip(s, t):
        assert set(a.embeddings) == set(b.embeddings)
        for k in a.embeddings:
            np.testing.assert_allclose(a.embeddings[k], b.embeddings[k], atol=1e-7)
    assert t.matrix("audio").shape == (2, D)
    assert not list(tmp_path.glob("sub/.*tmp")), "temporary file left behind"


def test_anchor_set_from_another_space_is_refused(tmp_path):
    p = _set().save(tmp_path / "a.json")
    with pytest.raises(SpaceMismatchError, match="embedding spaces differ.*rebuild"):
        AnchorSet.load(p, space_id="ebs1-bbbbbbbbbbbbbbbbbbbb")
    s = AnchorSet.load(p)                     # without a space to check, it loads
    with pytest.raises(AnchorSetError, match="anchors have dim 24 but the encoder's embeddings have dim 128"):
        AnchorSet.load(p, space_id=SPACE, dim=128)
    with pytest.raises(SpaceMismatchError):
        s.check_space("ebs1-bbbbbbbbbbbbbbbbbbbb")


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.update(schema="edgebind.anchors/2"), r"key 'schema': expected 'edgebind.anchors/1'.*newer"),
    (lambda d: d.pop("space_id"), r"missing key 'space_id'"),
    (lambda d: d.update(dim="24"), r"key 'dim': expected the embedding dimension"),
    (lambda d: d["anchors"][0]["embeddings"]["default"].pop(), r"anchors\[0\] \('glass'\).*embeddings.default: expected 24 numbers"),
    (lambda d: d["anchors"][0]["embeddings"].update(audio=[float("nan")] * 24), r"embeddings.audio contains NaN"),
    (lambda d: d["anchors"][0]["embeddings"].update(smell=[1.0] * 24), r"embeddings key 'smell'"),
    (lambda d: d["anchors"][1].update(name="glass"), r"duplicate anchor name 'glass'"),
    (lambda d: d["anchors"][1].update(name="a/b"), r"name must be"),
    (lambda d: d["anchors"][0].update(threshold="high"), r"threshold must be a finite number"),
    (lambda d: d["anchors"][0]["embeddings"].update(default=[0.0] * 24), r"zero norm"),
    (lambda d: d["anchors"][0].update(source="magic"), r"source must be one of"),
])
def test_malformed_anchor_files_name_the_problem(tmp_path, mutate, match):
    d = _set().to_dict()
    mutate(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(AnchorSetError, match=match) as info:
        AnchorSet.load(p)
    assert str(p) in str(info.value)


def test_missing_and_non_json_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="edgebind anchors build"):
        AnchorSet.load(tmp_path / "nope.json")
    (tmp_path / "x.json").write_bytes(b"\x00\xffnot json")
    with pytest.raises(AnchorSetError, match="not a JSON anchor set"):
        AnchorSet.load(tmp_path / "x.json")


PROMPTS = """
schema = "edgebind.prompts/1"
modalities = ["audio", "vision"]
[templates]
audio = ["the sound of {}.", "{} can be heard."]

[[anchor]]
name = "glass_breaking"
prompts = ["glass breaking", "a window shattering"]
threshold = 0.3

[[anchor]]
name = "dog_barking"
prompts = ["a dog barking"]
[anchor.templates]
audio = ["a dog making the sound of {}."]

[[anchor]]
name = "quiet"
prompts = ["a quiet room"]
background = true

[[anchor]]
name = "loud_not_dog"
compose = [{anchor = "glass_breaking", weight = 1}, {anchor = "dog_barking", weight = -0.5}]

[[anchor]]
name = "my_fall"
examples = {imu = "fall_imu.npy"}
threshold = 0.25
"""


def test_prompts_file_builds_every_kind_of_anchor(tmp_path):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "fall_imu.npy", rng.standard_normal((4, D)).astype(np.float32))
    (tmp_path / "prompts.toml").write_text(PROMPTS)
    pf = load_prompts(tmp_path / "prompts.toml")
    assert [s.name for s in pf.specs] == ["glass_breaking", "dog_barking", "quiet", "loud_not_dog", "my_fall"]
    assert set(pf.templates) == {"default", "audio", "vision"}
    enc = fake_encoder(D)
    aset = build_anchor_set(pf, enc, SPACE, D)
    g, dog, q, comp, fall = (aset[n] for n in aset.names)
    assert g.templates["audio"] == ("the sound of {}.", "{} can be heard.") and g.threshold == 0.3
    assert dog.templates["audio"] == ("a dog making the sound of {}.",)
    assert set(g.embeddings) == {"default", "audio", "vision"}
    assert q.background and [a.name for a in aset.targets] == ["glass_breaking", "dog_barking", "loud_not_dog", "my_fall"]
    np.testing.assert_allclose(comp.embeddings["audio"],
                               unit(g.embeddings["audio"] - 0.5 * dog.embeddings["audio"]), atol=1e-6)
    assert fall.source == "examples" and fall.threshold == 0.25 and set(fall.embeddings) == {"imu", "default"}
    out = AnchorSet.load(aset.save(tmp_path / "anchors.json"), space_id=SPACE)
    assert out.names == aset.names


@pytest.mark.parametrize("text,match", [
    ("[[anchor]]\nname = 'a'\n", r"exactly one of prompts, compose or examples"),
    ("[[anchor]]\nname = 'a'\nprompts = ['x']\ncompose = [{anchor = 'b'}]\n", r"exactly one of"),
    ("[[anchor]]\nname = 'a'\ncompose = [{anchor = 'zz'}]\n", r"compose refers to 'zz'"),
    ("[[anchor]]\nname = 'a'\nprompts = ['x']\n[[anchor]]\nname = 'a'\nprompts = ['y']\n", r"duplicate anchor name 'a'"),
    ("[[anchor]]\nname = 'a'\nprompts = ['x']\nthreshhold = 0.3\n", r"anchor\[0\]: unknown key\(s\) threshhold"),
    ("[[anchor]]\nname = 'a'\nprompts = 'x'\n", r"anchor 'a': prompts: expected a list of strings"),
    ("[templates]\naudio = ['no slot']\n[[anchor]]\nname = 'a'\nprompts = ['x']\n", r"has no '\{\}'"),
    ("modalities = ['smell']\n[[anchor]]\nname = 'a'\nprompts = ['x']\n", r"'smell' is not one of"),
    ("schema = 'edgebind.prompts/9'\n", r"key 'schema'"),
    ("title = 'x'\n", r"unknown key\(s\) title"),
    ("", r"at least one \[\[anchor\]\]"),
    ("[[anchor]\n", r"not a valid TOML prompts file"),
])
def test_prompts_file_errors_name_file_and_key(tmp_path, text, match):
    p = tmp_path / "p.toml"
    p.write_text(text)
    with pytest.raises(AnchorSetError, match=match) as info:
        load_prompts(p)
    assert str(p) in str(info.value)


def test_composition_cycles_are_reported():
    from edgebind.anchors import parse_prompts
    pf = parse_prompts({"anchor": [{"name": "a", "compose": [{"anchor": "b"}]},
                                   {"name": "b", "compose": [{"anchor": "a"}]}]})
    with pytest.raises(ValueError, match="cycle: a, b"):
        build_anchor_set(pf, fake_encoder(D), SPACE, D)


def test_anchor_dim_must_match_the_set():
    s = _set()
    with pytest.raises(AnchorSetError, match="expected 24 numbers"):
        s.add(Anchor("other", {"default": np.ones(D + 1)}))


def test_empty_modalities_keep_only_the_plain_prompts(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("modalities = []\n[[anchor]]\nname = 'door'\nprompts = ['a door slamming']\n")
    enc = fake_encoder(D)
    aset = build_anchor_set(load_prompts(p), enc, SPACE, D)
    assert set(aset["door"].embeddings) == {"default"}
    assert enc.calls == [["a door slamming"]]
