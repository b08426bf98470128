"""Fuzzing the anchor-set and prompts-file loaders: anything malformed is an AnchorSetError
(a ValueError naming what was wrong), never another exception and never a half-valid set."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.anchors import AnchorSet, AnchorSetError, load_prompts, parse_prompts

D = 4
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.integers(), st.floats(allow_nan=True),
                      st.text(max_size=8))
json_value = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), c, max_size=4)),
                          max_leaves=12)

def test_huge_integers_are_refused_cleanly():
    doc = json.loads(json.dumps(VALID))
    doc["anchors"][0]["embeddings"]["default"] = [10 ** 400, 0, 0, 0]
    with pytest.raises(AnchorSetError, match="big: anchors.*too large"):
        AnchorSet.from_dict(doc, "big")


VALID = {"schema": "edgebind.anchors/1", "space_id": "ebs1-x", "dim": D,
         "anchors": [{"name": "a", "embeddings": {"default": [1.0, 0.0, 0.0, 0.0],
                                                  "audio": [0.0, 1.0, 0.0, 0.0]},
                      "threshold": 0.2, "prompts": ["p"], "templates": {"audio": ["{}"]}}]}
KEYS = ["schema", "space_id", "dim", "anchors", "meta"]
ANCHOR_KEYS = ["name", "embeddings", "threshold", "prompts", "templates", "background", "source", "meta"]


def _check_loaded(s: AnchorSet) -> None:
    assert s.dim >= 1 and s.space_id
    for a in s:
        for v in a.embeddings.values():
            assert v.shape == (s.dim,) and np.all(np.isfinite(v))
            assert abs(float(np.linalg.norm(v)) - 1) < 1e-5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_value, st.fixed_dictionaries({}, optional={k: json_value for k in KEYS})))
def test_random_documents(doc):
    try:
        _check_loaded(AnchorSet.from_dict(doc, "fuzz"))
    except AnchorSetError as exc:
        assert str(exc).startswith("fuzz")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS + ANCHOR_KEYS), json_value, st.booleans())
def test_one_field_replaced(key, value, in_anchor):
    doc = json.loads(json.dumps(VALID))
    target = doc["anchors"][0] if in_anchor and key in ANCHOR_KEYS else doc
    target[key] = value
    try:
        _check_loaded(AnchorSet.from_dict(doc, "fuzz"))
    except AnchorSetError as exc:
        assert "fuzz" in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_on_disk(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fuzz") / "a.json"
    p.write_bytes(data)
    try:
        _check_loaded(AnchorSet.load(p))
    except AnchorSetError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.one_of(json_value, st.fixed_dictionaries(
    {}, optional={"anchor": st.lists(st.fixed_dictionaries(
        {}, optional={k: json_value for k in ["name", "prompts", "compose", "examples", "threshold",
                                               "background", "templates"]}), max_size=3),
                  "templates": json_value, "modalities": json_value, "schema": json_value})))
def test_random_prompt_documents(doc):
    try:
        pf = parse_prompts(doc, "fuzz")
    except AnchorSetError as exc:
        assert str(exc).startswith("fuzz")
    else:
        assert pf.specs and all(s.name for s in pf.specs)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_random_prompt_files(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "p.toml"
    p.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        load_prompts(p)
    except AnchorSetError as exc:
        assert str(p) in str(exc)
