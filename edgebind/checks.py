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
