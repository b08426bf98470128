"""``--foxglove [HOST:]PORT``: where the live view listens (127.0.0.1 unless a host is given;
port 0 picks a free one)."""
from __future__ import annotations

import argparse

from edgebind.foxglove.bridge import DEFAULT_HOST, DEFAULT_PORT


def parse_address(text: str) -> tuple[str, int]:
    """``"8765"`` → ("127.0.0.1", 8765); ``"0.0.0.0:8765"``, ``"[::1]:8765"`` → that host. A
    ValueError says what is wrong."""
    text = str(text).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, text
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected [HOST:]PORT with PORT 0-65535 (e.g. 8765 or "
                         f"0.0.0.0:8765), got {text!r}")
    return host, int(port)


def address_arg(text: str) -> tuple[str, int]:
    """``parse_address`` for argparse (its error becomes a usage error)."""
    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_option(p: argparse.ArgumentParser, what: str) -> None:
    """The ``--foxglove`` option of ``edgebind run`` and ``edgebind demo``."""
    p.add_argument("--foxglove", nargs="?", const=(DEFAULT_HOST, DEFAULT_PORT), default=None,
                   type=address_arg, metavar="[HOST:]PORT",
                   help=f"serve a live Foxglove view of {what} over the Foxglove WebSocket "
                        f"protocol (default {DEFAULT_HOST}:{DEFAULT_PORT}; needs the "
                        "foxglove-sdk package; docs/foxglove.md)")
