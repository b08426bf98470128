"""The firmware bridge's one error root. The bridge stands alone (pyserial + numpy, no other
EdgeBind import), so its errors derive from ``BridgeError`` rather than ``EdgeBindError``; the
``edgebind`` CLI reports both the same way."""
from __future__ import annotations


class BridgeError(Exception):
    """Base class of every error the firmware bridge raises on purpose."""
