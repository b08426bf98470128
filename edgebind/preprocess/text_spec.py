"""Which text tower and tokenizer a bundle has: the manifest key ``text_tower`` (torch-free).

A bundle whose text encoder is a text hub (e.g. all-MiniLM-L6-v2) records it at the top level
of ``manifest.json``::

    "text_tower": {
      "schema": "edgebind.text_tower/1",
      "hub": "all-MiniLM-L6-v2", "hub_dim": 384, "embed_dim": 384,
      "projection": false,               # true: a learned hub_dim -> embed_dim projection
      "pooling": "mean", "input": "ids+mask",   # int64 (batch, 2, tokens): ids; attention mask
      "weights": {"file": "model.safetensors", "sha256": "...", "source": "...", "license": "..."},
      "tokenizer": {"kind": "wordpiece",
                    "vocab": {"file": "text.vocab.txt", "sha256": "...", "bytes": 231508},
                    "vocab_size": 30522, "max_tokens": 256, "lowercase": true,
                    "strip_accents": null, "max_chars_per_word": 100,
                    "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]"}
    }

Without the key the text encoder is ImageBind's CLIP text tower: CLIP BPE, ``preprocess.text.
context_length`` (77) tokens, int64 (batch, 77). :func:`text_tokenizer_for_bundle` picks the
tokenizer either way and refuses a text encoder that does not fit what the manifest says.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from edgebind.errors import EdgeBindError
from edgebind.fileio import sha256_file

TEXT_TOWER_KEY = "text_tower"
TEXT_TOWER_SCHEMA = "edgebind.text_tower/1"
TOKENIZER_KINDS = ("wordpiece",)
_SPECIALS = ("cls", "sep", "pad", "unk")


class TextTowerError(EdgeBindError, ValueError):
    """A ``text_tower`` manifest entry that is malformed, or a text encoder or vocabulary that
    does not match it; the message names the bundle, the key and both sides."""


@dataclass(frozen=True)
class TokenizerSpec:
    kind: str
    vocab_file: str                  # in a hub's folder, or the bundle's file
    vocab_size: int
    max_tokens: int
    lowercase: bool = True
    strip_accents: bool | None = None    # None: follows lowercase (BERT's rule)
    max_chars_per_word: int = 100
    cls: str = "[CLS]"
    sep: str = "[SEP]"
    pad: str = "[PAD]"
    unk: str = "[UNK]"
    vocab_sha256: str | None = None
    vocab_bytes: int | None = None

    def wordpiece_options(self) -> dict[str, Any]:
        """Keyword arguments of ``WordPieceTextTokenizer.from_vocab_file``."""
        return {"lowercase": self.lowercase, "strip_accents": self.strip_accents,
                "max_chars_per_word": self.max_chars_per_word, "unk": self.unk,
                "cls_token": self.cls, "sep": self.sep, "pad": self.pad}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "vocab_size": self.vocab_size,
                             "max_tokens": self.max_tokens, "lowercase": self.lowercase,
                             "strip_accents": self.strip_accents,
                             "max_chars_per_word": self.max_chars_per_word,
                             **{k: getattr(self, k) for k in _SPECIALS}}
        if self.vocab_sha256 is not None:
            d["vocab"] = {"file": self.vocab_file, "sha256": self.vocab_sha256,
                          "bytes": self.vocab_bytes}
        return d

    def with_vocab(self, file: str, sha256: str, size: int) -> "TokenizerSpec":
        return replace(self, vocab_file=file, vocab_sha256=sha256, vocab_bytes=size)

    @classmethod
    def from_dict(cls, d: Any, where: str) -> "TokenizerSpec":
        r = _Check(where)
        r.expect(isinstance(d, dict), "", "an object", d)
        r.expect(d.get("kind") in TOKENIZER_KINDS, "kind", f"one of {TOKENIZER_KINDS}", d.get("kind"))
        vocab = d.get("vocab")
        r.expect(isinstance(vocab, dict), "vocab", "an object {file, sha256, bytes}", vocab)
        file, sha, size = vocab.get("file"), vocab.get("sha256"), vocab.get("bytes")
        r.expect(isinstance(file, str) and bool(file) and "/" not in file and "\\" not in file
                 and file not in (".", ".."), "vocab.file", "a plain file name in the bundle", file)
        r.expect(isinstance(sha, str) and len(sha) == 64, "vocab.sha256", "64 hex digits", sha)
        r.expect(_int(size, 1), "vocab.bytes", "a size in bytes", size)
        for k in ("vocab_size", "max_tokens", "max_chars_per_word"):
            r.expect(_int(d.get(k), 2 if k == "max_tokens" else 1), k, "a positive integer", d.get(k))
        r.expect(isinstance(d.get("lowercase"), bool), "lowercase", "true or false", d.get("lowercase"))
        r.expect(d.get("strip_accents") in (None, True, False), "strip_accents",
                 "true, false or null", d.get("strip_accents"))
        for k in _SPECIALS:
            r.expect(isinstance(d.get(k), str) and bool(d.get(k)), k, "a token string", d.get(k))
        return cls(kind=d["kind"], vocab_file=file, vocab_size=d["vocab_size"],
                   max_tokens=d["max_tokens"], lowercase=d["lowercase"],
                   strip_accents=d.get("strip_accents"),
                   max_chars_per_word=d["max_chars_per_word"], vocab_sha256=sha,
                   vocab_bytes=size, **{k: d[k] for k in _SPECIALS})


@dataclass(frozen=True)
class TextTowerSpec:
    hub: str
    hub_dim: int
    embed_dim: int
    projection: bool
    tokenizer: TokenizerSpec
    raw: Mapping[str, Any]

    @classmethod
    def from_dict(cls, d: Any, where: str) -> "TextTowerSpec":
        r = _Check(where)
        r.expect(isinstance(d, dict), "", "an object", d)
        r.expect(d.get("schema") == TEXT_TOWER_SCHEMA, "schema",
                 f"{TEXT_TOWER_SCHEMA!r} (a newer EdgeBind wrote it?)", d.get("schema"))
        r.expect(isinstance(d.get("hub"), str) and bool(d.get("hub")), "hub", "a hub name", d.get("hub"))
        for k in ("hub_dim", "embed_dim"):
            r.expect(_int(d.get(k), 1), k, "a positive integer", d.get(k))
        r.expect(isinstance(d.get("projection"), bool), "projection", "true or false",
                 d.get("projection"))
        r.expect(d.get("projection") or d["embed_dim"] == d["hub_dim"], "embed_dim",
                 f"{d['hub_dim']} (hub_dim; there is no projection)", d["embed_dim"])
        r.expect(d.get("pooling") == "mean", "pooling", "'mean'", d.get("pooling"))
        r.expect(d.get("input") == "ids+mask", "input", "'ids+mask'", d.get("input"))
        tok = TokenizerSpec.from_dict(d.get("tokenizer"), f"{where}.tokenizer")
        return cls(d["hub"], d["hub_dim"], d["embed_dim"], d["projection"], tok, d)

    def describe(self) -> str:
        proj = f" projected to {self.embed_dim}" if self.projection else ""
        return (f"text hub {self.hub} ({self.hub_dim}-d{proj}; {self.tokenizer.kind} tokenizer, "
                f"{self.tokenizer.max_tokens} tokens, input (batch, 2, tokens))")


class _Check:
    def __init__(self, where: str):
        self.where = where

    def expect(self, ok: bool, key: str, expected: str, found: Any) -> None:
        if not ok:
            k = f"{self.where}.{key}" if key else self.where
            raise TextTowerError(f"key {k!r}: expected {expected}, found {found!r:.80}")


def _int(x: Any, lo: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= lo


def read_text_tower(manifest_extra: Mapping[str, Any], where: str) -> TextTowerSpec | None:
    """The bundle's text tower entry, validated; None where the manifest has none (CLIP)."""
    raw = manifest_extra.get(TEXT_TOWER_KEY)
    if raw is None:
        return None
    return TextTowerSpec.from_dict(raw, f"{where}: {TEXT_TOWER_KEY}")


