"""Events to a Python callable (for integrators). Exceptions are counted, never propagated."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from edgebind.sinks.base import Sink


class CallbackSink(Sink):
    """``CallbackSink(fn)``: ``fn(event_dict)`` runs on the sink's own thread, so a slow callback
    delays only this sink; what it raises is counted in ``stats()["errors"]``."""

    kind = "callback"

    def __init__(self, callback: Callable[[dict[str, Any]], Any], **kw: Any):
        if not callable(callback):
            raise ValueError(f"callback sink needs a callable, got {callback!r}")
        super().__init__(**kw)
        self.callback = callback
        self._start()

    def _deliver(self, event: dict[str, Any]) -> None:
        # a copy: the same dict goes to every sink, and a callback may change what it gets
        self.callback(copy.deepcopy(event))
