"""The HTTP server behind ``/healthz`` and ``/metrics``, built to keep answering under hostile
clients: idle connections cost a descriptor, not a thread; the requests are read by one
selector thread with a deadline each; at most ``max_connections`` wait, and a new one evicts the
oldest waiting one, so a flood of idle sockets cannot lock a real probe out; answering runs on a
few worker threads with a socket timeout; and when the process runs out of descriptors, accepting
backs off instead of spinning on a listener that stays readable.

Requests are parsed by ``http.server.BaseHTTPRequestHandler`` (so an over-long request line
still gets 414 and too many or too long headers 431), one request per connection (HTTP/1.0).
"""
from __future__ import annotations

import io
import logging
import queue
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from edgebind.accept import BACKOFF_MAX_S, BACKOFF_MIN_S, Acceptor  # noqa: F401  (tests read the pause)

log = logging.getLogger("edgebind.daemon.health")

MAX_REQUEST_LINE = 65536          # http.server's own limit (beyond: 414)
MAX_HEAD = 256 * 1024             # request line plus headers (beyond: 431)


class _Head:
    """A connection whose request head was read already: ``makefile('rb')`` serves those
    bytes, everything else goes to the socket (as ``StreamRequestHandler.setup`` expects)."""

    def __init__(self, sock: socket.socket, head: bytes):
        self._sock, self._head = sock, head

    def makefile(self, mode: str, *args: Any) -> Any:
        return io.BytesIO(self._head) if "r" in mode else self._sock.makefile(mode, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Pending:
    __slots__ = ("sock", "peer", "buf", "deadline")

    def __init__(self, sock: socket.socket, peer: Any, deadline: float):
        self.sock, self.peer, self.buf, self.deadline = sock, peer, b"", deadline


class GuardedHTTPServer:
    """``GuardedHTTPServer(host, port, handler_class).start()``; port 0 picks a free one
    (``.address``). ``stats()`` counts what it refused and why."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler], *,
                 max_connections: int = 64, request_timeout_s: float = 5.0, workers: int = 2):
        self.handler, self.max_connections = handler, int(max_connections)
        self.request_timeout_s = float(request_timeout_s)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(128)
        except OSError as exc:
            self._listener.close()
            raise OSError(f"health endpoint: cannot listen on {host}:{port}: "
                          f"{exc.strerror or exc}") from None
        self._listener.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._pending: dict[int, _Pending] = {}        # insertion order: oldest first
        self._ready: queue.Queue = queue.Queue(maxsize=self.max_connections)
        self._stop = threading.Event()
        self._acceptor = Acceptor(self._listener, self._pause_accepting)
        self._accept_paused = False
        self._lock = threading.Lock()
        self.counters = {"accepted": 0, "served": 0, "evicted": 0, "timed_out": 0,
                         "too_large": 0, "busy": 0, "accept_errors": 0}
        self._threads = [threading.Thread(target=self._select_loop, name="edgebind-health",
                                          daemon=True)]
        self._threads += [threading.Thread(target=self._work, name=f"edgebind-health-{i}",
                                           daemon=True) for i in range(max(1, workers))]

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.getsockname()[:2]

    def start(self) -> "GuardedHTTPServer":
        self._sel.register(self._listener, selectors.EVENT_READ)
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        for p in list(self._pending.values()):
            p.sock.close()
        self._listener.close()
        self._sel.close()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {**self.counters, "waiting": len(self._pending)}

    def _count(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1

    # -- the selector thread: accept, read request heads, enforce deadlines ----------------------
    def _select_loop(self) -> None:
        while not self._stop.is_set():
            self._resume_accepting()
            for key, _ in self._sel.select(timeout=0.2):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._read(self._pending.get(key.fd))
            self._expire()

    def _accept(self) -> None:
        for _ in range(self.max_connections):   # bounded: reading heads must not starve
            conn = self._acceptor.accept()
            if conn is None:
                return
            sock, peer = conn
            if len(self._pending) >= self.max_connections:
                self._evict_one()
            sock.setblocking(False)
            p = _Pending(sock, peer, time.monotonic() + self.request_timeout_s)
            self._pending[sock.fileno()] = p
            self._sel.register(sock, selectors.EVENT_READ)
            self._count("accepted")

    def _evict_one(self) -> None:
        """Make room: drop the oldest connection that has sent nothing. One whose request is
        waiting unread (a probe accepted in the same burst as a flood) is read, not dropped."""
        for p in list(self._pending.values()):
            self._read(p)
            if p.sock.fileno() not in self._pending:      # answered, or gone
                return
            if not p.buf:
                self._drop(p, "evicted")
                return
        self._drop(next(iter(self._pending.values())), "evicted")   # all mid-request

    def _pause_accepting(self, exc: OSError) -> None:
        self._count("accept_errors")
        if self.counters["accept_errors"] == 1:
            log.warning("health endpoint: cannot accept connections (%s); backing off",
                        exc.strerror or exc)
        self._sel.unregister(self._listener)   # until the Acceptor's pause is over
        self._accept_paused = True

    def _resume_accepting(self) -> None:
        if self._accept_paused and self._acceptor.pause_left_s() <= 0:
            self._accept_paused = False
            self._sel.register(self._listener, selectors.EVENT_READ)

    def _read(self, p: _Pending | None) -> None:
        if p is None:
            return
        try:
            data = p.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(p, None)                  # the client went away before asking
            return
        p.buf += data
        if b"\r\n\r\n" in p.buf or b"\n\n" in p.buf:
            self._dispatch(p)
        elif len(p.buf) > MAX_HEAD or (b"\n" not in p.buf and len(p.buf) > MAX_REQUEST_LINE):
            self._dispatch(p)                    # the handler answers 414 or 431
            self._count("too_large")

    def _dispatch(self, p: _Pending) -> None:
        self._forget(p)
        try:
            self._ready.put_nowait(p)
        except queue.Full:
            self._count("busy")
            p.sock.close()

    def _expire(self) -> None:
        now = time.monotonic()
        for p in [p for p in self._pending.values() if p.deadline <= now]:
            self._drop(p, "timed_out")

    def _forget(self, p: _Pending) -> None:
        self._pending.pop(p.sock.fileno(), None)
        try:
            self._sel.unregister(p.sock)
        except (KeyError, ValueError):
            pass

    def _drop(self, p: _Pending, why: str | None) -> None:
        self._forget(p)
        if why:
            self._count(why)
        p.sock.close()

    # -- worker threads: answer complete requests -------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                p = self._ready.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                p.sock.setblocking(True)
                p.sock.settimeout(self.request_timeout_s)    # a client that never reads
                self.handler(_Head(p.sock, p.buf), p.peer, self)
                self._count("served")
            except Exception as exc:                           # never let one request kill us
                log.debug("health request from %s failed: %s", p.peer, exc)
            finally:
                try:
                    p.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                p.sock.close()
