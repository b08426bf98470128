"""/healthz and /metrics over real HTTP, and the Prometheus text they serve."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from edgebind.daemon.health import HealthServer, prometheus_text
from edgebind.pipeline import Histogram
from tests.daemon.prom import check_histograms, parse


def metrics_fixture():
    h = Histogram()
    for v in (0.0004, 0.003, 0.003, 0.2, 12.0):
        h.observe(v)
    return {"samples": {"cam": 10, 'we"ird\nname': 2}, "sample_errors": {},
            "windows_assembled": 5, "windows_processed": 4, "windows_dropped": 1,
            "queue_depth": 0, "queue_capacity": 8, "events": {"glass_breaking": 2},
            "errors": {"preprocess imu": 1},
            "assembler": {"late": 3, "skipped": {"imu": 2}, "last_error": "x"},
            "sinks": {"0:jsonl": {"emitted": 2, "dropped": 0}},
            "latency": {"model": h.snapshot(), "detect": Histogram().snapshot()}}


def health_fixture(status="ok"):
    return {"status": status, "streams": {"cam": {"state": "ok", "samples": 10, "dropped": 1},
                                          "imu": {"state": "disconnected", "errors": 4}},
            "queue": {"depth": 0, "capacity": 8, "dropped": 1}}


def test_prometheus_text_is_well_formed():
    text = prometheus_text(metrics_fixture(), health_fixture(), {"edgebind_uptime_seconds": 3.5})
    types, samples = parse(text)
    check_histograms(types, samples)
    got = {(n, tuple(sorted(lab.items()))): v for n, lab, v in samples}
    assert got[("edgebind_windows_dropped_total", ())] == 1
    assert got[("edgebind_events_total", (("event", "glass_breaking"),))] == 2
    # Up as a number per stream; the state as a state set (a series per state, 1 for the current).
    assert got[("edgebind_stream_up", (("stream", "imu"),))] == 0
    assert got[("edgebind_stream_state", (("state", "disconnected"), ("stream", "imu")))] == 1
    assert got[("edgebind_stage_latency_seconds_count", (("stage", "model"),))] == 5
    assert got[("edgebind_stage_latency_seconds_bucket", (("le", "0.001"), ("stage", "model")))] == 1
    assert got[("edgebind_stage_latency_seconds_bucket", (("le", "10"), ("stage", "model")))] == 4
    assert got[("edgebind_uptime_seconds", ())] == 3.5
    # Label values are escaped, not broken across lines.
    assert any(lab.get("stream") == 'we\\"ird\\nname' for _, lab, _ in samples)
    assert types["edgebind_samples_total"] == "counter"


@pytest.fixture
def server():
    state = {"health": health_fixture()}
    srv = HealthServer("127.0.0.1", 0, lambda: state["health"],
                       lambda: prometheus_text(metrics_fixture(), state["health"])).start()
    yield srv, state
    srv.stop()


def get(srv, path):
    host, port = srv.address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def test_endpoints_over_http(server):
    srv, state = server
    assert srv.address[0] == "127.0.0.1"
    code, ctype, body = get(srv, "/healthz")
    assert code == 200 and ctype == "application/json"
    assert json.loads(body)["streams"]["imu"]["state"] == "disconnected"
    state["health"] = health_fixture("failing")
    code, _, body = get(srv, "/healthz")
    assert code == 503 and json.loads(body)["status"] == "failing"
    code, ctype, body = get(srv, "/metrics")
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    parse(body)
    assert get(srv, "/nope")[0] == 404


def test_a_broken_health_function_answers_500_and_the_server_lives():
    def boom():
        raise RuntimeError("oops")
    srv = HealthServer("127.0.0.1", 0, boom, lambda: "x 1\n").start()
    try:
        assert get(srv, "/healthz")[0] == 500
        assert get(srv, "/metrics")[0] == 200
    finally:
        srv.stop()


def test_port_in_use_is_a_clear_error(server):
    srv, _ = server
    with pytest.raises(OSError, match="cannot listen on 127.0.0.1"):
        HealthServer("127.0.0.1", srv.address[1], dict, str)


# -- hostile clients ------------------------------------------------------------------------------
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from tests.conftest import REPO, wait_until  # noqa: E402

# A health server in a process with the descriptor limit a systemd service gets by default
# (scaled down: 256), so a flood can reach it from this process.
LIMITED_CHILD = r"""
import json, os, resource, sys, time
from edgebind.daemon.health import HealthServer
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
srv = HealthServer("127.0.0.1", 0, lambda: {"status": "ok"}, lambda: "up 1\n",
                   max_connections=32).start()
