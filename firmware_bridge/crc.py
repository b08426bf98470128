"""CRC-32C (Castagnoli): reflected, poly 0x82F63B78, init 0xFFFFFFFF, xorout 0xFFFFFFFF.

Check value: ``crc32c(b"123456789") == 0xE3069283``.

Three implementations with identical results:

- :func:`crc32c_reference`: the classic byte-at-a-time table loop (slow, obviously right).
- :func:`crc32c_many`: a vectorised numpy form for many short messages at once. CRC is linear over
  GF(2), so the CRC of an L-byte message is the XOR of one table entry per byte, chosen by the
  byte's value *and its distance from the end*, XOR a constant that depends only on L (the
  contribution of the init value). The position-dependent tables (one 256-entry table per
  distance) are precomputed up to the maximum body size; a whole batch of frames is then one
  gather and one ``bitwise_xor.reduceat``.
- the optional ``crc32c`` package from PyPI (a C extension), used when installed and asked for.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

POLY_REFLECTED = 0x82F63B78
CHECK_VALUE = 0xE3069283  # crc32c(b"123456789")


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY_REFLECTED if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


TABLE: tuple[int, ...] = _make_table()


def crc32c_reference(data: bytes, crc: int = 0) -> int:
    """Byte-at-a-time CRC-32C; ``crc`` continues a previous result."""
    c = crc ^ 0xFFFFFFFF
    t = TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


@lru_cache(maxsize=4)
def _position_tables(max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, C): T[k*256 + b] = contribution of byte b at k bytes from the end (zero init);
    C[L] = register after L zero bytes from init 0xFFFFFFFF, XOR xorout."""
    base = np.array(TABLE, dtype=np.uint32)
    t = np.empty((max_len, 256), dtype=np.uint32)
    t[0] = base
    for k in range(1, max_len):
        prev = t[k - 1]
        t[k] = base[prev & 0xFF] ^ (prev >> 8)
    c = np.empty(max_len + 1, dtype=np.uint32)
    reg = 0xFFFFFFFF
    for n in range(max_len + 1):
        c[n] = reg ^ 0xFFFFFFFF
        reg = TABLE[reg & 0xFF] ^ (reg >> 8)
    t.setflags(write=False)
    c.setflags(write=False)
    return t.reshape(-1), c


def crc32c_many(messages: Sequence[bytes], max_len: int = 1036) -> np.ndarray:
    """CRC-32C of each message (each at most ``max_len`` bytes) as a uint32 array, vectorised."""
    n = len(messages)
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    lens = np.fromiter(map(len, messages), dtype=np.int64, count=n)
    if lens.max() > max_len:
        raise ValueError(f"message longer than {max_len} bytes")
    table, const = _position_tables(max_len)
    out = const[lens].copy()
    nz = lens > 0
    if not nz.any():
        return out
    data = np.frombuffer(b"".join(messages), dtype=np.uint8)
    l_nz = lens[nz]
    ends = np.cumsum(l_nz)
    starts = ends - l_nz
    pos = np.repeat(ends - 1, l_nz) - np.arange(data.size, dtype=np.int64)
    vals = table[(pos << 8) | data]
    out[nz] ^= np.bitwise_xor.reduceat(vals, starts)
    return out


def _load_accelerator() -> Callable[[bytes], int] | None:
    try:
        import crc32c as _ext  # type: ignore[import-not-found]
    except ImportError:
        return None
    return _ext.crc32c


def crc32c(data: bytes) -> int:
    """CRC-32C of one message (numpy form for short data, reference loop otherwise)."""
    if len(data) <= 1036:
        return int(crc32c_many([bytes(data)])[0])
    return crc32c_reference(data)


def crc_backend(name: str = "auto") -> Callable[[Sequence[bytes]], np.ndarray]:
    """A batch CRC function: ``"numpy"``, ``"python"`` (reference loop), ``"crc32c"`` (PyPI
    accelerator; ImportError if absent) or ``"auto"`` (accelerator if installed, else numpy)."""
    if name == "numpy":
        return crc32c_many
    if name == "python":
        return lambda msgs: np.array([crc32c_reference(m) for m in msgs], dtype=np.uint32)
    if name in ("crc32c", "auto"):
        ext = _load_accelerator()
        if ext is None:
            if name == "auto":
                return crc32c_many
            raise ImportError("the optional 'crc32c' package is not installed")
        return lambda msgs: np.array([ext(m) for m in msgs], dtype=np.uint32)
    raise ValueError(f"unknown CRC backend {name!r}; expected auto, numpy, python or crc32c")
