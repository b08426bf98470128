"""Text -> model input for every kind of text tower, with a note per text on what happened.

Two kinds, one interface (:class:`TextTokenizer`):
- ``wordpiece`` (text hubs such as all-MiniLM-L6-v2): ``[CLS] pieces [SEP]``, at most
  ``max_tokens`` (256) including both; the model input is int64 (N, 2, L): row 0 the token
  ids, row 1 the attention mask, L the longest text of the batch (or ``pad_to``).
- ``clip-bpe`` (ImageBind's CLIP text tower): ``[SOT] bpe [EOT]`` zero padded to 77, int64 (N, 77).

Nothing is refused for being odd: empty or punctuation-only prompts, other scripts and emoji
all tokenize; :class:`TextNote` says when a text was truncated, became empty or holds word
pieces the vocabulary does not know, so callers (``edgebind anchors build``) can report it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from edgebind.errors import EdgeBindError
from edgebind.preprocess.wordpiece import WordPiece


class TextInputError(EdgeBindError, ValueError):
    """Texts that are not strings (the message says which item)."""


@dataclass(frozen=True)
class TextNote:
    """What tokenizing one text did: ``pieces`` before truncation, ``kept`` after it,
    ``unknown`` pieces the vocabulary has no entry for (mapped to [UNK])."""

    pieces: int
    kept: int
    unknown: int = 0

    @property
    def truncated(self) -> bool:
        return self.kept < self.pieces

    @property
    def empty(self) -> bool:
        return self.pieces == 0

    def problems(self) -> list[str]:
        """Human-readable findings; empty when the text tokenized cleanly."""
        out = []
        if self.empty:
            out.append("no words the tokenizer keeps (empty, blank or control characters only)")
        if self.truncated:
            out.append(f"truncated: {self.pieces} tokens, the first {self.kept} kept")
        if self.unknown:
            out.append(f"{self.unknown} of {self.kept} tokens unknown to the vocabulary "
                       "(other scripts or emoji?)")
        return out

    def to_dict(self) -> dict:
        return {"tokens": self.pieces, "kept": self.kept, "unknown": self.unknown,
                "truncated": self.truncated, "empty": self.empty}


@dataclass(frozen=True)
class TokenizedText:
    ids: np.ndarray              # int64 (N, L)
    attention_mask: np.ndarray   # int64 (N, L)
    notes: tuple[TextNote, ...]


class TextTokenizer(Protocol):
    kind: str
    max_tokens: int

    def encode(self, texts: str | Sequence[str], pad_to: int | None = None) -> TokenizedText: ...

    def model_input(self, tokenized: TokenizedText) -> np.ndarray: ...


def as_texts(texts: str | Sequence[str]) -> list[str]:
    """One string or a sequence of strings -> list, with an error naming a bad item."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Sequence):
        raise TextInputError(f"expected a str or a sequence of str, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TextInputError(f"text {i} is {type(t).__name__}, expected str")
    return list(texts)


def _pad(rows: list[list[int]], width: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, :len(row)] = row
        mask[r, :len(row)] = 1
    return ids, mask


def _width(rows: list[list[int]], pad_to: int | None, max_tokens: int) -> int:
    longest = max((len(r) for r in rows), default=2)
    if pad_to is None:
        return longest
    if isinstance(pad_to, bool) or not isinstance(pad_to, int) or not longest <= pad_to <= max_tokens:
        raise TextInputError(f"pad_to must be an int between {longest} (the longest text) and "
                             f"{max_tokens}, got {pad_to!r}")
    return pad_to


class WordPieceTextTokenizer:
    """WordPiece with [CLS]/[SEP], truncation to ``max_tokens`` and an (ids, mask) model input."""

    kind = "wordpiece"

    def __init__(self, wordpiece: WordPiece, max_tokens: int = 256, cls: str = "[CLS]",
                 sep: str = "[SEP]", pad: str = "[PAD]"):
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 2:
            raise ValueError(f"max_tokens must be an int >= 2, got {max_tokens!r}")
        missing = [t for t in (cls, sep, pad) if t not in wordpiece.vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks the special token(s) {', '.join(missing)}")
        self.wordpiece = wordpiece
        self.max_tokens = max_tokens
        self.cls_id, self.sep_id = wordpiece.vocab[cls], wordpiece.vocab[sep]
        self.pad_id = wordpiece.vocab[pad]

    @classmethod
    def from_vocab_file(cls, path: str | Path, max_tokens: int = 256, *, cls_token: str = "[CLS]",
                        sep: str = "[SEP]", pad: str = "[PAD]", **wordpiece_options):
        return cls(WordPiece.from_file(path, **wordpiece_options), max_tokens, cls_token, sep, pad)

    @property
    def vocab_size(self) -> int:
        return self.wordpiece.size

    def encode(self, texts: str | Sequence[str], pad_to: int | None = None) -> TokenizedText:
        rows, notes = [], []
        room = self.max_tokens - 2
        for text in as_texts(texts):
            enc = self.wordpiece.encode(text)
            kept = list(enc.ids[:room])
            rows.append([self.cls_id, *kept, self.sep_id])
            notes.append(TextNote(len(enc.ids), len(kept),
                                  sum(1 for i in kept if i == self.wordpiece.unk_id)))
        ids, mask = _pad(rows, _width(rows, pad_to, self.max_tokens), self.pad_id)
        return TokenizedText(ids, mask, tuple(notes))

    def model_input(self, tokenized: TokenizedText) -> np.ndarray:
        return np.stack([tokenized.ids, tokenized.attention_mask], axis=1)

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        return self.model_input(self.encode(texts))


class ClipTextTokenizer:
    """ImageBind's CLIP BPE (``edgebind.preprocess.tokenizer``) behind the same interface."""

    kind = "clip-bpe"

    def __init__(self, context_length: int = 77):
        from edgebind.preprocess.tokenizer import get_tokenizer
        self.bpe = get_tokenizer()
        self.max_tokens = context_length

    def encode(self, texts: str | Sequence[str], pad_to: int | None = None) -> TokenizedText:
        if pad_to not in (None, self.max_tokens):
            raise TextInputError(f"the CLIP text tower takes exactly {self.max_tokens} tokens")
        rows, notes = [], []
        for text in as_texts(texts):
            pieces = self.bpe.encode(text)
            kept = pieces[: self.max_tokens - 2]
            rows.append([self.bpe.sot, *kept, self.bpe.eot])
            notes.append(TextNote(len(pieces), len(kept)))   # byte-level: nothing is unknown
        ids, mask = _pad(rows, self.max_tokens, 0)
        return TokenizedText(ids, mask, tuple(notes))

    def model_input(self, tokenized: TokenizedText) -> np.ndarray:
        return tokenized.ids

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        return self.model_input(self.encode(texts))
