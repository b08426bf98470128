"""Reading ``.safetensors`` files (numpy only; no pickle, nothing executes).

Format: an unsigned 64-bit little-endian header length, a JSON header mapping each tensor name
to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the byte buffer that
follows the header) and an optional ``__metadata__`` table, then the buffer itself.
"""
from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from edgebind.errors import EdgeBindError

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_MAX_HEADER = 100 << 20


class SafetensorsError(EdgeBindError, ValueError):
    """A file that is not a readable safetensors file; the message names it and the problem."""


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor of the file as a read-only numpy array backed by a memory map."""
    path = Path(path)
    if not path.is_file():
        raise SafetensorsError(f"{path}: no such file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path}: {size} bytes; too short for a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise SafetensorsError(f"{path}: header length {n} does not fit a {size}-byte file")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise SafetensorsError(f"{path}: header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    buf = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else \
        np.zeros(0, np.uint8)
    return {name: _tensor(path, name, info, buf) for name, info in header.items()
            if name != "__metadata__"}


def _tensor(path: Path, name: str, info, buf: np.ndarray) -> np.ndarray:
    where = f"{path}: tensor {name!r}"
    if not isinstance(info, dict):
        raise SafetensorsError(f"{where}: expected an object, got {info!r:.60}")
    dtype = _DTYPES.get(info.get("dtype"))
    if dtype is None:
        raise SafetensorsError(f"{where}: dtype {info.get('dtype')!r} is not one of "
                               f"{', '.join(_DTYPES)}")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)):
        raise SafetensorsError(f"{where}: shape {shape!r:.60} is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{where}: data_offsets {offsets!r:.60} are not [begin, end]")
    begin, end = offsets
    want = math.prod(shape) * np.dtype(dtype).itemsize
    if end - begin != want or end > len(buf):
        raise SafetensorsError(f"{where}: {end - begin} bytes at [{begin}, {end}) for shape "
                               f"{shape} {info['dtype']} ({want} bytes) in a {len(buf)}-byte "
                               "buffer (truncated or corrupt file)")
    return buf[begin:end].view(dtype).reshape(shape)
