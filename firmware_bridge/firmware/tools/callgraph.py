"""Worst-case stack depth from GCC's per-function call graphs (``-fcallgraph-info=su``).

Each object's ``.ci`` file lists its functions with their own frame size (what ``-fstack-usage``
reports) and the calls they make. Joining all of them gives the program's call graph; the worst
path from a root is the deepest sum of frames along it. Two things the compiler cannot see are
filled in explicitly, and reported, so the number is an upper bound rather than a guess:

- indirect calls (function pointers): resolved by the rules passed in (caller file -> a regular
  expression for the functions it can reach, or None for calls into the boot ROM, counted as a
  leaf of ``assumed_leaf`` bytes); an indirect call no rule covers is reported as unresolved;
- functions without a ``.ci`` entry (assembler, ROM and libgcc helpers): counted as leaves of
  ``assumed_leaf`` bytes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_SIZE = re.compile(r"\\n(\d+) bytes \(([^)]*)\)")
INDIRECT = "__indirect_call"


@dataclass
class Graph:
    frame: dict[str, int] = field(default_factory=dict)  # title -> own frame, bytes
    kind: dict[str, str] = field(default_factory=dict)  # static / dynamic / dynamic,bounded
    file: dict[str, str] = field(default_factory=dict)  # title -> source file of the definition
    calls: dict[str, set[str]] = field(default_factory=dict)


def load(build_dir: Path) -> Graph:
    g = Graph()
    for ci in sorted(Path(build_dir).rglob("*.ci")):
        text = ci.read_text(errors="replace")
        src = ci.name[: -len(".ci")]  # CMake names them after the source: main.c.ci
        for title, label in _NODE.findall(text):
            m = _SIZE.search(label)
            if m:  # a definition (declarations carry no size)
                g.frame[title] = int(m.group(1))
                g.kind[title] = m.group(2)
                g.file[title] = src
        for a, b in _EDGE.findall(text):
            g.calls.setdefault(a, set()).add(b)
    return g


def short(title: str) -> str:
    """``/path/file.c:func`` -> ``file.c:func``."""
    return title.rsplit("/", 1)[-1]


@dataclass
class StackPath:
    total: int
    frames: list[tuple[str, int]]


class Analysis:
    def __init__(self, g: Graph, indirect: dict[str, str], assumed_leaf: int) -> None:
        self.g = g
        self.rules = [(re.compile(k), None if v is None else re.compile(v)) for k, v in indirect.items()]
        self.assumed_leaf = assumed_leaf
        self.assumed: set[str] = set()  # functions counted at assumed_leaf
        self.unresolved: set[str] = set()  # callers whose indirect calls matched no rule
        self.unbounded: set[str] = set()  # dynamic (unbounded) frames
        self.recursion: set[str] = set()
        self._memo: dict[str, StackPath] = {}

    def _targets(self, caller: str) -> list[str]:
        out: list[str] = []
        for callee in sorted(self.g.calls.get(caller, ())):
            if callee != INDIRECT:
                out.append(callee)
                continue
            src = self.g.file.get(caller, "")
            for caller_re, target_re in self.rules:
                if caller_re.search(src):
                    if target_re is None:  # a ROM routine: outside the graph, a small leaf
                        out.append("<rom>")
                    else:
                        out += [t for t in self.g.frame if target_re.search(t)]
                    break
            else:
                self.unresolved.add(short(caller))
                out.append("<indirect>")
        return out

    def worst(self, fn: str, stack: tuple[str, ...] = ()) -> StackPath:
        if fn in self._memo:
            return self._memo[fn]
        if fn not in self.g.frame:
            # GCC names some global definitions (weak ones) file:name; callers use the bare name.
            defs = [t for t in self.g.frame if t.endswith(":" + fn)] if not fn.startswith("<") else []
            if defs:
                return max((self.worst(t, stack) for t in defs), key=lambda p: p.total)
            # asm / ROM / libgcc / unresolved target: a small leaf
            self.assumed.add(short(fn))
            return StackPath(self.assumed_leaf, [(short(fn) + " (assumed)", self.assumed_leaf)])
        if fn in stack:
            self.recursion.add(short(fn))
            return StackPath(0, [])
        if self.g.kind[fn] == "dynamic":
            self.unbounded.add(short(fn))
        best = StackPath(0, [])
        for callee in self._targets(fn):
            p = self.worst(callee, stack + (fn,))
            if p.total > best.total:
                best = p
        own = self.g.frame[fn]
        result = StackPath(own + best.total, [(short(fn), own)] + best.frames)
        if not stack or fn not in stack:
            self._memo[fn] = result
        return result

    def find(self, name: str) -> str | None:
        """The title of a function: ``main``, or ``file.c:name`` for a static one."""
        if name in self.g.frame:
            return name
        for title in self.g.frame:
            if title.endswith("/" + name) or (":" not in name and title.endswith(":" + name)):
                return title
        return None
