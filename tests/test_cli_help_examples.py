"""Every example command line that a ``--help`` shows runs, as printed, against small real inputs
made here: simulated recordings, the shipped default bundle, a tiny model file.

The examples are read from the help text of every command and subcommand of ``edgebind`` and
``edgebind-calibrate`` (indented lines that start with the command, ``\\`` continuations joined,
``# comments`` dropped; a synopsis with ``[OPTIONS]`` or ``UPPERCASE`` placeholders is not an
example). They run in order in one working folder, as a user would type them one after another
(``bundle check bundles/small`` checks what the ``export`` example wrote).

Where an example would take minutes, :data:`QUICKER` changes it the documented way (shorter
``--duration``/``--steps``, the tiny preset instead of the small one); every rule there must be
used by some example, so the table cannot go stale. :data:`ELSEWHERE` names examples whose full
run is another test's job (and checks that test runs them). No example needs hardware today;
one that does goes in :data:`NEEDS_HARDWARE`, one that needs an optional package in
:data:`NEEDS_MODULE`; both are reported through ``missing()`` (a failure in CI).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, missing

pytest.importorskip("torch")      # the export, train and quickstart examples run torch

# (what an example says, what runs instead, why): the shorter runs take the same code paths.
QUICKER: list[tuple[str, str, str]] = [
    ("--model small", "--model tiny", "the small preset takes minutes to export on 2 cores"),
    ("--modalities vision,audio,imu", "--modalities imu", "one tower: the same export path"),
    ("--duration 60", "--duration 2", "a sim stream records as fast as it renders"),
    ("--duration 30", "--duration 14", "the demo scenario's shortest run"),
    ("--steps 500", "--steps 2 --batch-size 8", "two optimizer steps exercise the loop"),
    (r"^edgebind eval\b", "edgebind eval --n 16 --probe-n 0 --workers 1",
     "16 held-out windows instead of 400 (+800 for the probe)"),
    (r"^edgebind demo(?!.*--duration)", "edgebind demo --duration 14",
     "the demo scenario's shortest run that holds every event"),
]
# an example containing this -> the optional module it needs (missing() where it is absent)
NEEDS_MODULE = {"--format ros2": "rosbags"}
# example (its start) -> the test that runs it at a smaller scale
ELSEWHERE = {"python -m edgebind.train.default": "tests/train/test_default_recipe.py"}
# example (its start) -> the hardware it needs
NEEDS_HARDWARE: dict[str, str] = {}

EXAMPLE = re.compile(
    r"^\s+((?:[A-Z_]+=\S+\s+)*(?:edgebind(?:-calibrate)?|python -m edgebind\S*)(?:\s.*)?)$")
PLACEHOLDER = re.compile(r"\[|\b[A-Z][A-Z_]{2,}\b(?!=)")


def parsers() -> list[argparse.ArgumentParser]:
    """The parser of every command and subcommand of ``edgebind`` and ``edgebind-calibrate``."""
    from edgebind import cli
    from edgebind.calibration import cli as calibrate
    found = []
    for root in (cli.build_parser(), calibrate.build_parser()):
        todo = [root]
        while todo:
            p = todo.pop(0)
            found.append(p)
            for action in p._actions:
                if isinstance(action, argparse._SubParsersAction):
                    todo.extend(action.choices.values())
    return found


def examples_in(text: str) -> list[str]:
    lines, out = text.splitlines(), []
    i = 0
    while i < len(lines):
        m = EXAMPLE.match(lines[i])
        i += 1
        if not m:
            continue
        line = m.group(1)
        while line.rstrip().endswith("\\") and i < len(lines):
            line = line.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        words = shlex.split(line, comments=True)
        command = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)]
        if not PLACEHOLDER.search(" ".join(command)):      # a synopsis, not an example
            out.append(shlex.join(words))
    return out


def help_examples() -> list[str]:
    """Every distinct example, in the order the help texts show them."""
    seen: dict[str, None] = {}
    for p in parsers():
        for ex in examples_in(p.format_help()):
            seen.setdefault(ex, None)
    return list(seen)


def quicker(example: str) -> str:
    for said, instead, _ in QUICKER:
        example = re.sub(said if said.startswith("^") else re.escape(said), instead, example)
    return example


EXAMPLES = help_examples()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The folder the examples run in, with the inputs they name: ``bundles/tiny`` and
    ``bundles/mine`` (the shipped default bundle), ``prompts.toml`` (the help's own prompts
    example), simulated recordings (``falls.mcap``, ``rec1/rec2.mcap``, ``background.mcap``),
    ``sensors.toml`` (a simulated stream), ``runs/default/model.pt`` (a tiny model) and
    ``examples/`` (the repository's)."""
    from edgebind import assets, cli
    from edgebind.anchors.cli import PROMPTS_EXAMPLE
    from edgebind.train.modelio import load_model, save_model
    ws = tmp_path_factory.mktemp("help-examples")
    (ws / "bundles").mkdir()
    for name in ("tiny", "mine"):
        (ws / "bundles" / name).symlink_to(assets.default_bundle_path(), target_is_directory=True)
    shutil.copytree(REPO / "examples", ws / "examples")
    toml = PROMPTS_EXAMPLE.split("prompts file example:")[1]
    (ws / "prompts.toml").write_text("\n".join(x[2:] for x in toml.splitlines()) + "\n")
    (ws / "sensors.toml").write_text('[[streams]]\nname = "sim"\nkind = "sim"\nspeed = 0\n')
    for out, scenario, seconds in (("falls.mcap", "person_falling", 16), ("rec1.mcap", "default", 3),
                                   ("rec2.mcap", "default", 3), ("background.mcap", "quiet", 8)):
        assert cli.main(["record", "--sim", scenario, "--duration", str(seconds), "--quiet",
                         "--out", str(ws / out)]) == 0
    save_model(load_model("tiny"), ws / "runs" / "default" / "model.pt")
    return ws


