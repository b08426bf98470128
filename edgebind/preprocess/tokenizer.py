"""CLIP byte-level BPE tokenizer (clean-room), identical ids to the reference for text input.

Pipeline per string: clean (ftfy, html-unescape twice, collapse whitespace, lower-case), split
with the CLIP regex, map UTF-8 bytes to printable unicode characters, apply BPE merges, look up
ids, then ``[SOT] + ids[:context_length-2] + [EOT]`` zero padded. The vocabulary file ships in
``edgebind/preprocess/data`` (MIT, see NOTICE.md) and is read once, on first use.
"""
from __future__ import annotations

import gzip
import html
import importlib.resources
import threading
from dataclasses import dataclass
from typing import Sequence

import ftfy
import numpy as np
import regex

from edgebind.preprocess._params import Params

SOT_TEXT = "<|startoftext|>"
EOT_TEXT = "<|endoftext|>"
VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2  # the reference uses lines[1 : 49152-256-2+1] of the file
_CACHE_LIMIT = 50_000  # tokens; bounds memory in a long-running process

# Contractions, runs of letters, single digits, runs of other non-space characters.
_SPLIT = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
_WHITESPACE = regex.compile(r"\s+")


@dataclass(frozen=True)
class TextParams(Params):
    """Text preprocessing: the reference's 77-token context (SOT + 75 + EOT)."""

    context_length: int = 77

    def __post_init__(self) -> None:
        if isinstance(self.context_length, bool) or not isinstance(self.context_length, int) \
                or self.context_length < 2:
            raise ValueError(f"TextParams.context_length must be an int >= 2, got {self.context_length!r}")


def _byte_order() -> list[int]:
    """Byte values in vocabulary order: printable Latin-1 bytes first, then the rest."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    keep = set(printable)
    return printable + [b for b in range(256) if b not in keep]


def byte_encoder() -> dict[int, str]:
    """byte value -> the character standing for it in the vocabulary.

    Bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
    themselves; the other 68 bytes, in byte order, become chr(256), chr(257), ... so that no
    byte is represented by whitespace or a control character.
    """
    order = _byte_order()
    n_printable = 188
    chars = [chr(b) for b in order[:n_printable]] + [chr(256 + i) for i in range(256 - n_printable)]
    return dict(zip(order, chars))


def byte_alphabet() -> list[str]:
    """The 256 byte characters in vocabulary order (the first 256 ids)."""
    return list(byte_encoder().values())


def clean_text(text: str) -> str:
    """The reference's cleaning: ftfy, html-unescape twice, strip, collapse whitespace, lower."""
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return _WHITESPACE.sub(" ", text).strip().lower()


class BPETokenizer:
    """Byte-level BPE with the CLIP vocabulary; build once (reads the 1.3 MB vocab file)."""

    def __init__(self, merges: Sequence[tuple[str, str]]):
        alphabet = byte_alphabet()
        vocab = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges]
        vocab += [SOT_TEXT, EOT_TEXT]
        self.encoder: dict[str, int] = {tok: i for i, tok in enumerate(vocab)}
        self.decoder: dict[int, str] = dict(enumerate(vocab))
        self.ranks: dict[tuple[str, str], int] = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_enc = byte_encoder()
        self.byte_dec = {c: b for b, c in self.byte_enc.items()}
        self.sot = self.encoder[SOT_TEXT]
        self.eot = self.encoder[EOT_TEXT]
        # Special tokens written in the text pass through BPE unchanged, as in the reference.
        self._cache: dict[str, tuple[str, ...]] = {SOT_TEXT: (SOT_TEXT,), EOT_TEXT: (EOT_TEXT,)}
        self._lock = threading.Lock()

    @classmethod
    def from_package(cls) -> "BPETokenizer":
        res = importlib.resources.files("edgebind.preprocess") / "data" / VOCAB_FILE
        with res.open("rb") as fh:
            lines = gzip.decompress(fh.read()).decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1:N_MERGES + 1]]
        return cls(merges)  # type: ignore[arg-type]

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def bpe(self, token: str) -> tuple[str, ...]:
        """Merge the characters of one pre-token (already byte-mapped) into vocabulary symbols."""
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        word = list(token[:-1]) + [token[-1] + "</w>"]
        ranks = self.ranks
        while len(word) > 1:
            # The lowest-ranked adjacent pair is merged everywhere it occurs, left to right.
            best, best_rank = None, None
            for pair in zip(word, word[1:]):
                r = ranks.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = pair, r
            if best is None:
                break
            a, b = best
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        out = tuple(word)
        with self._lock:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache = {SOT_TEXT: (SOT_TEXT,), EOT_TEXT: (EOT_TEXT,)}
            self._cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without SOT/EOT."""
        ids: list[int] = []
        for piece in _SPLIT.findall(clean_text(text)):
            mapped = "".join(self.byte_enc[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[s] for s in self.bpe(mapped))
        return ids

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text back from ids (lower-cased, cleaned); stops at EOT, skips SOT. For debugging."""
        out: list[str] = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if i == self.eot:
                break
            if i == self.sot:
                continue
            if i not in self.decoder:
                raise ValueError(f"decode: id {i} is outside the vocabulary [0, {self.vocab_size})")
            out.append(self.decoder[i])
        text = "".join(out)
        spaced = text.replace("</w>", "\x00")  # keep word boundaries through the byte mapping
        raw = bytearray()
        for c in spaced:
            raw.extend(b" " if c == "\x00" else bytes([self.byte_dec[c]]))
        return raw.decode("utf-8", errors="replace").strip()


_TOKENIZER: BPETokenizer | None = None
_TOKENIZER_LOCK = threading.Lock()


def get_tokenizer() -> BPETokenizer:
    """The shared tokenizer, built on first use (the vocab file is read once per process)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _TOKENIZER_LOCK:
            if _TOKENIZER is None:
                _TOKENIZER = BPETokenizer.from_package()
    return _TOKENIZER


def tokenize(texts: str | Sequence[str], context_length: int = 77) -> np.ndarray:
    """Strings -> int64 (N, context_length): ``[SOT] + bpe[:context_length-2] + [EOT]``, 0 padded.

    A single string gives N = 1. Long texts are truncated but always end with EOT (the
    reference's behaviour since 2025-11; the model pools at the EOT position).
    """
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Sequence):
        raise TypeError(f"tokenize: expected a str or a sequence of str, got {type(texts).__name__}")
    if isinstance(context_length, bool) or not isinstance(context_length, int) or context_length < 2:
        raise ValueError(f"tokenize: context_length must be an int >= 2, got {context_length!r}")
    tok = get_tokenizer()
    out = np.zeros((len(texts), context_length), dtype=np.int64)
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"tokenize: item {row} is {type(text).__name__}, expected str")
        ids = [tok.sot] + tok.encode(text)[: context_length - 2] + [tok.eot]
        out[row, : len(ids)] = ids
    return out


def decode(ids: Sequence[int] | np.ndarray) -> str:
    """One row of token ids back to (cleaned, lower-case) text. For debugging."""
    return get_tokenizer().decode(ids)
