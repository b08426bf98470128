"""Daemon configs the daemon tests share: the simulated robot in real time through a bundle."""
from __future__ import annotations

import textwrap


def sim_daemon_config(bundle, anchors, duration_s: int, rest: str = "") -> str:
    """A config running one simulated stream ("sim") for ``duration_s`` seconds in real time on
    one thread; ``rest`` adds its tables ([windows], [health], [[sinks]] ...)."""
    head = textwrap.dedent(f"""\
        bundle = "{bundle}"
        anchors = "{anchors}"
        threads = 1
        [[streams]]
        name = "sim"
        kind = "sim"
        speed = 1
        duration = {duration_s}
        """)
    return head + textwrap.dedent(rest)
