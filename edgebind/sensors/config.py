"""Stream configuration: the ``[[streams]]`` tables of a TOML file -> validated StreamConfig ->
a Source. Shared by the daemon config, ``edgebind record --config`` and user code.

Every error names the file (``source``), the table (``streams[i]`` and its name), the key and what
was expected; unknown keys are rejected with the closest known key as a suggestion. The keys of
each kind are listed in :data:`KINDS` (and in docs/sensors.md); each kind is an entry of
:data:`edgebind.sensors.kinds.SOURCE_KINDS`.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.errors import EdgeBindError
from edgebind.fileio import parse_toml, read_bytes
from edgebind.sensors.base import Source
from edgebind.sensors.kinds import COMMON, KINDS, NAME_RE, SOURCE_KINDS, Key, SourceKind

__all__ = ["COMMON", "KINDS", "Key", "StreamConfig", "StreamConfigError", "load_stream_configs",
           "open_source", "open_sources", "parse_stream_configs"]
from edgebind.validate import Fields, resolve_path, shown

# Keys naming files: taken relative to the config file's folder, "~" expanded.
FILE_KEYS = ("path", "topics")


class StreamConfigError(EdgeBindError, ValueError):
    """An invalid stream configuration; the message says where and what."""


@dataclass(frozen=True)
class StreamConfig:
    """One validated ``[[streams]]`` table: ``name``, ``kind`` and the kind's ``options``."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "<config>"
    index: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}: streams[{self.index}] ({self.name})"


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_stream_configs(tables: Any, source: str,
                         base_dir: str | os.PathLike | None = None) -> list[StreamConfig]:
    """Validates a list of stream tables (dicts, as TOML ``[[streams]]`` gives them).

    ``base_dir``: relative file ``path`` values are taken relative to it (the config file's
    folder, so a config works from any working directory); ``~`` is expanded either way."""
    if not isinstance(tables, list):
        raise StreamConfigError(f"{source}: 'streams' must be a list of tables ([[streams]]), "
                                f"got {type(tables).__name__}")
    out: list[StreamConfig] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(tables):
        cfg = _parse_one(table, source, i)
        for key in FILE_KEYS:
            if key in cfg.options:
                try:
                    cfg.options[key] = str(resolve_path(cfg.options[key], base_dir))
                except ValueError as exc:
                    raise StreamConfigError(f"{source}: streams[{i}] ({cfg.name}): key {key!r}: "
                                            f"expected {exc}, got {shown(cfg.options[key])}") from None
        names = [cfg.name] + [cfg.options[k] for k in SOURCE_KINDS[cfg.kind].stream_keys
                              if k in cfg.options]
        for n in names:
            if n in seen:
                raise StreamConfigError(f"{cfg.where}: stream name {n!r} is already used by "
                                        f"{seen[n]}; names must be unique")
            seen[n] = f"streams[{i}]"
        out.append(cfg)
    return out


def _parse_one(table: Any, source: str, i: int) -> StreamConfig:
    where = f"{source}: streams[{i}]"
    if not isinstance(table, dict):
        raise StreamConfigError(f"{where}: expected a table of keys, got {type(table).__name__}")
    for k in table:
        if not isinstance(k, str):
            raise StreamConfigError(f"{where}: keys must be strings, got {k!r}")
    if "name" not in table:
        raise StreamConfigError(f"{where}: missing key 'name' (expected "
                                f"{COMMON['name'].help})")
    name = table["name"]
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Fields(table, where, StreamConfigError, quote_keys=True).fail(
            "name", COMMON["name"].help)
    where = f"{where} ({name})"
    f = Fields(table, where, StreamConfigError, quote_keys=True)
    kind = _kind(f)
    allowed = {**COMMON, **kind.keys}
    for key in table:
        if key not in allowed:
            raise StreamConfigError(f"{where}: unknown key {key!r} for kind {table['kind']!r}"
                                    f"{_suggest(key, list(allowed))}; allowed: "
                                    f"{', '.join(sorted(allowed))}")
    options = {k: f.get(k, allowed[k].check) for k in table if k not in ("name", "kind")}
    given = [k for k in kind.one_of if k in options]
    if kind.one_of and len(given) != 1:
        what = "key " + repr(kind.one_of[0]) if len(kind.one_of) == 1 else \
            "exactly one of " + ", ".join(repr(k) for k in kind.one_of)
        raise StreamConfigError(f"{where}: kind {table['kind']!r} needs {what}"
                                + (f" (got {', '.join(given)})" if given else ""))
    try:
        if kind.checks is not None:
            kind.checks(options)
    except ValueError as exc:
        raise StreamConfigError(f"{where}: {exc}") from None
    return StreamConfig(name, table["kind"], options, source, i)


def _kind(f: Fields) -> SourceKind:
    """The registry entry of the table's ``kind``; a misspelt one gets a suggestion."""
    if "kind" not in f.data:
        raise StreamConfigError(f"{f.source}: missing key 'kind' (expected one of "
                                f"{', '.join(KINDS)})")
    kind = f.data["kind"]
    if not isinstance(kind, str) or kind not in SOURCE_KINDS:
        hint = _suggest(kind, list(KINDS)) if isinstance(kind, str) else ""
        raise StreamConfigError(f"{f.fail('kind', 'one of ' + ', '.join(KINDS))}{hint}")
    return SOURCE_KINDS[kind]


def load_stream_configs(path: str | os.PathLike) -> list[StreamConfig]:
    """The ``[[streams]]`` tables of a TOML file, validated (errors name the file)."""
    p = Path(path)
    raw = read_bytes(p, f"{p}: no such config file")
    doc = parse_toml(raw, str(p), StreamConfigError, "not valid TOML")
    if "streams" not in doc:
        raise StreamConfigError(f"{p}: no [[streams]] tables")
    return parse_stream_configs(doc["streams"], str(p), base_dir=p.parent)


def open_source(cfg: StreamConfig) -> Source:
    """The Source a validated config describes (nothing is opened until start/iter_samples)."""
    kind = SOURCE_KINDS[cfg.kind]
    kw = {kind.params.get(k, k): v for k, v in cfg.options.items()}
    try:
        return kind.build(cfg.name, kw)
    except (TypeError, ValueError) as exc:
        raise StreamConfigError(f"{cfg.where}: {exc}") from None


def open_sources(cfgs: list[StreamConfig]) -> list[Source]:
    """Sources for several configs; refuses two that would produce the same stream id (a
    replay or sim table brings the stream names of its recording / world)."""
    sources = [open_source(c) for c in cfgs]
    seen: dict[str, StreamConfig] = {}
    for cfg, src in zip(cfgs, sources):
        for info in src.streams:
            if info.stream in seen:
                raise StreamConfigError(f"{cfg.where}: produces stream {info.stream!r}, which "
                                        f"{seen[info.stream].where} produces too; rename one "
                                        "(replay/sim: choose `streams`)")
            seen[info.stream] = cfg
    return sources
