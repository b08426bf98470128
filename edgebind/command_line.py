"""What every EdgeBind command line shares (``edgebind``, ``edgebind-calibrate``,
``python -m edgebind.train.default``): errors reported in one line under the name argparse
gives the command, and unrecognised arguments reported by the command they were given to."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from edgebind.errors import EdgeBindError


def run_reporting_errors(prog: str, fn: Callable[[], int | None]) -> int:
    """Run a command; user errors get one clear line, not a traceback (EDGEBIND_DEBUG=1 shows
    it). Shared by every command line: ``edgebind``, ``edgebind-calibrate``,
    ``python -m edgebind.train.default``. EdgeBindError covers the SDK's own errors (the
    firmware bridge's derive from ValueError/RuntimeError); the builtins, what commands raise
    themselves (``ValueError`` for bad options, ``OSError`` for files).

    The line reads ``PROG: error: MESSAGE``, exactly as argparse words a usage error of the
    same command: ``prog`` is the whole command as its parser's ``prog`` spells it
    (``edgebind run``, ``edgebind sim timeline``, ``edgebind-calibrate imu``), so a typo in an
    option and a missing file are reported under one name (see :func:`name_commands` and
    :func:`parse_command_line`)."""
    try:
        return int(fn() or 0)
    except KeyboardInterrupt:
        return 130
    except (EdgeBindError, ValueError, OSError, RuntimeError) as exc:
        if os.environ.get("EDGEBIND_DEBUG"):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1


def name_commands(parser: argparse.ArgumentParser) -> None:
    """Record each (sub)command parser's ``prog`` as the ``_prog`` default of what it parses,
    so the innermost command run (argparse copies a subparser's defaults over its parent's)
    names itself in :func:`run_reporting_errors` as argparse does in usage errors."""
    parser.set_defaults(_prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                name_commands(sub)


def parse_command_line(parser: argparse.ArgumentParser,
                       argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args(argv)`` for a parser passed through :func:`name_commands`, except
    that unrecognized arguments are reported by the innermost command's parser, with its usage:
    argparse leaves them to the top parser (``edgebind: error: unrecognized arguments``) while
    every other usage error of a subcommand reads ``edgebind run: error: ...``."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        _named(parser, getattr(args, "_prog", parser.prog)).error(
            f"unrecognized arguments: {' '.join(extra)}")
    return args


def _named(parser: argparse.ArgumentParser, prog: str) -> argparse.ArgumentParser:
    todo = [parser]
    while todo:
        p = todo.pop()
        if p.prog == prog:
            return p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return parser
