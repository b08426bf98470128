"""The ``edgebind`` command's one rule: every subcommand is found the same way and reports an
error it raises on purpose in one line, with exit status 1."""
from __future__ import annotations

import argparse
import importlib

import pytest

from edgebind import cli
from edgebind.errors import EdgeBindError


class Refused(EdgeBindError):
    pass


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_reports_an_edgebind_error_in_one_line(name, monkeypatch, capsys):
    command = cli.SUBCOMMANDS[name][0]
    module, _, sub = command.partition(":")
    run_name = f"run_{sub}" if sub else "run"
    mod = importlib.import_module(module)
    assert callable(getattr(mod, run_name))
    assert callable(getattr(mod, f"add_{sub}_arguments" if sub else "add_arguments"))

    def refuse(args):
        raise Refused(f"{name} cannot go on")
    monkeypatch.setattr(mod, run_name, refuse)
    monkeypatch.delenv("EDGEBIND_DEBUG", raising=False)
    code = cli.run_command(argparse.Namespace(command=name, _command=command))
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"edgebind {name}: error: {name} cannot go on\n"


def test_interrupt_exits_130(monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(importlib.import_module("edgebind.tools.cli"), "run_demo", interrupted)
    args = argparse.Namespace(command="demo", _command=cli.SUBCOMMANDS["demo"][0])
    assert cli.run_command(args) == 130


def test_help_of_every_subcommand_builds():
    parser = cli.build_parser()
    for name in cli.SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0
