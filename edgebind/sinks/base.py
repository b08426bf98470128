"""The sink base: ``emit`` puts the event on a bounded queue and returns at once; one worker
thread per sink delivers. A full queue drops its oldest event and counts it, so a slow or dead
output never stalls detection and nothing is lost without a counter saying so."""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

log = logging.getLogger("edgebind.sinks")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _finite(o: Any) -> Any:
    # JSON has no NaN/Infinity; a non-finite number becomes null rather than invalid JSON.
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def encode_line(event: dict[str, Any]) -> bytes:
    """One event as a line of compact JSON (UTF-8, ends with a newline, NaN -> null)."""
    return (json.dumps(_finite(event), separators=(",", ":"), ensure_ascii=False,
                       allow_nan=False, default=_json_default) + "\n").encode("utf-8")


class EventSink(Protocol):
    """What a pipeline needs of a sink (every :class:`Sink` is one): ``emit`` an event dict
    without blocking, ``close`` at shutdown, ``stats()`` and a ``name`` for ``/metrics``. The
    pipeline tolerates a bare object with ``emit`` only: without ``stats`` or ``name`` it is
    left out of or named by its class in ``/metrics``; a failing ``close`` is counted."""

    name: str

    def emit(self, event: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


class Sink:
    """Base class. Subclasses implement ``_deliver(event)`` (runs on the worker thread; raise to
    count an error) and optionally ``_on_wake()`` / ``_shutdown(deadline)`` / ``_extra_stats()``."""

    kind = "sink"
    wake_interval_s: float | None = None      # call _on_wake at least this often

    def __init__(self, *, name: str | None = None, queue_size: int = 1024,
                 drain_timeout_s: float = 2.0, events: Iterable[str] | None = None,
                 states: Iterable[str] | None = None):
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.name = name or self.kind
        self.queue_size = int(queue_size)
        self.drain_timeout_s = float(drain_timeout_s)
        self._names = None if events is None else frozenset(events)
        self._states = None if states is None else frozenset(states)
        self._q: deque[dict[str, Any]] = deque()
        self._cv = threading.Condition()
        self._closing = False
        self._abort = False
        self._closed = False
        self._busy = False
        # "lost": events counted delivered that the output lost afterwards (also moved from
        # delivered to dropped, so the identity below holds); kept so monitoring can count
        # monotonically (edgebind.daemon.prometheus).
        self.counters = {"emitted": 0, "delivered": 0, "dropped": 0, "errors": 0, "filtered": 0,
                         "lost": 0}
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"edgebind-sink-{self.name}", daemon=True)

    def _start(self) -> None:
        """Subclasses call this at the end of their ``__init__``."""
        self._thread.start()

    # -- producer side (the detector's thread) ----------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> bool:
        """Queue ``event`` for delivery; never blocks. Returns False when it (or, on overflow,
        the oldest queued event) was dropped. Don't mutate ``event`` afterwards. An object with
        ``to_dict()`` (an :class:`edgebind.detect.Event`) is converted first."""
        if not isinstance(event, dict):
            if not hasattr(event, "to_dict"):
                raise TypeError(f"sink {self.name}: emit takes an event dict (or an Event), got "
                                f"{type(event).__name__}")
            event = event.to_dict()
        if self._names is not None and event.get("name") not in self._names or \
                self._states is not None and event.get("state") not in self._states:
            with self._cv:
                self.counters["filtered"] += 1
            return True
        with self._cv:
            if self._closing:
                self.counters["dropped"] += 1
                return False
            self.counters["emitted"] += 1
            ok = True
            if len(self._q) >= self.queue_size:
                self._q.popleft()
                self.counters["dropped"] += 1
                ok = False
            self._q.append(event)
            self._cv.notify()
        return ok

    def _notify(self) -> None:
        with self._cv:
            self._cv.notify_all()

    # -- worker side -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._q and not self._closing:
                    if not self._cv.wait(self.wake_interval_s) or not self._q:
                        break
                if self._abort or (self._closing and not self._q):
                    return
                item = self._q.popleft() if self._q else None
                self._busy = item is not None
            try:
                self._on_wake()
                if item is not None:
                    self._deliver(item)
                    with self._cv:
                        self.counters["delivered"] += 1
            except Exception as exc:  # a failing output must never kill the worker
                self._error(exc)
            finally:
                self._busy = False

    def _undeliver(self, n: int) -> None:
        """``n`` events counted as delivered that the output lost afterwards (a full offline
        buffer, messages unacknowledged at close): they move to ``dropped``, so
        emitted = delivered + dropped + errors + queued stays true."""
        if n > 0:
            with self._cv:
                self.counters["delivered"] -= n
                self.counters["dropped"] += n
                self.counters["lost"] += n

    def _error(self, exc: BaseException) -> None:
        with self._cv:
            first = self.counters["errors"] == 0
            self.counters["errors"] += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        if first:
            log.warning("sink %s: %s (further errors are only counted)", self.name, self.last_error)

    def _deliver(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def _on_wake(self) -> None:
        pass

    def _shutdown(self, deadline: float) -> None:
        pass

    def _extra_stats(self) -> dict[str, Any]:
        return {}

    # -- lifecycle ---------------------------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queue is empty and nothing is being delivered (True) or ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._cv:
                if not self._q and not self._busy:
                    return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued for up to ``timeout`` seconds (default ``drain_timeout_s``), then
        stop; whatever is still queued is counted as dropped. Idempotent."""
        if self._closed:
            return
        deadline = time.monotonic() + (self.drain_timeout_s if timeout is None else timeout)
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cv:
            if self._q:
                self.counters["dropped"] += len(self._q)
                self._q.clear()
            self._abort = True
            self._cv.notify_all()
        try:
            self._shutdown(deadline)
        except Exception as exc:
            self._error(exc)
        self._closed = True

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        with self._cv:
            s = {"kind": self.kind, "name": self.name, **self.counters, "queued": len(self._q),
                 "queue_size": self.queue_size, "last_error": self.last_error, "closed": self._closed}
        s.update(self._extra_stats())
        return s
