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
    assert got[("edgebind_stream_up", (("state", "disconnected"), ("stream", "imu")))] == 0
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
