"""Exponential back-off, shared by whatever retries: sources reconnecting to a sensor, servers
pausing ``accept`` when descriptors run out."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Exponential backoff: ``initial_s``, doubling up to ``max_s``; ``reset()`` after a success."""

    initial_s: float = 0.1
    max_s: float = 5.0
    factor: float = 2.0
    _next: float | None = None

    def next(self) -> float:
        delay = self.initial_s if self._next is None else self._next
        self._next = min(delay * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = None
