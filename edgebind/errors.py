"""One root for EdgeBind's own errors, so callers (and the CLI) can catch every failure the SDK
reports on purpose with one ``except EdgeBindError``. Each package keeps its specific classes;
they also derive from the builtin they always were (ValueError, RuntimeError, ...), so existing
``except ValueError`` code keeps working."""
from __future__ import annotations


class EdgeBindError(Exception):
    """Base class of every error EdgeBind raises on purpose (bad input, files, configs)."""
