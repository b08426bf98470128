"""Swapping sinks on reload. The running sinks stay untouched unless the new set opens: sinks
whose table is unchanged are kept (their clients stay connected), new ones are opened first,
and only a new sink that needs a resource an old one holds (the same TCP port or socket path)
waits for that old one to close. If anything fails, the reload is refused and what runs is what
ran before."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

log = logging.getLogger("edgebind.daemon")


def freeze(x: Any) -> Any:
    """Hashable form of a sink table, to tell unchanged sinks on reload."""
    if isinstance(x, dict):
        return tuple(sorted((k, freeze(v)) for k, v in x.items()))
    if isinstance(x, list):
        return tuple(freeze(v) for v in x)
    return x


def close_quietly(sink: Any) -> None:
    try:
        sink.close()
    except Exception as exc:
        log.warning("closing sink %s: %s", type(sink).__name__, exc)


def open_all(specs: Sequence[Any], opener: Callable[[Any], Any]) -> list[Any]:
    """Open every spec, or none: on a failure those already opened are closed again."""
    out: list[Any] = []
    try:
        for spec in specs:
            out.append(opener(spec))
    except BaseException:
        for s in out:
            close_quietly(s)
        raise
    return out


@dataclass
class Plan:
    reused: dict[int, int]        # new index -> old index (same table: the same sink object)
    independent: list[int]        # new indices that open beside the old sinks
    handover: list[int]           # new indices that need a retired sink's resource
    holders: list[int]            # old indices holding those resources (closed first)
    retired: list[int]            # every old index no longer wanted


def plan(old_tables: Sequence[dict], old_specs: Sequence[Any], new_tables: Sequence[dict],
         new_specs: Sequence[Any]) -> Plan:
    free = {i: freeze(t) for i, t in enumerate(old_tables)}
    reused: dict[int, int] = {}
    for i, t in enumerate(new_tables):
        key = freeze(t)
        j = next((j for j, k in free.items() if k == key), None)
        if j is not None:
            reused[i] = j
            del free[j]
    retired = sorted(free)
    held = {old_specs[j].resource: j for j in retired if old_specs[j].resource is not None}
    fresh = [i for i in range(len(new_tables)) if i not in reused]
    handover = [i for i in fresh if new_specs[i].resource in held]
    return Plan(reused, [i for i in fresh if i not in handover], handover,
                sorted({held[new_specs[i].resource] for i in handover}), retired)


def swap(old_sinks: Sequence[Any], old_tables: Sequence[dict], old_specs: Sequence[Any],
         new_tables: Sequence[dict], new_specs: Sequence[Any], opener: Callable[[Any], Any],
         install: Callable[[list[Any]], None]) -> list[Any]:
    """Open the new sink set and return it (``install`` hands a list to the pipeline; the caller
    installs the returned one together with the new detection settings). Raises, with the
    running sinks as they were (or, in the rare handover failure, reopened), when a new sink
    cannot open."""
    p = plan(old_tables, old_specs, new_tables, new_specs)
    opened = dict(zip(p.independent, open_all([new_specs[i] for i in p.independent], opener)))
    if p.handover:
        try:
            opened.update(_hand_over(p, old_sinks, old_specs, new_specs, opener, install))
        except BaseException:
            for s in opened.values():
                close_quietly(s)
            raise
    for j in p.retired:
        if j not in p.holders:
            close_quietly(old_sinks[j])
    return [old_sinks[p.reused[i]] if i in p.reused else opened[i] for i in range(len(new_specs))]


def _hand_over(p: Plan, old_sinks: Sequence[Any], old_specs: Sequence[Any],
               new_specs: Sequence[Any], opener: Callable[[Any], Any],
               install: Callable[[list[Any]], None]) -> dict[int, Any]:
    """Close the old sinks holding a port or path the new ones need, then open those. On a
    failure the old ones are reopened (their clients had to go either way) and it raises."""
    install([s for j, s in enumerate(old_sinks) if j not in p.holders])
    for j in p.holders:
        close_quietly(old_sinks[j])
    try:
        return dict(zip(p.handover, open_all([new_specs[i] for i in p.handover], opener)))
    except BaseException:
        restored = list(old_sinks)
        for j in p.holders:
            try:
                restored[j] = opener(old_specs[j])
            except Exception as exc:    # left in place closed: it counts what it drops
                log.error("could not reopen sink %d after a failed reload: %s", j, exc)
        install(restored)
        raise
