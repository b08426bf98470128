"""BERT WordPiece tokenizer (clean-room, numpy-free core), identical ids to the reference
``BertTokenizer`` / HF ``tokenizers`` pipeline of uncased BERT models such as all-MiniLM-L6-v2.

Per string:
1. Special-token strings written in the text (``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]``,
   ``[MASK]``, exact case) are cut out first and become their ids, as in the reference.
2. Normalise each remaining piece: drop NUL, U+FFFD and control/format/private-use characters;
   map whitespace to ' '; put spaces around CJK ideographs (they are words on their own); NFD and
   drop combining marks (accents); lower-case character by character.
3. Split on whitespace and around every punctuation character (Unicode P* and ASCII symbols).
4. WordPiece each word: greedy longest match from the left, continuations prefixed ``##``; a word
   with any unmatched rest, or longer than ``max_chars_per_word`` characters, is one ``[UNK]``.

The reference's character tables are of other Unicode versions than Python's ``unicodedata``;
the characters whose class differs (newer marks and punctuation, newer case mappings) are in
``_wordpiece_unicode``, measured by ``scripts/wordpiece_unicode.py``, so ids stay identical.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from edgebind.errors import EdgeBindError
from edgebind.preprocess import _wordpiece_unicode as _U

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

# CJK Unified Ideograph blocks (and compatibility ideographs) that BERT treats as single words.
# Extension E starts at U+2B820, but the reference's range starts at U+2B920; kept as it is.
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


class WordPieceError(EdgeBindError, ValueError):
    """A vocabulary file that cannot be a WordPiece vocabulary."""


def _is_whitespace(c: str) -> bool:
    # Tab, newline and carriage return are controls that count as spaces; otherwise the
    # Unicode White_Space characters that survive cleaning (all of category Z*).
    return c in "\t\n\r" or unicodedata.category(c)[0] == "Z"


def _is_control(c: str) -> bool:
    if c in "\t\n\r":
        return False
    cat = unicodedata.category(c)
    if cat == "Cf":
        return ord(c) not in _U.KEPT_FORMAT
    # Unassigned code points (Cn) are kept: the reference's tables do not flag them.
    return cat in ("Cc", "Co", "Cs")


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _is_punctuation(c: str) -> bool:
    cp = ord(c)
    # ASCII symbols such as $ + < = > ^ ` | ~ are not Unicode punctuation but BERT splits them.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    if cp in _U.EXTRA_PUNCT:
        return True
    return unicodedata.category(c)[0] == "P" and cp not in _U.NOT_PUNCT


def normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None) -> str:
    """BERT normalisation of one piece of text (``strip_accents`` None: follow ``lowercase``)."""
    out: list[str] = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or _is_control(c):
            continue
        if _is_whitespace(c):
            out.append(" ")
        elif _is_cjk(cp):
            out.extend((" ", c, " "))
        else:
            out.append(c)
    strip = lowercase if strip_accents is None else strip_accents
    s = "".join(out)
    if not (lowercase or strip):
        return s
    if not _U.CHAR_MAP or not any(ord(c) in _U.CHAR_MAP for c in s):
        return _fold(s, lowercase, strip)
    # Characters the reference maps differently pass through as it maps them; the runs between
    # them fold as usual (they are starters, so NFD ordering does not cross them).
    parts, run = [], []
    for c in s:
        mapped = _U.CHAR_MAP.get(ord(c))
        if mapped is None:
            run.append(c)
            continue
        parts.append(_fold("".join(run), lowercase, strip))
        parts.append(mapped)
        run = []
    parts.append(_fold("".join(run), lowercase, strip))
    return "".join(parts)


def _fold(s: str, lowercase: bool, strip: bool) -> str:
    if strip:
        s = "".join(c for c in unicodedata.normalize("NFD", s)
                    if (unicodedata.category(c) != "Mn" or ord(c) in _U.KEPT_MARKS)
                    and ord(c) not in _U.DROPPED_MARKS)
    if lowercase:
        # Per character, as the reference does (str.lower() would apply final-sigma rules).
        s = "".join(c.lower() for c in s)
    return s


def pre_tokenize(text: str) -> list[str]:
    """Words of normalised text: split on spaces, every punctuation character a word of its own."""
    words: list[str] = []
    current: list[str] = []
    for c in text:
        if c == " " or _is_whitespace(c):
            if current:
                words.append("".join(current))
                current = []
        elif _is_punctuation(c):
            if current:
                words.append("".join(current))
                current = []
            words.append(c)
        else:
            current.append(c)
    if current:
        words.append("".join(current))
    return words


def split_special(text: str, specials: Sequence[str]) -> list[tuple[str, bool]]:
    """``text`` cut at special-token strings: [(piece, is_special)], leftmost match first."""
    out: list[tuple[str, bool]] = []
    start = i = 0
    while i < len(text):
        if text[i] == "[":
            hit = next((s for s in specials if text.startswith(s, i)), None)
            if hit is not None:
                if start < i:
                    out.append((text[start:i], False))
                out.append((hit, True))
                i += len(hit)
                start = i
                continue
        i += 1
    if start < len(text):
        out.append((text[start:], False))
    return out


@dataclass(frozen=True)
class Encoding:
    """Word-piece ids of one text, before truncation and without [CLS]/[SEP]."""

    ids: tuple[int, ...]
    unknown: int        # how many of them are [UNK]


class WordPiece:
    """A WordPiece vocabulary and the full text -> ids pipeline (no truncation, no specials
    added; see :class:`edgebind.preprocess.text_tokens.WordPieceTextTokenizer` for that)."""

    def __init__(self, vocab: Sequence[str], *, unk: str = "[UNK]", prefix: str = "##",
                 lowercase: bool = True, strip_accents: bool | None = None,
                 max_chars_per_word: int = 100, specials: Sequence[str] = SPECIAL_TOKENS):
        self.vocab: dict[str, int] = {}
        for i, tok in enumerate(vocab):
            self.vocab.setdefault(tok, i)   # first occurrence wins on duplicates
        if unk not in self.vocab:
            raise WordPieceError(f"the vocabulary has no unknown token {unk!r}")
        self.unk_id = self.vocab[unk]
        self.prefix = prefix
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.max_chars_per_word = max_chars_per_word
        self.specials = tuple(s for s in specials if s in self.vocab)
        self.size = len(vocab)
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "WordPiece":
        """One token per line (``vocab.txt``); the line number is the id."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WordPieceError(f"{path}: not a UTF-8 vocabulary file ({exc})") from exc
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) < 2:
            raise WordPieceError(f"{path}: {len(lines)} tokens; not a WordPiece vocabulary")
        return cls([ln.rstrip("\r") for ln in lines], **kwargs)

    def word_ids(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first pieces of one pre-tokenized word."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        if len(word) > self.max_chars_per_word:
            return (self.unk_id,)
        ids: list[int] = []
        start, n = 0, len(word)
        while start < n:
            end = n
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                tid = self.vocab.get(piece)
                if tid is not None:
                    ids.append(tid)
                    break
                end -= 1
            else:
                ids = [self.unk_id]   # any unmatched rest makes the whole word unknown
                break
            start = end
        out = tuple(ids)
        if len(self._cache) < 100_000:   # bounded: a long-running process sees endless words
            self._cache[word] = out
        return out

    def encode(self, text: str) -> Encoding:
        ids: list[int] = []
        for piece, special in split_special(text, self.specials):
            if special:
                ids.append(self.vocab[piece])
                continue
            norm = normalize(piece, self.lowercase, self.strip_accents)
            for word in pre_tokenize(norm):
                ids.extend(self.word_ids(word))
        return Encoding(tuple(ids), sum(1 for i in ids if i == self.unk_id))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """Vocabulary strings of ``ids`` (debugging, reports)."""
        inv = getattr(self, "_inv", None)
        if inv is None:
            inv = self._inv = {i: t for t, i in self.vocab.items()}
        return [inv.get(int(i), f"<{int(i)}?>") for i in ids]
