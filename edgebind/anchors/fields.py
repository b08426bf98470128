"""Readers the anchor-set (JSON) and prompts (TOML) formats share, on top of
:class:`edgebind.validate.Fields`."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from edgebind.anchors.records import EMBEDDING_KEYS, AnchorSetError
from edgebind.validate import Checker, Fields


def strings(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ValueError("a list of strings")
    return tuple(v)


def text(want: str) -> Checker:
    """A non-empty string, described as ``want`` in messages."""
    def check(v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(want)
        return v
    return check


def mapping(want: str) -> Checker:
    def check(v: Any) -> Mapping:
        if not isinstance(v, Mapping):
            raise ValueError(want)
        return v
    return check


def require(f: Fields, key: str, check: Checker, what: str) -> Any:
    """``f.get(key, check)``; a missing key's message also says what the key holds."""
    if key not in f.data:
        raise f.error(f"{f.missing(key)} ({what})")
    return f.get(key, check)


def table_of(f: Fields, key: str, want: str, required: bool = False) -> Fields:
    """The sub-table ``key`` (empty when absent and not required); "expected WANT" when it is
    not a table, which says more than the generic "a table"."""
    if required:
        require(f, key, mapping(want), want)
    else:
        f.get(key, mapping(want), None)
    return f.table(key, {})


def reject_unknown(data: Mapping, allowed: Iterable[str], where: str,
                   expected: str | None = None) -> None:
    """Every unknown key in one message (a typo rarely comes alone)."""
    allowed = set(allowed)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise AnchorSetError(f"{where}: unknown key(s) {', '.join(unknown)}; expected "
                             f"{expected or ', '.join(sorted(allowed))}")


def read_templates(f: Fields, key: str = "templates") -> dict[str, tuple[str, ...]]:
    """``{"default"|modality: [template, ...]}``, each template with ``{}`` where the prompt goes."""
    t = table_of(f, key, "a table of modality -> list of templates")
    t.reject_unknown(EMBEDDING_KEYS)
    out = {}
    for k in t.data:
        out[k] = t.get(k, strings)
        for template in out[k]:
            if "{}" not in template:
                raise t.error(f"{t.source}: {t.label(k)}: template {template!r} has no '{{}}' "
                              "where the prompt goes")
    return out
