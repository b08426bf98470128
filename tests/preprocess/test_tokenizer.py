"""Tokenizer: parity with the reference ids, structure, fuzzing, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebind.preprocess.tokenizer import (
    TextParams, byte_alphabet, byte_encoder, clean_text, decode, get_tokenizer, tokenize,
)

SOT, EOT = 49406, 49407


def test_fixture_ids_identical(preproc_dir):
    texts = json.loads((preproc_dir / "text_inputs.json").read_text())
    ref = np.load(preproc_dir / "text_tokens.npy")
    out = tokenize(texts)
    assert out.dtype == np.int64 and out.shape == ref.shape == (11, 77)
    np.testing.assert_array_equal(out, ref)
    meta = json.loads((preproc_dir / "meta.json").read_text())["text"]
    assert [int(np.argmax(r)) for r in out] == meta["eot_positions"]


def test_spec_example_and_specials():
    assert tokenize("A dog.")[0, :6].tolist() == [SOT, 320, 1929, 269, EOT, 0]
    assert tokenize("")[0, :3].tolist() == [SOT, EOT, 0]
    tok = get_tokenizer()
    assert tok.vocab_size == 49408 and tok.sot == SOT and tok.eot == EOT


def test_byte_alphabet_is_a_bijection_without_whitespace():
    chars = byte_alphabet()
    assert len(set(chars)) == 256
    assert all(not c.isspace() and c.isprintable() for c in chars)
    assert byte_encoder()[ord("a")] == "a" and byte_encoder()[0] == chr(256)


def test_truncation_keeps_eot():
    ids = tokenize("word " * 200)[0]
    assert ids[0] == SOT and ids[-1] == EOT and (ids != 0).all()
    short = tokenize("word " * 200, context_length=10)
    assert short.shape == (1, 10) and short[0, -1] == EOT


def test_cleaning_and_decode_roundtrip():
    assert clean_text("  Hello \n\t  World!  ") == "hello world!"
    assert clean_text("&amp;lt;b&amp;gt;") == "<b>"
    assert decode(tokenize("a photo of a dog")[0]) == "a photo of a dog"
    assert decode(tokenize("你好 🐶")[0]) == "你好 🐶"


@pytest.mark.parametrize("bad", [None, 3, b"bytes", [1, 2], ["ok", None]])
def test_bad_input_types(bad):
    with pytest.raises(TypeError, match="str"):
        tokenize(bad)


def test_bad_context_length():
    with pytest.raises(ValueError, match="context_length"):
        tokenize("x", context_length=1)
    with pytest.raises(ValueError, match="context_length"):
        TextParams(context_length=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        decode([SOT, 10**6])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=3))
def test_fuzz_never_crashes(texts):
    out = tokenize(texts)
    assert out.shape == (len(texts), 77) and out.dtype == np.int64
    for row in out:
        assert row[0] == SOT
        k = int(np.argmax(row == EOT))
        assert row[k] == EOT and (row[1:k] < SOT).all() and (row[1:k] >= 0).all()
        assert (row[k + 1:] == 0).all()
