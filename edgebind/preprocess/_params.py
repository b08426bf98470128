"""Shared base for the per-modality parameter dataclasses.

Every parameter set is stored in a bundle manifest, so it must round-trip through JSON exactly:
``to_dict`` gives plain JSON types (tuples become lists), ``from_dict`` refuses unknown or
missing-typed keys with a message naming the key, and each class validates itself in
``__post_init__`` so a bad manifest fails on load, not on the first frame.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, TypeVar

P = TypeVar("P", bound="Params")


class Params:
    """Mixin for frozen dataclasses of JSON-serialisable preprocessing parameters."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls: type[P], d: Mapping[str, Any]) -> P:
        if not isinstance(d, Mapping):
            raise TypeError(f"{cls.__name__}.from_dict expected a mapping, got {type(d).__name__}")
        names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown key(s) {unknown}; expected some of {sorted(names)}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kwargs)  # type: ignore[call-arg]


def check_positive(owner: str, name: str, value: Any, *, integer: bool = False) -> None:
    """Raise if ``value`` is not a finite positive number (an int where ``integer``)."""
    ok_type = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type):
        kind = "an int" if integer else "a number"
        raise TypeError(f"{owner}.{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}.{name} must be finite and > 0, got {value!r}")


def check_finite(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r}")


def check_triple(owner: str, name: str, value: Any, *, positive: bool = False) -> None:
    if not isinstance(value, tuple) or len(value) != 3:
        raise ValueError(f"{owner}.{name} must be 3 numbers, got {value!r}")
    for v in value:
        (check_positive if positive else check_finite)(owner, name, v)
