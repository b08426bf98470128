"""What counts as a number in a config or data file, decided in one place.

TOML and JSON integers are unbounded: ``math.isfinite(10**400)`` raises OverflowError and
``numpy.isfinite`` a TypeError, so every check of a value read from a file goes through here."""
from __future__ import annotations

import math
from typing import Any


def isfinite(v: Any) -> bool:
    """``math.isfinite`` that says False (not OverflowError) for integers too large for a float."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def is_finite_number(v: Any) -> bool:
    """An int or float (not a bool) that converts to a finite float."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and isfinite(v)


def in_range(v: Any, lo: float, hi: float) -> bool:
    """A finite number with ``lo <= v <= hi``."""
    return is_finite_number(v) and lo <= v <= hi


def split_host_port(v: Any) -> tuple[str, int] | None:
    """``"HOST:PORT"`` (``"[::1]:PORT"`` for IPv6) -> (host, port); None when ``v`` is not one
    (no host, no colon, a port outside 0-65535). Callers word the error for their file."""
    if not isinstance(v, str):
        return None
    host, sep, port = v.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        return None   # isascii: str.isdigit() also accepts other scripts' digits ("١٢")
    return host, int(port)
