"""Keywords renamed to say their unit (``fps`` -> ``rate_hz``): the old spelling still works,
with a DeprecationWarning, so code written against the old names keeps running."""
from __future__ import annotations

import warnings
from typing import Any


def renamed(new_value: Any, old_value: Any, new: str, old: str, owner: str) -> Any:
    """The value of keyword ``new``, or of its old name ``old`` when only that was given."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{owner}: give {new} or its old name {old}, not both")
    warnings.warn(f"{owner}: {old}= is deprecated, use {new}= (same meaning)",
                  DeprecationWarning, stacklevel=3)
    return old_value
