"""The bounded window queue between the windows thread and the inference worker: it never
blocks the producer and, under overload, drops the *oldest* window (the newest is the one
worth detecting on) and counts every drop."""
from __future__ import annotations

import threading
from collections import deque
from typing import Any


class DropOldestQueue:
    """A bounded FIFO: ``put`` never blocks; when full the oldest item is discarded and counted."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"queue capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._items: deque = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self._closed = False

    def put(self, item: Any) -> int:
        """Append; returns how many old items were dropped to make room (0 or 1)."""
        with self._cond:
            dropped = 0
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
                dropped = 1
            self._items.append(item)
            self._cond.notify()
            return dropped

    def get_batch(self, max_items: int, timeout_s: float | None = None) -> list:
        """Wait for at least one item (or close/timeout), then take up to ``max_items``."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout_s)
            out = []
            while self._items and len(out) < max_items:
                out.append(self._items.popleft())
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed_and_empty(self) -> bool:
        with self._cond:
            return self._closed and not self._items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
