"""The import direction of ../shared/DESIGN.md, read off the source: cli/daemon -> pipeline ->
(sensors, runtime, detect) -> (preprocess, modality); the firmware bridge stands alone; the
device-side anchor set needs no sensors; training never imports a command.

Every import counts, module-level or inside a function: a lazy import is still a dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# Source folder -> the dotted name it is installed as (pyproject's package-dir).
ROOTS = {"edgebind": "edgebind", "export": "edgebind.export",
         "calibration": "edgebind.calibration", "firmware_bridge": "edgebind.firmware_bridge"}

COMMANDS = ("edgebind.cli", "edgebind.tools", "edgebind.demo", "edgebind.bench",
            "edgebind.evaluate", "edgebind.quickstart", "edgebind.daemon", "edgebind.calibration")
ABOVE_SENSORS = ("edgebind.pipeline", "edgebind.embedder", "edgebind.anchors", "edgebind.profile",
                 "edgebind.models", "edgebind.train") + COMMANDS
FOUNDATION = ("edgebind.preprocess", "edgebind.modality", "edgebind.space", "edgebind.errors",
              "edgebind.checks", "edgebind.validate", "edgebind.fileio", "edgebind.sample",
              "edgebind.command_line", "edgebind.accept", "edgebind.backoff")
DEVICE_ANCHORS = tuple(f"edgebind.anchors.{m}" for m in
                       ("records", "vectors", "setfile", "prompts", "fields"))

# (modules whose name starts with one of these, may not import modules starting with these)
RULES = [
    (FOUNDATION, ("edgebind.sensors", "edgebind.runtime", "edgebind.detect", "edgebind.record",
                  "edgebind.sinks", "edgebind.sim") + ABOVE_SENSORS),
    (("edgebind.sensors",), ("edgebind.runtime", "edgebind.detect") + ABOVE_SENSORS),
    (("edgebind.runtime",), ("edgebind.sensors", "edgebind.detect", "edgebind.pipeline",
                             "edgebind.embedder", "edgebind.anchors", "edgebind.train")
     + COMMANDS),
    (("edgebind.detect",), ("edgebind.sensors", "edgebind.runtime", "edgebind.embedder",
                            "edgebind.pipeline", "edgebind.models", "edgebind.train") + COMMANDS),
    (("edgebind.record", "edgebind.sinks", "edgebind.profile"),
     ("edgebind.pipeline", "edgebind.models", "edgebind.train") + COMMANDS),
    (DEVICE_ANCHORS, ("edgebind.sensors", "edgebind.record", "edgebind.embedder",
                      "edgebind.runtime", "edgebind.pipeline", "edgebind.models",
                      "edgebind.train") + COMMANDS),
    (("edgebind.pipeline",), ("edgebind.models", "edgebind.train") + COMMANDS),
    (("edgebind.daemon",), ("edgebind.calibration", "edgebind.tools", "edgebind.models",
                            "edgebind.train", "edgebind.export")),
    (("edgebind.train", "edgebind.evaluation"), ("edgebind.cli", "edgebind.tools",
                                                 "edgebind.demo", "edgebind.daemon")),
    (("edgebind.firmware_bridge",), ("edgebind",)),   # stands alone: pyserial + numpy
]

# Kept on purpose, each imported only when its old name is asked for (module __getattr__), for
# one release after the redesign moved the name up: importing the lower module loads nothing.
OLD_NAMES = {
    ("edgebind.detect.tune", "edgebind.pipeline.recorder"): "record_world's old home",
    ("edgebind.sensors.windows", "edgebind.profile.apply"): "audio_gain's old home",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = ROOTS[rel.parts[0]].split(".") + list(rel.parts[1:])
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return {t for t in found if t == "edgebind" or t.startswith("edgebind.")}


def all_modules() -> dict[str, set[str]]:
    out = {}
    for folder in ROOTS:
        for path in (REPO / folder).rglob("*.py"):
            if "firmware" in path.relative_to(REPO).parts[1:2]:
                continue   # the MCU's C sources and their build helpers
            name = module_name(path)
            out[name] = imports_of(path, name)
    return out


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p if p.endswith(".") else p + ".") for p in prefixes)


def test_the_walk_sees_the_package():
    modules = all_modules()
    assert len(modules) > 150
    assert "edgebind.pipeline" in modules and "edgebind.sensors.ring" in modules
    assert "edgebind.firmware_bridge.client" in modules


@pytest.mark.parametrize("rule", range(len(RULES)))
def test_imports_point_one_way(rule):
    sources, forbidden = RULES[rule]
    bad = [f"{name} imports {t}" for name, targets in sorted(all_modules().items())
           if starts(name, sources)
           for t in sorted(targets)
           if starts(t, forbidden) and not starts(t, sources)   # within a room is fine
           and not any(name == a and starts(t, (b,)) for a, b in OLD_NAMES)]
    assert not bad, "\n".join(bad)


def test_the_reader_sees_lazy_and_relative_imports(tmp_path):
    # Guards the guard: an import inside a function, or a relative one, is an import too.
    q = tmp_path / "x.py"
    q.write_text("def f():\n    from edgebind.pipeline import Pipeline\n    from ..detect import x\n")
    found = imports_of(q, "edgebind.sensors.x")
    assert {"edgebind.pipeline.Pipeline", "edgebind.detect.x"} <= found
    assert starts("edgebind.pipeline.core", RULES[1][1]) and not starts("edgebind.pipelines", ("edgebind.pipeline",))