def text_tokenizer_for_bundle(root: str | Path, manifest: Any):
    """The tokenizer for a bundle's text encoder (``manifest``: an ``edgebind.runtime``
    Manifest). Refuses, naming both sides, a text encoder whose input or output does not fit
    the manifest's ``text_tower`` (or, without that key, CLIP's 77 tokens), and a vocabulary
    file that is missing, altered or of another size."""
    from edgebind.preprocess.text_tokens import ClipTextTokenizer, WordPieceTextTokenizer

    root = Path(root)
    entry = manifest.encoders.get("text")
    if entry is None:
        raise TextTowerError(f"{root}: the bundle has no text encoder (it has "
                             f"{', '.join(manifest.encoders)}); prompts need one")
    shape, dtype, out_dim = tuple(entry.input.shape), entry.input.dtype, entry.output.shape[-1]
    seen = f"encoders.text takes {dtype} {list(shape)} and gives {out_dim}-d embeddings"
    spec = read_text_tower(manifest.extra, f"{root / 'manifest.json'}")
    if spec is None:
        ctx = int((manifest.preprocess.get("text") or {}).get("context_length", 77))
        if dtype != "int64" or len(shape) != 2 or shape[1] != ctx:
            raise TextTowerError(
                f"{root}: the manifest names no {TEXT_TOWER_KEY!r}, so its text encoder should be "
                f"ImageBind's CLIP tower (CLIP BPE, int64 [batch, {ctx}]), but {seen}; the text "
                "encoder does not match its manifest (re-export the bundle)")
        return ClipTextTokenizer(ctx)
    t = spec.tokenizer
    fits = (dtype == "int64" and len(shape) == 3 and shape[1] == 2
            and (isinstance(shape[2], str) or 2 <= shape[2] <= t.max_tokens)
            and out_dim == spec.embed_dim)
    if not fits:
        raise TextTowerError(f"{root}: the manifest's {TEXT_TOWER_KEY!r} names {spec.describe()} "
                             f"-> {spec.embed_dim}-d, but {seen}; the text encoder does not "
                             "match its manifest (re-export the bundle)")
    vocab = root / t.vocab_file
    if vocab.is_symlink() or not vocab.is_file():
        raise TextTowerError(f"{root}: {t.vocab_file}, the vocabulary the manifest's "
                             f"{TEXT_TOWER_KEY!r} names, is missing or not a regular file")
    size, digest = vocab.stat().st_size, sha256_file(vocab)
    if size != t.vocab_bytes or digest != t.vocab_sha256:
        raise TextTowerError(f"{root}: {t.vocab_file} has {size} bytes, sha256 {digest[:16]}...; "
                             f"the manifest's {TEXT_TOWER_KEY!r} says {t.vocab_bytes} bytes, "
                             f"{t.vocab_sha256[:16]}... (the file was modified)")
    tok = WordPieceTextTokenizer.from_vocab_file(vocab, t.max_tokens, **t.wordpiece_options())
    if tok.vocab_size != t.vocab_size:
        raise TextTowerError(f"{root}: {t.vocab_file} holds {tok.vocab_size} tokens; the "
                             f"manifest's {TEXT_TOWER_KEY!r} says {t.vocab_size}")
    return tok
