"""TCP and Unix socket sinks with real sockets and several clients, slow and dead ones included."""
from __future__ import annotations

import json
import os
import socket
import struct
import threading

import pytest

from edgebind.sinks import TcpSink, UnixSink, make_sink
from tests.sinks.conftest import wait_for


def event(i: int, pad: int = 0) -> dict:
    return {"schema": "edgebind.event/1", "id": f"glass#{i}", "name": "glass", "seq": i, "pad": "x" * pad}


class Reader:
    """A client that reads lines on its own thread."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.lines: list[dict] = []
        self.raw = b""
        self.eof = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.eof.set()
                return
            buf += data
            *lines, buf = buf.split(b"\n")
            self.lines += [json.loads(x) for x in lines]


@pytest.fixture(params=["tcp", "unix"])
def server(request, tmp_path):
    """(make_sink(**kw), connect(rcvbuf=None)) for each socket kind."""
    made = []

    def make(**kw):
        if request.param == "tcp":
            s = TcpSink("127.0.0.1", 0, **kw)
        else:
            s = UnixSink(tmp_path / "events.sock", **kw)
        made.append(s)
        return s

    def connect(sink, rcvbuf=None):
        fam, addr = ((socket.AF_INET, sink.address) if request.param == "tcp"
                     else (socket.AF_UNIX, str(sink.path)))
        c = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        c.connect(addr)
        return c

    yield make, connect
    for s in made:
        s.close(timeout=1)


def test_every_client_gets_every_event_in_order(server):
    make, connect = server
    sink = make()
    readers = [Reader(connect(sink)) for _ in range(3)]
    wait_for(lambda: sink.stats()["clients"] == 3, 5, "3 clients")
    for i in range(200):
        assert sink.emit(event(i))
    for r in readers:
        wait_for(lambda: len(r.lines) == 200, 10, "200 lines")
        assert [x["seq"] for x in r.lines] == list(range(200))
    s = sink.stats()
    assert s["delivered"] == 200 and s["dropped"] == 0 and s["client_drops"] == 0 and s["accepted"] == 3


def test_a_slow_client_loses_its_oldest_lines_and_never_slows_the_others(server):
    make, connect = server
    sink = make(client_buffer=16, send_buffer_bytes=4096)
    slow = connect(sink, rcvbuf=4096)              # connects and does not read
    fast = Reader(connect(sink))
    wait_for(lambda: sink.stats()["clients"] == 2, 5, "2 clients")
    n = 400
    for i in range(n):
        assert sink.emit(event(i, pad=2000))
        if i % 10 == 9:                            # let the fast reader keep up with its buffer
            wait_for(lambda: len(fast.lines) >= i - 5, 10, "the fast client")
    wait_for(lambda: len(fast.lines) == n, 10, "all lines at the fast client")
    assert [x["seq"] for x in fast.lines] == list(range(n))
    s = sink.stats()
    per = {c["dropped"] > 0: c for c in s["client_stats"]}
    assert s["dropped"] == 0 and s["client_drops"] > 0 and s["delivered"] == n
    assert True in per and per[True]["dropped"] == s["client_drops"]
    # The slow client now reads: what it gets is whole, valid lines in order, ending at the newest.
    late = Reader(slow)
    sink.close(timeout=3)
    assert late.eof.wait(5)
    seqs = [x["seq"] for x in late.lines]
    assert seqs == sorted(seqs) and seqs[-1] == n - 1
    assert len(seqs) + per[True]["dropped"] == n


def test_dead_clients_are_removed(server):
    make, connect = server
    sink = make()
    keep = Reader(connect(sink))
    quitter = connect(sink)
    resetter = connect(sink)
    wait_for(lambda: sink.stats()["clients"] == 3, 5, "3 clients")
    quitter.close()                                # orderly close: noticed without any event
    wait_for(lambda: sink.stats()["clients"] == 2, 5, "the closed client to be removed")
    if resetter.family == socket.AF_INET:          # abortive close (RST)
        resetter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    resetter.close()
    for i in range(20):
        sink.emit(event(i))
    wait_for(lambda: sink.stats()["clients"] == 1, 5, "the reset client to be removed")
    wait_for(lambda: len(keep.lines) == 20, 5, "the live client")
    assert sink.stats()["disconnected"] == 2 and sink.stats()["errors"] == 0


def test_max_clients_refuses_extra_connections(server):
    make, connect = server
    sink = make(max_clients=1)
    a = Reader(connect(sink))
    wait_for(lambda: sink.stats()["clients"] == 1, 5, "1 client")
    b = Reader(connect(sink))
    assert b.eof.wait(5)                           # closed by the server at once
    sink.emit(event(0))
    wait_for(lambda: len(a.lines) == 1, 5, "the admitted client")
    assert sink.stats()["refused"] == 1 and b.lines == []


def test_close_drains_queued_events_to_clients(server):
    make, connect = server
    sink = make(client_buffer=1000)
    r = Reader(connect(sink))
    wait_for(lambda: sink.stats()["clients"] == 1, 5, "1 client")
    for i in range(300):
        sink.emit(event(i, pad=500))
    sink.close(timeout=5)
    assert r.eof.wait(5)
    assert [x["seq"] for x in r.lines] == list(range(300))
    assert not sink.emit(event(300)) and sink.stats()["dropped"] == 1


def test_unix_socket_file_handling(tmp_path):
    path = tmp_path / "e.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()                                  # a socket file left by a crashed process
    sink = UnixSink(path, mode=0o600)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with pytest.raises(OSError, match="in use by another running process"):
        UnixSink(path)
    sink.close()
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(OSError, match="exists and is not a socket"):
        UnixSink(path)
    assert path.read_text() == "not a socket"
    with pytest.raises(ValueError, match="longer than the 107 bytes"):
        UnixSink(tmp_path / ("x" * 120))


def test_tcp_port_in_use_is_a_clear_error():
    a = TcpSink("127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match=r"edgebind.toml: sinks\[1\]: tcp sink: cannot listen on 127.0.0.1:"):
            make_sink({"kind": "tcp", "listen": f"127.0.0.1:{a.address[1]}"}, "edgebind.toml: sinks[1]")
    finally:
        a.close()
