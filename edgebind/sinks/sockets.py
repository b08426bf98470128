"""Newline-delimited JSON to every client of a TCP or Unix stream socket.

One I/O thread polls the listening socket and the clients. Each client has its own bounded
buffer of lines: a client that reads slowly loses its oldest lines (counted per client) and
never slows the others; a client that disconnects is removed. A client that only shuts down its
sending side (``nc -N``, ``socat -u``, ``< /dev/null``) still gets every event: end of stream
on receive is not a hang-up. When the process runs out of file descriptors, accepting backs off
instead of spinning on a listener that stays readable."""
from __future__ import annotations

import errno
import os
import select
import socket
import stat
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from edgebind.accept import BACKOFF_MAX_S, BACKOFF_MIN_S, Acceptor
from edgebind.sinks.base import Sink, encode_line

_POLL_IN = select.POLLIN | select.POLLPRI
_POLL_BAD = select.POLLHUP | select.POLLERR | select.POLLNVAL
# accept() failing for want of descriptors or memory: wait, doubling from MIN to MAX seconds.
ACCEPT_BACKOFF_MIN_S, ACCEPT_BACKOFF_MAX_S = BACKOFF_MIN_S, BACKOFF_MAX_S


class _Client:
    __slots__ = ("sock", "peer", "buf", "offset", "sent", "dropped", "eof")

    def __init__(self, sock: socket.socket, peer: str):
        self.sock, self.peer = sock, peer
        self.buf: deque[bytes] = deque()
        self.offset = 0                      # bytes of buf[0] already sent
        self.sent = 0
        self.dropped = 0
        self.eof = False                     # the client shut down its sending side


