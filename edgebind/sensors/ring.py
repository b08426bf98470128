"""A thread-safe, time-ordered ring buffer of timestamped items, bounded by age and by count.

Items are references (numpy arrays are never copied): a window query returns the stored objects,
so many small audio chunks or IMU batches cost one list slice per query, not a copy of the data.
Storage is parallel Python lists with a moving head index (amortised O(1) eviction from the
front, O(log n) lookup by time); an item that arrives out of order is inserted at its sorted
place (O(n) only for that rare item).
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One stored item: it covers ``[t_ns, end_ns]`` (a frame has ``end_ns == t_ns``)."""

    t_ns: int
    end_ns: int
    item: T


class RingBuffer(Generic[T]):
    """``ring = RingBuffer(max_age_s=3.0, max_count=10_000); ring.push(t_ns, item)``.

    ``max_age_s``: items starting more than this before the newest item's start are evicted.
    ``max_count``: at most this many items; the oldest go first. Items evicted by either bound
    are counted in ``evicted`` (age) and ``overflowed`` (count), never silently.
    """

    def __init__(self, max_age_s: float | None = None, max_count: int | None = None):
        if max_age_s is not None and not max_age_s > 0:
            raise ValueError(f"RingBuffer.max_age_s must be > 0 seconds, got {max_age_s!r}")
        if max_count is not None and (isinstance(max_count, bool) or int(max_count) < 1):
            raise ValueError(f"RingBuffer.max_count must be >= 1, got {max_count!r}")
        self.max_age_ns = None if max_age_s is None else int(round(max_age_s * 1e9))
        self.max_count = None if max_count is None else int(max_count)
        self._lock = threading.Lock()
        self._t: list[int] = []
        self._end: list[int] = []
        self._items: list[Any] = []
        self._head = 0
        self._max_span = 0            # longest end - start seen, bounds overlap queries
        self.evicted = 0
        self.overflowed = 0
        self.out_of_order = 0

    # -- writing ---------------------------------------------------------------------------
    def push(self, t_ns: int, item: T, end_ns: int | None = None) -> bool:
        """Store ``item`` covering ``[t_ns, end_ns]``; returns False when it arrived out of
        order (older than the newest stored start) and was inserted at its sorted place."""
        t = int(t_ns)
        end = t if end_ns is None else int(end_ns)
        if end < t:
            raise ValueError(f"RingBuffer.push: end_ns {end} is before t_ns {t}")
        with self._lock:
            in_order = self._head == len(self._t) or t >= self._t[-1]
            if in_order:
                self._t.append(t)
                self._end.append(end)
                self._items.append(item)
            else:
                self.out_of_order += 1
                i = bisect.bisect_right(self._t, t, lo=self._head)
                self._t.insert(i, t)
                self._end.insert(i, end)
                self._items.insert(i, item)
            self._max_span = max(self._max_span, end - t)
            self._evict()
            return in_order

    def clear(self) -> int:
        """Drop everything (e.g. after a clock jump); returns how many items were dropped."""
        with self._lock:
            n = len(self._t) - self._head
            self._t, self._end, self._items, self._head = [], [], [], 0
            self._max_span = 0
            return n

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            return len(self._t) - self._head

    @property
    def oldest_t_ns(self) -> int | None:
        with self._lock:
            return self._t[self._head] if self._head < len(self._t) else None

    @property
    def newest_t_ns(self) -> int | None:
        with self._lock:
            return self._t[-1] if self._head < len(self._t) else None

    def between(self, t0_ns: int, t1_ns: int) -> list[Entry[T]]:
        """Items whose start lies in ``[t0_ns, t1_ns)``, oldest first."""
        with self._lock:
            i = bisect.bisect_left(self._t, t0_ns, lo=self._head)
            j = bisect.bisect_left(self._t, t1_ns, lo=i)
            return [Entry(self._t[k], self._end[k], self._items[k]) for k in range(i, j)]

    def overlapping(self, t0_ns: int, t1_ns: int) -> list[Entry[T]]:
        """Items whose span ``[t, end]`` meets ``[t0_ns, t1_ns)``, oldest first."""
        with self._lock:
            i = bisect.bisect_left(self._t, t0_ns - self._max_span, lo=self._head)
            j = bisect.bisect_left(self._t, t1_ns, lo=i)
            return [Entry(self._t[k], self._end[k], self._items[k]) for k in range(i, j)
                    if self._end[k] >= t0_ns]

    def next_start(self, t_ns: int) -> int | None:
        """The earliest item start at or after ``t_ns`` (None when there is none)."""
        with self._lock:
            i = bisect.bisect_left(self._t, t_ns, lo=self._head)
            return self._t[i] if i < len(self._t) else None

    def nearest(self, t_ns: int, tolerance_ns: int) -> Entry[T] | None:
        """The item whose start is nearest ``t_ns`` and within ``tolerance_ns``; on a tie the
        earlier one (so the answer does not depend on arrival order)."""
        with self._lock:
            i = bisect.bisect_left(self._t, t_ns, lo=self._head)
            best = None
            for k in (i - 1, i):
                if self._head <= k < len(self._t):
                    d = abs(self._t[k] - t_ns)
                    if d <= tolerance_ns and (best is None or d < best[0]):
                        best = (d, k)
            if best is None:
                return None
            k = best[1]
            return Entry(self._t[k], self._end[k], self._items[k])

    # -- internals -------------------------------------------------------------------------
    def _evict(self) -> None:
        n = len(self._t)
        if self.max_age_ns is not None:
            cutoff = self._t[-1] - self.max_age_ns
            h = bisect.bisect_left(self._t, cutoff, lo=self._head)
            self.evicted += h - self._head
            self._head = h
        if self.max_count is not None and n - self._head > self.max_count:
            drop = n - self._head - self.max_count
            self.overflowed += drop
            self._head += drop
        # Compact once the dead prefix dominates, so memory stays bounded and O(1) amortised.
        if self._head > 64 and self._head * 2 > n:
            del self._t[:self._head], self._end[:self._head], self._items[:self._head]
            self._head = 0
