"""Reading and writing the files the formats share: atomic writes (anchor sets, profiles) and
parsing that turns hostile input into one clear error naming the file.

A JSON or TOML document nested thousands deep raises RecursionError, and an integer of more than
4,300 digits raises Python's digit-limit ValueError; a ``.npy`` header may declare an array far
larger than the file. None of these is a format error to the parsers, so callers used to see
tracebacks or a MemoryError. Here each becomes ``error(f"{source}: ...")``.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Sidecar arrays (thermal maps, example embeddings) are small; a header declaring more is refused
# before anything is allocated.
NPY_MAX_BYTES = 1 << 30


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The hex SHA-256 of a file, read in chunks (bundles, vocabularies, weights)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_bytes(path: Path, missing: str, error: type[Exception] = FileNotFoundError) -> bytes:
    """A whole file; a missing one raises ``error(missing)``, a message that says what the file
    was for and how to get one (other OS errors propagate, naming the file)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(missing) from None


def atomic_write(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a crash or power cut
    never leaves half a file. The result gets the usual permissions (0666 minus the umask), not
    the 0600 of a temporary file: a service running as another user must be able to read it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _hostile(exc: BaseException) -> str | None:
    """What a parser's non-format failure means, or None when it is not one of those."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return "a number has too many digits"
    return None


def parse_json(text: str | bytes, source: str, error: type[Exception] = ValueError,
               what: str = "invalid JSON") -> Any:
    """``json.loads`` whose every failure is ``error("SOURCE: WHAT: ...")``."""
    import json
    return _parse(json.loads, json.JSONDecodeError, text, source, error, what)


def parse_toml(text: str | bytes, source: str, error: type[Exception] = ValueError,
               what: str = "invalid TOML") -> Any:
    """``tomllib.loads`` whose every failure is ``error("SOURCE: WHAT: ...")``."""
    return _parse(tomllib.loads, tomllib.TOMLDecodeError, text, source, error, what)


def _parse(loads: Any, decode_error: type[Exception], text: str | bytes, source: str,
           error: type[Exception], what: str) -> Any:
    try:
        return loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except UnicodeDecodeError as exc:
        raise error(f"{source}: {what}: not UTF-8 text ({exc})") from None
    except decode_error as exc:   # the parser's own message says where and what
        raise error(f"{source}: {what}: {exc}") from None
    except (RecursionError, ValueError) as exc:
        raise error(f"{source}: {what}: {_hostile(exc) or exc}") from None


def load_npy(path: str | os.PathLike, source: str, error: type[Exception] = ValueError,
             max_bytes: int = NPY_MAX_BYTES) -> np.ndarray:
    """A plain numeric ``.npy`` array (no pickles), refused unless its header's shape and dtype
    match the bytes the file really holds and stay under ``max_bytes``: a 200-byte file declaring
    100000 x 100000 is an error, not a 75 GB allocation."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            if dtype.hasobject or dtype.itemsize == 0:
                raise ValueError(f"dtype {dtype} is not a plain numeric type")
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            have = os.fstat(f.fileno()).st_size - f.tell()
            if need > max_bytes:
                raise ValueError(f"declares {need} bytes of data, more than the {max_bytes} allowed")
            if need != have:
                raise ValueError(f"declares shape {shape} ({need} bytes) but holds {have} bytes")
            data = np.fromfile(f, dtype=dtype, count=int(np.prod(shape, dtype=object)))
            return data.reshape(shape, order="F" if fortran else "C")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, SyntaxError) as exc:
        raise error(f"{source}: {path} is not a valid .npy array ({exc})") from None