def run_example(line: str, monkeypatch) -> int:
    """Run one example line in this process (as the installed scripts would)."""
    words = shlex.split(line)
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(key, value)
    if words[0] == "edgebind":
        from edgebind.cli import main
    elif words[0] == "edgebind-calibrate":
        from edgebind.calibration.cli import main
    else:
        raise AssertionError(f"no way to run {line!r}")
    return main(words[1:])


def test_the_help_texts_show_examples():
    assert len(EXAMPLES) >= 15, EXAMPLES
    shown = " ".join(EXAMPLES)
    for command in ("edgebind export", "edgebind demo", "edgebind quickstart", "edgebind sim",
                    "edgebind run", "edgebind anchors build", "edgebind-calibrate thresholds"):
        assert command in shown, command


def test_every_quicker_rule_is_used():
    for said, _, why in QUICKER:
        used = [e for e in EXAMPLES if re.search(said if said.startswith("^") else re.escape(said), e)]
        assert used, f"no example says {said!r} any more ({why}): drop the rule"


@pytest.mark.parametrize("start", sorted(ELSEWHERE))
def test_examples_run_elsewhere_are_run_there(start):
    assert any(e.startswith(start) for e in EXAMPLES), start
    assert start.split()[-1] in (REPO / ELSEWHERE[start]).read_text()


def test_every_help_example_runs(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ran, skipped = [], []
    for example in EXAMPLES:
        if any(example.startswith(s) for s in ELSEWHERE):
            continue
        hardware = [why for s, why in NEEDS_HARDWARE.items() if example.startswith(s)]
        if hardware:
            skipped.append(f"{example} (needs {hardware[0]})")
            continue
        absent = [m for s, m in NEEDS_MODULE.items()
                  if s in example and importlib.util.find_spec(m) is None]
        if absent:
            skipped.append(f"{example} (needs the {absent[0]} package)")
            continue
        line = quicker(example)
        with monkeypatch.context() as env:
            code = run_example(line, env)
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n{err[-2000:]}"
        if "--json" in line.split():
            json.loads(out)           # one JSON document, nothing else on stdout
        ran.append(line)
    assert ran
    if skipped:
        missing("help examples skipped: " + "; ".join(skipped))
