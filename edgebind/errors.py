"""One root for EdgeBind's own errors, so callers (and the CLI) can catch every failure the SDK
reports on purpose with one ``except EdgeBindError``. Each package keeps its specific classes;
they also derive from the builtin they always were (ValueError, RuntimeError, ...), so existing
``except ValueError`` code keeps working."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable


class EdgeBindError(Exception):
    """Base class of every error EdgeBind raises on purpose (bad input, files, configs)."""


def run_reporting_errors(prog: str, fn: Callable[[], int | None]) -> int:
    """Run a command; user errors get one clear line, not a traceback (EDGEBIND_DEBUG=1 shows
    it). Shared by every command line: ``edgebind``, ``edgebind-calibrate``,
    ``python -m edgebind.train.default``. EdgeBindError covers the SDK's own errors (the
    firmware bridge's derive from ValueError/RuntimeError); the builtins, what commands raise
    themselves (``ValueError`` for bad options, ``OSError`` for files)."""
    try:
        return int(fn() or 0)
    except KeyboardInterrupt:
        return 130
    except (EdgeBindError, ValueError, OSError, RuntimeError) as exc:
        if os.environ.get("EDGEBIND_DEBUG"):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
