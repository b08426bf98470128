"""systemd's notification protocol (sd_notify), spoken directly: newline-separated
``KEY=VALUE`` assignments in one datagram to the unix socket named by ``$NOTIFY_SOCKET``
(a leading ``@`` means the abstract namespace). Outside systemd the variable is unset and every
call is a no-op, so the daemon runs the same under a shell, a container or a unit.

A value is one line: newlines (and NULs) in it become spaces, since a newline would start
another assignment (a status text carrying ``\nREADY=1`` or ``\nMAINPID=1`` would be obeyed)."""
from __future__ import annotations

import os
import socket
import time
from typing import Mapping


def one_line(value: object) -> str:
    """``value`` as text with every line break and NUL turned into a space."""
    return " ".join(str(value).replace("\0", " ").splitlines())


class Notifier:
    """``Notifier.from_env()``; ``ready()``, ``status(text)``, ``watchdog()``, ``reloading()``,
    ``stopping()``. Send errors are swallowed (a dead manager must not kill the service) and
    counted in ``errors``."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None):
        self.address = address
        self.watchdog_usec = watchdog_usec
        self.errors = 0
        self.sent = 0
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Notifier":
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET") or None
        wd = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # The watchdog is ours unless WATCHDOG_PID names another process.
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            wd = int(usec)
        return cls(addr, wd)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of ``WATCHDOG_USEC`` (as systemd recommends), or None."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (keyword names are upper-cased; values made one line)."""
        if not self.address:
            return False
        msg = "\n".join(f"{k.upper()}={one_line(v)}" for k, v in fields.items())
        return self.send(msg)

    def send(self, message: str) -> bool:
        if not self.address:
            return False
        addr = self.address
        if addr.startswith("@"):
            addr = "\0" + addr[1:]
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode("utf-8"), addr)
            self.sent += 1
            return True
        except OSError:
            self.errors += 1
            return False

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: start-up done, or (after ``reloading()``) the reload done."""
        return self.notify(ready=1, **({"status": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.notify(status=text)

    def watchdog(self) -> bool:
        return self.notify(watchdog=1)

    def reloading(self, status: str | None = None) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (CLOCK_MONOTONIC, as systemd reads it):
        under ``Type=notify-reload`` systemd takes a reload as started only by a RELOADING=1
        stamped after its reload signal, and as finished by the next ``READY=1``."""
        return self.notify(reloading=1, monotonic_usec=time.monotonic_ns() // 1000,
                           **({"status": status} if status else {}))

    def stopping(self) -> bool:
        return self.notify(stopping=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
