"""Accepting connections on a non-blocking listener when file descriptors run out.

When ``accept`` fails with EMFILE/ENFILE the connection stays in the kernel's backlog and the
listener stays readable, so a poll loop that keeps asking would spin. :class:`Acceptor` pauses
instead (``Backoff``: 50 ms, doubling to 1 s, reset by the next success). The health server and the TCP/Unix
sinks both accept through it."""
from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from typing import Any

from edgebind.backoff import Backoff

OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.05, 1.0


class Acceptor:
    """``accept()`` one waiting connection or None; ``on_pause(exc)`` is told each time the
    process is out of descriptors (the caller counts and logs), after which :meth:`paused`
    is true for the back-off time."""

    def __init__(self, listener: socket.socket, on_pause: Callable[[OSError], None]):
        self.listener, self.on_pause = listener, on_pause
        self.backoff, self.paused_until = Backoff(BACKOFF_MIN_S, BACKOFF_MAX_S), 0.0

    def accept(self) -> tuple[socket.socket, Any] | None:
        try:
            conn = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            if exc.errno in OUT_OF_FDS:
                self.paused_until = time.monotonic() + self.backoff.next()
                self.on_pause(exc)
            return None
        self.backoff.reset()
        return conn

    def pause_left_s(self) -> float:
        """Seconds until accepting again (<= 0: accept now)."""
        return self.paused_until - time.monotonic()
