"""The one interface every sensor source implements, and the capture loop they share.

A source owns one device (or file) and produces :class:`~edgebind.sample.Sample` records for one
or more streams, stamped on the host monotonic clock. Subclasses implement four small hooks
(``_stream_infos``, ``_open``, ``_read``, ``_close``); this module supplies the rest:

- ``iter_samples()``: synchronous reading in the caller's thread (no threads at all);
- ``start(on_sample)`` / ``stop()``: a capture thread that never waits for the consumer (samples go
  through a bounded queue, the oldest dropped and counted when the consumer falls behind) and a
  delivery thread that calls ``on_sample``;
- health per stream (ok / degraded / disconnected, with counters);
- reconnection with exponential backoff when opening or reading fails.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Literal, Mapping, Protocol

from edgebind.backoff import Backoff  # noqa: F401  (sources reconnect with it)
from edgebind.sample import Sample, StreamInfo

log = logging.getLogger(__name__)

HealthState = Literal["ok", "degraded", "disconnected"]


class SampleSource(Protocol):
    """What a pipeline needs of a source (every :class:`Source` is one; so is any object with
    these members, e.g. a benchmark's replay of a pre-rendered world): the streams it produces;
    ``start`` (deliver samples to ``on_sample`` from its own threads) and ``stop``; or
    ``iter_samples`` (read synchronously); and ``health()``, per stream a ``HealthStatus``, a
    dict or any object with the same fields."""

    @property
    def streams(self) -> list[StreamInfo]: ...

    def start(self, on_sample: Callable[[Sample], None]) -> None: ...

    def stop(self) -> None: ...

    def iter_samples(self) -> Iterator[Sample]: ...

    def health(self) -> Mapping[str, Any]: ...


class EndOfStream(Exception):
    """Raised by ``_read`` when a finite source (a file, a recording, a simulation) is done."""


@dataclass(frozen=True)
class HealthStatus:
    """A snapshot of one stream's health.

    ``state``: ``ok`` (samples flowing, no recent problems), ``degraded`` (connected but recent
    errors, drops, overflows or no sample for a while) or ``disconnected`` (device not open:
    not started, missing, unplugged, or a finite source that has ended). ``dropped`` counts samples
    lost anywhere between the device and the consumer (device overflows, a full queue);
    ``reconnects`` counts successful re-opens after the first open.
    """

    state: HealthState
    samples: int = 0
    dropped: int = 0
    errors: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_sample_ns: int | None = None
    ended: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "samples": self.samples, "dropped": self.dropped,
                "errors": self.errors, "reconnects": self.reconnects,
                "last_error": self.last_error, "last_sample_ns": self.last_sample_ns,
                "ended": self.ended}


@dataclass
class _Counters:
    samples: int = 0
    dropped: int = 0
    errors: int = 0
    last_sample_ns: int | None = None
    last_problem_ns: int | None = None
    last_error: str | None = None


class Source:
    """Base class of every sensor source (see the module docstring for the contract).

    Parameters shared by all sources: ``queue_size`` (samples buffered between the capture and
    delivery threads; the oldest are dropped beyond it), ``backoff`` (reconnect delays,
    ``(initial_s, max_s)``), ``degraded_hold_s`` (how long a problem keeps the state degraded) and
    ``stale_after_s`` (no sample for this long while connected means degraded; default from the
    stream rate).
    """

    kind = "source"

    def __init__(self, *, queue_size: int = 256, backoff: tuple[float, float] = (0.1, 5.0),
                 degraded_hold_s: float = 2.0, stale_after_s: float | None = None) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.queue_size = int(queue_size)
        self.backoff = Backoff(float(backoff[0]), float(backoff[1]))
        self.degraded_hold_s = float(degraded_hold_s)
        self.stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._counters: dict[str, _Counters] = {}
        self._connected = False
        self._ended = False
        self._opened_once = False
        self._reconnects = 0
        self._connected_since_ns: int | None = None
        self._stop = threading.Event()
        self._queue: collections.deque[Sample] = collections.deque()
        self._queue_cv = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._on_sample: Callable[[Sample], None] | None = None

    # ---- hooks for subclasses -----------------------------------------------------------------
    def _stream_infos(self) -> list[StreamInfo]:
        raise NotImplementedError

    def _open(self) -> None:
        """Opens the device; raises OSError/RuntimeError/ValueError with a clear message."""
        raise NotImplementedError

    def _read(self) -> list[Sample]:
        """Returns the next samples (``[]`` when nothing arrived within a short timeout, so the
        loop can notice ``stop()``); raises :class:`EndOfStream` at the end of a finite source
        and any other exception when the device failed (the loop then closes and reconnects)."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _link_state(self) -> HealthState | None:
        """Subclasses with their own link supervision (the firmware bridge) report it here."""
        return None

    def _extra_counts(self, stream: str) -> dict[str, int]:
        """Counters kept outside this class (device-side drops), added to the snapshot."""
        return {}

    # ---- public API -----------------------------------------------------------------------------
    @property
    def streams(self) -> list[StreamInfo]:
        return self._stream_infos()

    def health(self) -> dict[str, HealthStatus]:
        now = time.monotonic_ns()
        link = self._link_state()
        out = {}
        infos = self._stream_infos() or [StreamInfo(self._fallback_name(), "unknown", 0.0, (), "")]
        with self._lock:
            for info in infos:
                c = self._counters.setdefault(info.stream, _Counters())
                extra = self._extra_counts(info.stream)
                out[info.stream] = HealthStatus(
                    state=self._state(info, c, now, link), samples=c.samples,
                    dropped=c.dropped + extra.get("dropped", 0),
                    errors=c.errors + extra.get("errors", 0),
                    reconnects=self._reconnects + extra.get("reconnects", 0),
                    last_error=c.last_error, last_sample_ns=c.last_sample_ns, ended=self._ended)
        return out

    def iter_samples(self, max_samples: int | None = None, timeout_s: float | None = None
                     ) -> Iterator[Sample]:
        """Reads synchronously in the calling thread until ``max_samples`` were yielded,
        ``timeout_s`` elapsed, the source ended, or ``stop()`` was called (from another thread)."""
        if self._threads:
            raise RuntimeError(f"{self!r}: already started; use either start() or iter_samples()")
        self._stop.clear()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        n = 0
        try:
            for sample in self._loop(deadline):
                yield sample
                n += 1
                if max_samples is not None and n >= max_samples:
                    return
        finally:
            self._shutdown()

    def start(self, on_sample: Callable[[Sample], None]) -> None:
        """Starts capturing in a background thread; ``on_sample`` is called from a second thread,
        so a slow consumer never stalls the device (the oldest queued samples are dropped)."""
        if self._threads:
            raise RuntimeError(f"{self!r}: already started")
        self._stop.clear()
        self._on_sample = on_sample
        self._queue.clear()
        cap = threading.Thread(target=self._capture_thread, name=f"{self.kind}-capture", daemon=True)
        dlv = threading.Thread(target=self._deliver_thread, name=f"{self.kind}-deliver", daemon=True)
        self._threads = [cap, dlv]
        cap.start()
        dlv.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops capture (idempotent), joins the threads and closes the device."""
        self._stop.set()
        with self._queue_cv:
            self._queue_cv.notify_all()
        threads, self._threads = self._threads, []
        for t in threads:
            t.join(timeout)
            if t.is_alive():  # pragma: no cover - a driver call that never returns
                log.error("%s: thread %s did not stop within %.1f s", self, t.name, timeout)

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        names = ",".join(i.stream for i in self._stream_infos())
        return f"<{type(self).__name__} {names}>"

    # ---- helpers for subclasses ---------------------------------------------------------------
    def _note_problem(self, stream: str | None, text: str | None = None, *, dropped: int = 0,
                      error: bool = False) -> None:
        """Counts a drop or an error on one stream (None: all streams) and marks it degraded."""
        now = time.monotonic_ns()
        with self._lock:
            names = [stream] if stream is not None else self._stream_names()
            for name in names:
                c = self._counters.setdefault(name, _Counters())
                c.dropped += dropped
                c.errors += int(error)
                c.last_problem_ns = now
                if text is not None:
                    c.last_error = text

    def _fallback_name(self) -> str:
        return str(getattr(self, "name", "") or self.kind)

    def _stream_names(self) -> list[str]:
        # A source whose streams are not known yet (a recording that cannot be opened) still
        # needs somewhere to count its errors.
        return [i.stream for i in self._stream_infos()] or [self._fallback_name()]

    def _wait_until(self, t_ns: int) -> bool:
        """Sleeps until monotonic ``t_ns``; False when stop() was called meanwhile."""
        delay = (t_ns - time.monotonic_ns()) / 1e9
        if delay > 0:
            return not self._stop.wait(delay)
        return not self._stop.is_set()

    # ---- the loop ---------------------------------------------------------------------------------
    def _state(self, info: StreamInfo, c: _Counters, now: int, link: HealthState | None
               ) -> HealthState:
        if not self._connected or link == "disconnected":
            return "disconnected"
        if link == "degraded":
            return "degraded"
        if c.last_problem_ns is not None and now - c.last_problem_ns < self.degraded_hold_s * 1e9:
            return "degraded"
        stale = self.stale_after_s
        if stale is None:
            stale = max(2.0, 5.0 / info.rate_hz) if info.rate_hz > 0 else 5.0
        last = c.last_sample_ns if c.last_sample_ns is not None else self._connected_since_ns
        if last is not None and now - last > stale * 1e9:
            return "degraded"
        return "ok"

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            self._connected = connected
            self._connected_since_ns = time.monotonic_ns() if connected else None

    def _loop(self, deadline: float | None) -> Iterator[Sample]:
        opened = fresh = False
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                if not opened:
                    try:
                        self._open()
                    except Exception as exc:  # noqa: BLE001 - any driver failure: retry later
                        self._note_problem(None, f"open failed: {exc}", error=True)
                        self._safe_close()
                        delay = self.backoff.next()
                        if deadline is not None:
                            delay = min(delay, max(0.0, deadline - time.monotonic()))
                        log.debug("%r: open failed (%s); retrying in %.2f s", self, exc, delay)
                        self._stop.wait(delay)
                        continue
                    opened = True
                    with self._lock:
                        if self._opened_once:
                            self._reconnects += 1
                        self._opened_once = True
                        self._ended = False
                    self._set_connected(True)
                    fresh = True
                try:
                    samples = self._read()
                except EndOfStream:
                    with self._lock:
                        self._ended = True
                    return
                except Exception as exc:  # noqa: BLE001 - unplugged / driver error: reconnect
                    self._note_problem(None, f"read failed: {exc}", error=True)
                    log.warning("%r: read failed (%s); reconnecting", self, exc)
                    self._set_connected(False)
                    self._safe_close()
                    opened = False
                    self._stop.wait(self.backoff.next())
                    continue
                if samples and fresh:
                    self.backoff.reset()  # only data proves the device works, not just an open
                    fresh = False
                for s in samples:
                    self._count_sample(s)
                    yield s
        finally:
            self._set_connected(False)
            if opened:
                self._safe_close()

    def _count_sample(self, s: Sample) -> None:
        with self._lock:
            c = self._counters.setdefault(s.stream, _Counters())
            c.samples += 1
            c.last_sample_ns = int(s.t_ns)

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception as exc:  # noqa: BLE001 - closing a dead device must not raise
            log.debug("%r: close failed: %s", self, exc)

    def _shutdown(self) -> None:
        self._set_connected(False)

    def _capture_thread(self) -> None:
        try:
            for s in self._loop(None):
                with self._queue_cv:
                    if len(self._queue) >= self.queue_size:
                        old = self._queue.popleft()
                        self._note_problem(old.stream, "consumer too slow: dropped oldest sample",
                                           dropped=1)
                    self._queue.append(s)
                    self._queue_cv.notify()
        except Exception as exc:  # pragma: no cover - the loop itself catches driver errors
            log.exception("%r: capture thread failed", self)
            self._note_problem(None, f"capture failed: {exc!r}", error=True)
        finally:
            with self._queue_cv:
                self._queue_cv.notify_all()

    def _deliver_thread(self) -> None:
        cap = self._threads[0] if self._threads else None
        while True:
            with self._queue_cv:
                while not self._queue and cap is not None and cap.is_alive():
                    self._queue_cv.wait(0.1)
                if not self._queue:
                    # Only once capture has ended: a sample read while stop() was pending is
                    # counted in health, so it must still reach the consumer.
                    if cap is None or not cap.is_alive():
                        return
                    continue
                s = self._queue.popleft()
            try:
                self._on_sample(s)  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 - a consumer bug must not stop capture
                log.exception("%r: on_sample raised", self)
                self._note_problem(s.stream, f"on_sample raised {exc!r}", error=True)


def with_shape(info: StreamInfo, shape: tuple[int, ...], **extra: Any) -> StreamInfo:
    """A copy of ``info`` with the shape learnt from the device (and extra fields merged)."""
    return replace(info, shape=tuple(shape), extra={**info.extra, **extra})
