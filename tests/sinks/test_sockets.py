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
    quitter.close()                                # orderly close
    if quitter.family == socket.AF_UNIX:           # a Unix peer's close is a hang-up at once;
        wait_for(lambda: sink.stats()["clients"] == 2, 5, "the closed client to be removed")
    # over TCP it looks like a half-close (FIN) until a write to it fails.
    if resetter.family == socket.AF_INET:          # abortive close (RST)
        resetter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    resetter.close()
    for i in range(20):
        sink.emit(event(i))
    wait_for(lambda: sink.stats()["clients"] == 1, 5, "the closed and reset clients to go")
    wait_for(lambda: len(keep.lines) == 20, 5, "the live client")
    assert sink.stats()["disconnected"] == 2 and sink.stats()["errors"] == 0


def test_half_closed_clients_get_every_event(server):
    # What `nc -N`, `socat -u` and `cmd < /dev/null | nc` do: shut down the sending side at
    # once, then read. End of stream from a client is not a hang-up.
    make, connect = server
    sink = make()
    clients = []
    for _ in range(2):
        c = connect(sink)
        c.shutdown(socket.SHUT_WR)
        clients.append(Reader(c))
    wait_for(lambda: sink.stats()["clients"] == 2, 5, "2 clients")
    for i in range(82):
        assert sink.emit(event(i))
    for r in clients:
        wait_for(lambda: len(r.lines) == 82, 10, "82 lines at a half-closed client")
        assert [x["seq"] for x in r.lines] == list(range(82))
    assert sink.stats()["disconnected"] == 0
    sink.close(timeout=2)
    assert all(r.eof.wait(5) for r in clients)


def test_a_half_closed_idle_client_yields_its_place_to_a_new_one(server):
    make, connect = server
    sink = make(max_clients=2)
    live = Reader(connect(sink))
    gone = connect(sink)
    gone.shutdown(socket.SHUT_WR)
    wait_for(lambda: sink.stats()["clients"] == 2, 5, "2 clients")
    wait_for(lambda: any(c["half_closed"] for c in sink.stats()["client_stats"]), 5,
             "the server to see the half-close")
    newcomer = Reader(connect(sink))                 # full: the idle half-closed one goes
    wait_for(lambda: sink.stats()["accepted"] == 3, 5, "the newcomer to be accepted")
    sink.emit(event(0))
    wait_for(lambda: len(newcomer.lines) == 1 and len(live.lines) == 1, 5, "both readers")
    s = sink.stats()
    assert s["clients"] == 2 and s["refused"] == 0 and s["disconnected"] == 1
    gone.close()


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


EMFILE_CHILD = r"""
import json, os, resource, sys, time
from edgebind.sinks import TcpSink
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
sink = TcpSink("127.0.0.1", 0)
print(sink.address[1], flush=True)
held = []
while True:                                   # use up every descriptor the process may have
    try:
        held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        break
print("full", flush=True)
t0 = time.monotonic()
sys.stdin.readline()                          # the parent has connected
deadline = time.monotonic() + 60
while sink.stats().get("accept_errors", 0) < 1 and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(1.0)                               # a while at EMFILE: a busy loop would show here
elapsed = time.monotonic() - t0
errors = sink.stats().get("accept_errors", 0)
for fd in held:
    os.close(fd)
deadline = time.monotonic() + 30
while sink.stats()["clients"] < 1 and time.monotonic() < deadline:
    time.sleep(0.02)
sink.emit({"name": "after", "seq": 1})
sink.close(timeout=5)
print(json.dumps({"elapsed": elapsed, "accept_errors": errors,
                  "accepted": sink.stats()["accepted"]}), flush=True)
"""


def test_out_of_descriptors_backs_off_and_recovers(tmp_path):
    """At EMFILE the listener stays readable: accept must back off, not spin, and the client
    waiting in the backlog is served once descriptors are free again."""
    import subprocess
    import sys

    from edgebind.sinks.sockets import ACCEPT_BACKOFF_MIN_S
    from tests.conftest import REPO
    proc = subprocess.Popen([sys.executable, "-c", EMFILE_CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        port = int(proc.stdout.readline())
        assert proc.stdout.readline().strip() == "full"
        client = Reader(socket.create_connection(("127.0.0.1", port), timeout=10))
        proc.stdin.write("connected\n")
        proc.stdin.flush()
        out = json.loads(proc.stdout.readline())
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # Each failed accept is followed by a pause of at least ACCEPT_BACKOFF_MIN_S.
    assert 1 <= out["accept_errors"] <= 1 + out["elapsed"] / ACCEPT_BACKOFF_MIN_S, out
    assert out["accepted"] == 1
    assert client.eof.wait(10)
    assert [x["name"] for x in client.lines] == ["after"]
