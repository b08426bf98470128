"""JSON lines to stdout or to a file with size-based rotation (events.jsonl, .1, .2, ...)."""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from edgebind.sinks.base import Sink, encode_line


class JsonlSink(Sink):
    """``JsonlSink()`` writes to stdout; ``JsonlSink("events.jsonl", max_bytes=10_000_000,
    backups=5)`` to a file that is rotated before it would grow past ``max_bytes`` (0: never),
    keeping ``backups`` older files (events.jsonl.1 is the newest of them)."""

    kind = "jsonl"

    def __init__(self, path: str | os.PathLike | None = None, *, max_bytes: int = 0, backups: int = 5,
                 fsync: bool = False, **kw: Any):
        super().__init__(**kw)
        if max_bytes < 0 or backups < 0:
            raise ValueError(f"max_bytes and backups must be >= 0, got {max_bytes}, {backups}")
        self.path = None if path in (None, "-") else Path(path)
        self.max_bytes, self.backups, self.fsync = int(max_bytes), int(backups), fsync
        self.rotations = 0
        self.reopened = 0
        self._checked = 0.0
        self._f: BinaryIO | None = None
        self._size = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()                     # fail now (permissions, a directory) not per event
        self._start()

    def _open(self) -> None:
        assert self.path is not None
        self._f = open_append(self.path)
        self._size = self._f.tell()

    def _moved(self) -> bool:
        # checked at most every 0.5 s: one stat per event would cost more than the write
        now = time.monotonic()
        if now - self._checked < 0.5:
            return False
        self._checked = now
        assert self.path is not None and self._f is not None
        try:
            return os.stat(self.path).st_ino != os.fstat(self._f.fileno()).st_ino
        except FileNotFoundError:
            return True

    def _rotate(self) -> None:
        assert self.path is not None
        if self._f is not None:
            self._f.close()
            self._f = None
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        else:
            for i in range(self.backups - 1, 0, -1):
                src = self.path.with_name(f"{self.path.name}.{i}")
                if src.exists():
                    os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.rotations += 1
        self._open()

    def _deliver(self, event: dict[str, Any]) -> None:
        line = encode_line(event)
        if self.path is None:
            out = sys.stdout                 # looked up per event, so redirection is honoured
            out.write(line.decode("utf-8"))
            out.flush()
            return
        if self._f is not None and self._moved():
            self._f.close()                  # logrotate moved or removed it: start a new file
            self._f = None
            self.reopened += 1
        if self._f is None:
            self._open()
        if self.max_bytes and self._size > 0 and self._size + len(line) > self.max_bytes:
            self._rotate()
        assert self._f is not None
        try:
            self._f.write(line)
            self._f.flush()
            if self.fsync:
                os.fsync(self._f.fileno())
        except OSError:
            f, self._f = self._f, None       # reopen next time (disk full, file system gone)
            try:
                f.close()
            except OSError:
                pass
            raise
        self._size += len(line)

    def _shutdown(self, deadline: float) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def _extra_stats(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path else "-", "rotations": self.rotations,
                "reopened": self.reopened}


def open_append(path: Path) -> BinaryIO:
    """``open(path, "ab")`` that never blocks: a FIFO (or a socket, a directory) at ``path`` is
    refused. Opening a FIFO for writing waits for a reader, and writing to one stalls whenever
    the reader does; a stream of events to another program is what the tcp and unix sinks are
    for. Character devices (/dev/null) are fine."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:          # a FIFO nobody reads
            raise OSError(f"jsonl sink: {path} is a FIFO; use a tcp or unix sink to stream "
                          "events to another program") from None
        raise OSError(f"jsonl sink: cannot open {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        os.close(fd)
        what = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise OSError(f"jsonl sink: {path} is {what}; use a tcp or unix sink to stream events "
                      "to another program")
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return os.fdopen(fd, "ab")
