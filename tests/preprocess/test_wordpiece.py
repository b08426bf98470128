"""WordPiece tokenizer (all-MiniLM-L6-v2): reference ids on the fixture, the algorithm on a toy
vocabulary, notes on what happened to each text, and fuzzing (against the reference
implementation where it is installed, and for invariants everywhere)."""
from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.preprocess import wordpiece as W
from edgebind.preprocess.text_tokens import (
    ClipTextTokenizer, TextInputError, WordPieceTextTokenizer,
)
from edgebind.preprocess.tokenizer import tokenize
from tests.conftest import missing

TOY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff", "able",
       "a", "##b", "!", "cafe", "x", "##x"]


@pytest.fixture(scope="module")
def tok(minilm_files):
    return WordPieceTextTokenizer.from_vocab_file(minilm_files / "vocab.txt")


@pytest.fixture(scope="module")
def reference(minilm_files):
    """The reference tokenizer (HF ``tokenizers``, installed with the train extra)."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        missing("the reference tokenizer (tokenizers) is not installed")
    t = Tokenizer.from_file(str(minilm_files / "tokenizer.json"))
    t.no_padding()
    t.no_truncation()
    return t


def test_fixture_ids_and_masks_identical(tok, minilm_reference):
    out = tok.encode(minilm_reference["sentences"], pad_to=256)
    np.testing.assert_array_equal(out.ids, minilm_reference["input_ids"])
    np.testing.assert_array_equal(out.attention_mask, minilm_reference["attention_mask"])
    x = tok.model_input(out)
    assert x.shape == (30, 2, 256) and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1], minilm_reference["attention_mask"])


def test_batch_pads_to_its_longest_text_only(tok, minilm_reference):
    short = [s for s, m in zip(minilm_reference["sentences"], minilm_reference["attention_mask"])
             if m.sum() < 20]
    out = tok.encode(short)
    width = max(int(m.sum()) for m in out.attention_mask)
    assert out.ids.shape == (len(short), width)
    for s, row in zip(short, out.ids):
        i = minilm_reference["sentences"].index(s)
        np.testing.assert_array_equal(row, minilm_reference["input_ids"][i, :width])


def test_notes_report_empty_truncated_and_unknown(tok, minilm_reference):
    sents = minilm_reference["sentences"]
    notes = dict(zip(sents, tok.encode(sents).notes))
    ref_len = {s: int(m.sum()) for s, m in zip(sents, minilm_reference["attention_mask"])}
    for s, n in notes.items():
        assert n.kept == ref_len[s] - 2           # [CLS] and [SEP] are not counted
        assert n.empty == (ref_len[s] == 2)
        assert n.truncated == (n.pieces > 254)
    long = [n for s, n in notes.items() if n.truncated]
    assert len(long) == sum(1 for s in sents if ref_len[s] == 256 and notes[s].pieces > 254) >= 1
    assert all(n.kept == 254 for n in long)
    assert any("truncated" in p for p in long[0].problems())
    unk = [s for s, n in notes.items() if n.unknown]
    assert "🐶 barking 🔊" in unk and not notes["a dog barking"].problems()
    assert notes["🐶 barking 🔊"].unknown == 2 and notes[""].problems()


def test_greedy_longest_match_first():
    wp = W.WordPiece(TOY)
    assert wp.encode("unaffable").ids == (5, 6, 7)
    assert wp.encode("affable a!").ids == (8, 7, 10, 12)
    assert wp.encode("ab").ids == (10, 11)
    assert wp.encode("abc").ids == (1,)            # an unmatched rest: the whole word is [UNK]
    assert wp.encode("Café").ids == (13,)           # lower-cased, accent stripped
    assert wp.encode("x" * 100).ids == (14,) + (15,) * 99
    assert wp.encode("x" * 101).ids == (1,)        # longer than max_chars_per_word
    # a special token only in its exact spelling: "[cls]" is "[", "cls", "]" (unknown here)
    assert wp.encode("un[CLS]a [cls]").ids == (5, 2, 10, 1, 1, 1)
    assert wp.encode("un[CLS]a").ids == (5, 2, 10)


def test_normalisation_rules():
    assert W.normalize("A\tB\u00a0C\u2028d") == "a b c d"
    assert W.normalize("x\x00\ufffd\u200by") == "xy"            # NUL, U+FFFD, format chars
    assert W.normalize("東京") == " 東  京 "                        # CJK ideographs stand alone
    assert W.normalize("ΣΑΣ") == "σασ"                            # no final-sigma rule
    assert W.normalize("İ") == "i"                                 # NFD, mark stripped, lowered
    assert W.pre_tokenize("don't stop—em $5") == ["don", "'", "t", "stop", "—", "em", "$", "5"]


def test_vocabulary_file_errors(tmp_path):
    bad = tmp_path / "vocab.txt"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(W.WordPieceError, match="UTF-8"):
        W.WordPiece.from_file(bad)
    bad.write_text("a\nb\n")
    with pytest.raises(W.WordPieceError, match="unknown token"):
        W.WordPiece.from_file(bad)


def test_bad_text_input(tok):
    for bad in (b"bytes", 3, ["ok", None]):
        with pytest.raises(TextInputError):
            tok.encode(bad)
    with pytest.raises(TextInputError, match="pad_to"):
        tok.encode(["a b c"], pad_to=3)


def test_clip_adapter_matches_tokenize_and_notes_truncation():
    texts = ["a dog barking", "word " * 100, ""]
    clip = ClipTextTokenizer()
    out = clip.encode(texts)
    np.testing.assert_array_equal(clip.model_input(out), tokenize(texts))
    assert [n.truncated for n in out.notes] == [False, True, False]
    assert out.notes[2].empty and out.notes[1].kept == 75


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_fuzz_identical_to_reference(tok, reference, texts):
    texts = [t for t in texts if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)] or ["x"]
    out = tok.encode(texts)
    for row, mask, text in zip(out.ids, out.attention_mask, texts):
        want = reference.encode(text).ids
        want = want[:255] + [want[-1]] if len(want) > 256 else want
        assert row[mask == 1].tolist() == want, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=600), min_size=1,
                max_size=3))
def test_fuzz_invariants(tok, texts):
    out = tok.encode(texts)
    n = len(texts)
    assert out.ids.shape[0] == n and 2 <= out.ids.shape[1] <= 256
    for row, mask, note in zip(out.ids, out.attention_mask, out.notes):
        k = int(mask.sum())
        assert mask[:k].all() and not mask[k:].any()
        assert row[0] == tok.cls_id and row[k - 1] == tok.sep_id and (row[k:] == 0).all()
        assert ((row >= 0) & (row < tok.vocab_size)).all()
        assert note.kept == k - 2 <= 254 and note.pieces >= note.kept


@pytest.mark.slow
def test_every_code_point_normalises_as_the_reference(reference):
    """The Unicode tables (scripts/wordpiece_unicode.py) are current for this Python."""
    from edgebind.preprocess import _wordpiece_unicode as U
    if U.UNIDATA_VERSION != unicodedata.unidata_version:
        pytest.skip(f"tables measured for Unicode {U.UNIDATA_VERSION}, this Python has "
                    f"{unicodedata.unidata_version}: rerun scripts/wordpiece_unicode.py")
    norm, pre = reference.normalizer.normalize_str, reference.pre_tokenizer.pre_tokenize_str
    bad = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if norm(c) != W.normalize(c):
            bad.append(cp)
        elif cp > 0x7F and W.normalize(c) == c.lower() and c.strip():
            if (len(pre("a" + c + "b")) == 3) != W._is_punctuation(c):
                bad.append(cp)
    assert not bad, [hex(b) for b in bad[:20]]