class _StreamServerSink(Sink):
    def __init__(self, listener: socket.socket, *, client_buffer: int = 256, max_clients: int = 32,
                 send_buffer_bytes: int | None = None, **kw: Any):
        super().__init__(**kw)
        if client_buffer < 1 or max_clients < 1:
            raise ValueError("client_buffer and max_clients must be >= 1")
        self.client_buffer, self.max_clients = int(client_buffer), int(max_clients)
        self.send_buffer_bytes = send_buffer_bytes
        self._listener = listener
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._lock = threading.Lock()
        self._clients: dict[int, _Client] = {}
        self._stop = False
        self._drain_until: float | None = None
        self.server_counters = {"accepted": 0, "disconnected": 0, "refused": 0, "client_drops": 0,
                                "accept_errors": 0}
        self._acceptor = Acceptor(self._listener, self._back_off)
        self._io = threading.Thread(target=self._io_loop, name=f"edgebind-sink-{self.name}-io", daemon=True)
        self._io.start()
        self._start()

    # worker thread: fan a line out to every client buffer
    def _deliver(self, event: dict[str, Any]) -> None:
        line = encode_line(event)
        with self._lock:
            for c in self._clients.values():
                idx = 1 if c.offset else 0   # never drop a half-sent line: it would corrupt the stream
                if len(c.buf) >= self.client_buffer and idx < len(c.buf):
                    del c.buf[idx]
                    c.dropped += 1
                    self.server_counters["client_drops"] += 1
                c.buf.append(line)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass                             # already awake (buffer full) or shutting down

    # I/O thread
    def _io_loop(self) -> None:
        while True:
            with self._lock:
                if self._stop:
                    break
                if self._drain_until is not None and (
                        time.monotonic() >= self._drain_until
                        or not any(c.buf for c in self._clients.values())):
                    break
                clients = list(self._clients.values())
            poller = select.poll()
            pause = self._acceptor.pause_left_s()
            if pause <= 0:
                poller.register(self._listener, _POLL_IN)
            poller.register(self._wake_r, _POLL_IN)
            for c in clients:
                # After EOF a socket stays readable: asking again would spin. Hang-ups and
                # errors are reported whatever the mask.
                poller.register(c.sock, (0 if c.eof else _POLL_IN)
                                | (select.POLLOUT if c.buf else 0))
            try:
                ready = poller.poll(200 if pause <= 0 else min(200, int(pause * 1000) + 1))
            except InterruptedError:
                continue
            by_fd = {c.sock.fileno(): c for c in clients}
            for fd, ev in ready:
                if fd == self._wake_r.fileno():
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                elif fd == self._listener.fileno():
                    self._accept()
                elif fd in by_fd:
                    c = by_fd[fd]
                    if ev & _POLL_BAD:              # gone (or broken) both ways
                        self._drop_client(c)
                        continue
                    if ev & _POLL_IN and not self._read(c):
                        continue
                    if ev & select.POLLOUT:
                        self._write(c)
        with self._lock:
            remaining = list(self._clients.values())
        for c in remaining:
            self._drop_client(c, counted=False)

    def _accept(self) -> None:
        while True:
            conn = self._acceptor.accept()
            if conn is None:
                return
            sock, addr = conn
            if not self._make_room():
                with self._lock:
                    self.server_counters["refused"] += 1
                sock.close()
                continue
            with self._lock:
                sock.setblocking(False)
                self._configure(sock)
                peer = addr if isinstance(addr, str) and addr else repr(addr) if addr else "unix-client"
                self._clients[sock.fileno()] = _Client(sock, str(peer))
                self.server_counters["accepted"] += 1

    def _make_room(self) -> bool:
        """Whether a new client fits. At ``max_clients``, the oldest client that closed its
        sending side and has nothing queued gives up its place: over TCP a client that closed
        completely looks the same until a write fails, which in a quiet hour never comes."""
        with self._lock:
            if len(self._clients) < self.max_clients:
                return True
            idle = next((c for c in self._clients.values() if c.eof and not c.buf), None)
        if idle is None:
            return False
        self._drop_client(idle)
        return True

    def _back_off(self, exc: OSError) -> None:
        """Out of descriptors: the Acceptor pauses accepting; count it, log the first."""
        with self._lock:
            self.server_counters["accept_errors"] += 1
            first = self.server_counters["accept_errors"] == 1
        if first:
            from edgebind.sinks.base import log
            log.warning("sink %s: cannot accept connections (%s); backing off", self.name,
                        exc.strerror or exc)

    def _configure(self, sock: socket.socket) -> None:
        if self.send_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(self.send_buffer_bytes))

    def _read(self, c: _Client) -> bool:
        try:
            data = c.sock.recv(4096)         # clients have nothing to say: discard it
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            self._drop_client(c)
            return False
        if not data:
            # EOF: the client will send nothing more, but may still read (a half-close). It
            # is gone when a write fails or the socket hangs up.
            c.eof = True
        return True

    def _write(self, c: _Client) -> bool:
        while True:
            with self._lock:
                if not c.buf:
                    return True
                chunk = c.buf[0][c.offset:]
            try:
                n = c.sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                self._drop_client(c)
                return False
            with self._lock:
                if c.buf and n == len(chunk):
                    c.buf.popleft()
                    c.offset = 0
                    c.sent += 1
                else:
                    c.offset += n

    def _drop_client(self, c: _Client, counted: bool = True) -> None:
        with self._lock:
            if self._clients.get(c.sock.fileno()) is c:
                del self._clients[c.sock.fileno()]
                if counted:                  # what it never received is counted, not hidden
                    self.server_counters["disconnected"] += 1
                    self.server_counters["client_drops"] += len(c.buf)
                    c.dropped += len(c.buf)
        try:
            c.sock.close()
        except OSError:
            pass

    def _shutdown(self, deadline: float) -> None:
        with self._lock:
            self._drain_until = deadline    # let the I/O thread flush client buffers until then
        self._wake()
        self._io.join(max(0.05, deadline - time.monotonic()) + 0.5)
        with self._lock:
            self._stop = True
        self._wake()
        self._io.join(2.0)
        for s in (self._listener, self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def _extra_stats(self) -> dict[str, Any]:
        with self._lock:
            clients = [{"peer": c.peer, "queued": len(c.buf), "sent": c.sent, "dropped": c.dropped,
                        "half_closed": c.eof} for c in self._clients.values()]
            return {**self.server_counters, "clients": len(clients), "client_stats": clients}


class TcpSink(_StreamServerSink):
    """A TCP server on ``host:port`` (127.0.0.1 by default; port 0 picks a free one, see
    :attr:`address`). Each client receives every event as one JSON line."""

    kind = "tcp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kw: Any):
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, addr = infos[0]
        lst = socket.socket(family, socket.SOCK_STREAM)
        try:
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lst.bind(addr)
            lst.listen(128)              # a connection burst waits in the kernel, not in SYN retries
        except OSError as exc:
            lst.close()
            raise OSError(f"tcp sink: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.address: tuple[str, int] = lst.getsockname()[:2]
        super().__init__(lst, **kw)

    def _configure(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super()._configure(sock)

    def _extra_stats(self) -> dict[str, Any]:
        return {"address": f"{self.address[0]}:{self.address[1]}", **super()._extra_stats()}


class UnixSink(_StreamServerSink):
    """A Unix stream socket at ``path`` (a stale socket file from a crash is replaced; a live one
    or any other file is an error). ``mode`` sets its permissions, e.g. 0o660."""

    kind = "unix"

    def __init__(self, path: str | os.PathLike, mode: int | None = None, **kw: Any):
        self.path = Path(path)
        if len(os.fsencode(str(self.path))) > 107:
            raise ValueError(f"unix sink: socket path {self.path} is longer than the 107 bytes "
                             "Linux allows; choose a shorter one")
        _clear_stale_socket(self.path)
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lst.bind(str(self.path))
            if mode is not None:
                os.chmod(self.path, mode)
            lst.listen(128)              # a connection burst waits in the kernel, not in SYN retries
        except OSError as exc:
            lst.close()
            raise OSError(f"unix sink: cannot listen on {self.path}: {exc.strerror or exc}") from None
        self._inode = os.stat(self.path).st_ino
        super().__init__(lst, **kw)

    def _shutdown(self, deadline: float) -> None:
        super()._shutdown(deadline)
        try:
            if os.stat(self.path).st_ino == self._inode:    # only our own socket file
                self.path.unlink()
        except OSError:
            pass

    def _extra_stats(self) -> dict[str, Any]:
        return {"path": str(self.path), **super()._extra_stats()}


def _clear_stale_socket(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(f"unix sink: {path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            path.unlink(missing_ok=True)     # left behind by a process that died
            return
        raise
    finally:
        probe.close()
    raise OSError(f"unix sink: {path} is in use by another running process")
