"""What a foreground ``edgebind record`` adds around :func:`edgebind.record.capture.capture`: a
status line on the terminal, and Ctrl-C / SIGTERM as a request to stop."""
from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Callable


class StatusPrinter:
    """One rewritten line on a terminal; a line every 10 s in logs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, line: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + line[:200].ljust(80))
            sys.stderr.flush()
            self._shown = True
        elif time.monotonic() - self._last >= 10.0:
            self._last = time.monotonic()
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def stop_on_signals(stop: threading.Event) -> tuple[Callable[[], None], list[int]]:
    """Ctrl-C and SIGTERM (systemd, docker stop) end the recording by setting ``stop``: the file
    is closed and valid. Not by raising KeyboardInterrupt: an exception raised between a lock's
    acquire and its ``with`` block (a source's health() runs every 50 ms) would leave the lock
    held and hang the shutdown. A second Ctrl-C interrupts for real. Returns (restore,
    signals received)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        return (lambda: None), received

    def handler(signum, frame):  # noqa: ARG001
        received.append(signum)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    return (lambda: [signal.signal(s, h) for s, h in old.items()] and None), received
