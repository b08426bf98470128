"""Consistent Overhead Byte Stuffing (canonical form, see PROTOCOL.md §2)."""
from __future__ import annotations

from .errors import BridgeError


class CobsError(BridgeError, ValueError):
    """Not a valid COBS encoding."""


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no delimiter appended). Output contains no 0x00."""
    out = bytearray()
    for piece in bytes(data).split(b"\0"):
        while len(piece) >= 254:
            out.append(0xFF)
            out += piece[:254]
            piece = piece[254:]
        out.append(len(piece) + 1)
        out += piece
    return bytes(out)


def cobs_decode(enc: bytes) -> bytes:
    """Decode one COBS block (without its delimiter); raises :class:`CobsError`."""
    n = len(enc)
    if n == 0:
        raise CobsError("empty COBS block")
    first = enc[0]
    if first == n:  # fast path: no zero in the data, shorter than 255 bytes
        return enc[1:]
    parts = []
    i = 0
    while i < n:
        code = enc[i]
        j = i + code
        if code == 0 or j > n:
            raise CobsError("COBS code runs past the end of the block")
        parts.append(enc[i + 1 : j])
        if code != 0xFF and j < n:
            parts.append(b"\0")
        i = j
    return b"".join(parts)