print(srv.address[1], flush=True)
held = []
for line in sys.stdin:
    if line.startswith("fill"):               # use up every descriptor left
        while True:
            try:
                held.append(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                break
        t0 = time.monotonic()
        print(json.dumps({"held": len(held)}), flush=True)
    elif line.startswith("free"):
        deadline = time.monotonic() + 60
        while srv.stats()["accept_errors"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(1.0)                       # a while at EMFILE: a busy loop would show here
        elapsed = time.monotonic() - t0
        errors = srv.stats()["accept_errors"]
        for fd in held:
            os.close(fd)
        held = []
        print(json.dumps({"elapsed": elapsed, "accept_errors": errors}), flush=True)
    else:
        print(json.dumps(srv.stats()), flush=True)
"""


class LimitedServer:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", LIMITED_CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=REPO)
        self.port = int(self.proc.stdout.readline())

    def ask(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.kill()
        self.proc.wait()


def raw_request(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_idle_connection_flood_under_the_fd_limit_cannot_lock_out_a_probe():
    srv = LimitedServer()
    idle = []
    try:
        for _ in range(400):                  # more than the server's descriptors
            idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/healthz", timeout=30) as r:
            assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
        assert wait_until(lambda: srv.ask("stats")["served"] >= 1, 30)
        stats = srv.ask("stats")
        assert stats["evicted"] > 0 and stats["waiting"] <= 32
    finally:
        for s in idle:
            s.close()
        srv.close()


def test_accepting_backs_off_when_descriptors_run_out_and_recovers():
    srv = LimitedServer()
    try:
        assert srv.ask("fill")["held"] > 0
        probe = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        out = srv.ask("free")
        # Each failed accept is followed by a pause of at least BACKOFF_MIN_S.
        from edgebind.daemon.httpserver import BACKOFF_MIN_S
        assert 1 <= out["accept_errors"] <= 1 + out["elapsed"] / BACKOFF_MIN_S, out
        probe.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")   # waited in the backlog: now served
        probe.settimeout(30)
        reply = b""
        while chunk := probe.recv(65536):
            reply += chunk
        assert reply.startswith(b"HTTP/1.0 200")
        probe.close()
    finally:
        srv.close()


def test_slow_and_oversized_requests_are_cut_off(server):
    srv, _ = server
    port = srv.address[1]
    assert raw_request(port, b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n").startswith(
        b"HTTP/1.0 414")
    many = b"".join(b"X-%d: y\r\n" % i for i in range(120))
    assert raw_request(port, b"GET /healthz HTTP/1.0\r\n" + many + b"\r\n").startswith(
        b"HTTP/1.0 431")
    huge = b"X-Big: " + b"y" * 70000 + b"\r\n"
    assert raw_request(port, b"GET /healthz HTTP/1.0\r\n" + huge * 5 + b"\r\n").startswith(
        b"HTTP/1.0 431")


def test_a_request_that_never_completes_is_dropped_after_the_timeout():
    srv = HealthServer("127.0.0.1", 0, lambda: {"status": "ok"}, lambda: "",
                       request_timeout_s=0.5).start()
    try:
        slow = socket.create_connection(srv.address, timeout=30)
        slow.sendall(b"GET /heal")             # ... and nothing more
        assert slow.recv(1) == b""             # closed by the server, without an answer
        assert srv.stats()["timed_out"] == 1
        assert get(srv, "/healthz")[0] == 200
    finally:
        srv.stop()
