"""/metrics follows Prometheus' conventions: checked on the exposition itself (HELP and TYPE
for every family, `_total` exactly on counters, one label set per family, zeros from the
start, states as a state set) and by real third-party clients on a live scrape of the daemon
(`promtool check metrics` from Prometheus 2.42, the `prometheus_client` parser)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from edgebind.daemon.prometheus import Exposition, prometheus_text
from tests.conftest import REPO, missing
from tests.daemon.configs import sim_daemon_config
from tests.daemon.prom import check_histograms, parse
from tests.daemon.test_daemon_process import NO_TORCH, Notify, free_port, http, wait_until
from tests.daemon.test_health import health_fixture, metrics_fixture

SINKS = {"0:jsonl": {"kind": "jsonl", "emitted": 5, "delivered": 4, "dropped": 1, "errors": 0,
                     "filtered": 2, "queued": 0, "queue_size": 1024, "rotations": 1,
                     "reopened": 0, "last_error": None, "closed": False, "path": "x"},
         "1:mqtt": {"kind": "mqtt", "emitted": 3, "delivered": 1, "dropped": 0, "errors": 0,
                    "filtered": 0, "queued": 2, "queue_size": 8, "connected": True,
                    "offline_queued": 0, "unacked": 1, "published": 3, "connects": 1,
                    "tls": False, "broker": "h:1883"}}
SERVICE = {"start_time_seconds": 1.7e9, "reloads": 2, "reload_failures": 1,
           "http": {"accepted": 3, "served": 3, "waiting": 0}}


def families(text: str) -> dict[str, dict]:
    """{family: {"help": ..., "type": ..., "samples": [(name, labels, value)]}}."""
    types, samples = parse(text)
    helps = {line.split(" ", 3)[2]: line.split(" ", 3)[3]
             for line in text.splitlines() if line.startswith("# HELP ")}
    out = {n: {"type": t, "help": helps.get(n), "samples": []} for n, t in types.items()}
    for name, labels, value in samples:
        fam = name if name in out else name.rsplit("_", 1)[0]
        out[fam]["samples"].append((name, labels, value))
    return out


def fixture_text(**kw) -> str:
    m = metrics_fixture()
    m["sinks"] = SINKS
    return prometheus_text(m, health_fixture(), service=SERVICE, **kw)


def check_conventions(text: str) -> dict[str, dict]:
    fams = families(text)
    for name, f in fams.items():
        assert f["help"], f"{name}: no HELP"
        assert name.startswith("edgebind_"), name
        assert (f["type"] == "counter") == name.endswith("_total"), (name, f["type"])
        label_sets = {frozenset(k for k in labels if k != "le") for _, labels, _ in f["samples"]}
        if name != "edgebind_assembler_total":        # kind alone, or kind and key
            assert len(label_sets) <= 1, (name, label_sets)
        if f["type"] == "counter":
            assert all(v >= 0 for _, _, v in f["samples"]), name
    return fams


def test_every_family_has_help_and_type_and_counters_end_in_total():
    fams = check_conventions(fixture_text())
    check_histograms(*parse(fixture_text()))
    assert fams["edgebind_reloads_total"]["type"] == "counter"
    assert fams["edgebind_reload_failures_total"]["type"] == "counter"
    assert fams["edgebind_health_http_accepted_total"]["type"] == "counter"
    assert fams["edgebind_health_http_waiting"]["type"] == "gauge"
    assert fams["edgebind_start_time_seconds"]["samples"] == [
        ("edgebind_start_time_seconds", {}, 1.7e9)]
    assert "edgebind_uptime_seconds" not in fams and "edgebind_sink_stat" not in fams


def test_stream_state_is_a_state_set_and_up_has_no_state_label():
    fams = families(fixture_text())
    up = {lab["stream"]: v for _, lab, v in fams["edgebind_stream_up"]["samples"]}
    assert up == {"cam": 1, "imu": 0}
    states = {(lab["stream"], lab["state"]): v
              for _, lab, v in fams["edgebind_stream_state"]["samples"]}
    assert states == {("cam", "ok"): 1, ("cam", "degraded"): 0, ("cam", "disconnected"): 0,
                      ("cam", "unknown"): 0, ("imu", "ok"): 0, ("imu", "degraded"): 0,
                      ("imu", "disconnected"): 1, ("imu", "unknown"): 0}
    # A state change flips values; the series stay the same.
    h = health_fixture()
    h["streams"]["cam"]["state"] = "degraded"
    after = families(prometheus_text(metrics_fixture(), h))["edgebind_stream_state"]["samples"]
    assert {(lab["stream"], lab["state"]) for _, lab, _ in after} == set(states)
    assert {(lab["stream"], lab["state"]) for _, lab, v in after if v} == {
        ("cam", "degraded"), ("imu", "disconnected")}


def test_error_counters_exist_with_zeros_before_the_first_error():
    m = metrics_fixture()
    m.update(samples={"cam": 0, "mic": 0}, sample_errors={}, errors={},
             encoders={"vision": {"variant": "fp32"}, "audio": {"variant": "fp32"}})
    fams = families(prometheus_text(m, {"streams": {}}))
    refused = {lab["stream"]: v for _, lab, v in fams["edgebind_sample_errors_total"]["samples"]}
    assert refused == {"cam": 0, "mic": 0}
    errors = {lab["stage"]: v for _, lab, v in fams["edgebind_errors_total"]["samples"]}
    assert set(errors) >= {"assemble", "windows", "worker", "detect", "sample cam", "sample mic",
                           "preprocess vision", "model vision", "preprocess audio", "model audio"}
    assert set(errors.values()) == {0}
    m["errors"] = {"model vision": 2, "sink JsonlSink": 1}       # counted ones come on top
    errors = {lab["stage"]: v for _, lab, v in
              families(prometheus_text(m, {"streams": {}}))["edgebind_errors_total"]["samples"]}
    assert errors["model vision"] == 2 and errors["sink JsonlSink"] == 1 and errors["worker"] == 0


def test_sink_stats_split_into_event_outcomes_queue_gauges_and_counters():
    fams = families(fixture_text())
    events = {(lab["sink"], lab["result"]): v
              for _, lab, v in fams["edgebind_sink_events_total"]["samples"]}
    assert events[("0:jsonl", "delivered")] == 4 and events[("0:jsonl", "dropped")] == 1
    assert events[("0:jsonl", "filtered")] == 2 and events[("1:mqtt", "errors")] == 0
    assert {r for _, r in events} == {"delivered", "dropped", "errors", "filtered"}

    def by_sink(name):
        return {lab["sink"]: v for _, lab, v in fams[name]["samples"]}
    assert by_sink("edgebind_sink_emitted_total") == {"0:jsonl": 5, "1:mqtt": 3}
    assert by_sink("edgebind_sink_queue_depth") == {"0:jsonl": 0, "1:mqtt": 2}
    assert by_sink("edgebind_sink_queue_capacity") == {"0:jsonl": 1024, "1:mqtt": 8}
    assert by_sink("edgebind_sink_connected") == {"1:mqtt": 1}
    assert by_sink("edgebind_sink_rotations_total") == {"0:jsonl": 1}
    assert by_sink("edgebind_sink_published_total") == {"1:mqtt": 3}
    for gauge in ("edgebind_sink_queue_depth", "edgebind_sink_connected",
                  "edgebind_sink_unacked"):
        assert fams[gauge]["type"] == "gauge"
    assert not any("tls" in n or "broker" in n or "closed" in n for n in fams)


def test_extra_samples_are_typed_by_their_name_and_a_wrong_type_is_refused():
    fams = families(prometheus_text(metrics_fixture(), health_fixture(),
                                    {"edgebind_widgets_total": 3, "edgebind_widgets": 2}))
    assert fams["edgebind_widgets_total"]["type"] == "counter"
    assert fams["edgebind_widgets"]["type"] == "gauge"
    t = Exposition()
    with pytest.raises(ValueError, match="a gauge must not end in _total"):
        t.gauge("edgebind_x_total", "x", 1)
    with pytest.raises(ValueError, match="a counter must end in _total"):
        t.counter("edgebind_x", "x", 1)


def promtool() -> str:
    tool = shutil.which("promtool")
    if tool is None:
        missing("promtool not installed (Debian package prometheus)")
    return tool


def promtool_check(text: str) -> None:
    r = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def client_parse(text: str) -> dict[str, str]:
    """{family: type} as the official Python client's parser reads it."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        missing("prometheus_client not installed (pip install prometheus-client)")
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def test_promtool_and_prometheus_client_accept_the_exposition():
    text = fixture_text()
    promtool_check(text)
    types = client_parse(text)
    # The client strips _total from counter family names.
    assert types["edgebind_reloads"] == "counter" and types["edgebind_stream_state"] == "gauge"


def ready_or_exit(proc: subprocess.Popen, notify: Notify, timeout: float = 90) -> None:
    """Wait for READY=1; fail at once (with the log) when the daemon exits instead."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            notify.wait_for("READY", 0.5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"no READY=1 (exit status {proc.poll()})")


@pytest.mark.slow
def test_promtool_is_clean_on_a_live_scrape_of_the_daemon(tmp_path, assets_paths):
    """The real daemon (torch made unimportable) with jsonl, tcp and unix sinks, scraped over
    HTTP before and after a reload."""
    tool = promtool()
    bundle, anchors = assets_paths
    port = free_port()
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(sim_daemon_config(bundle, anchors, 300, f"""\
        [windows]
        hop_s = 0.5
        warmup_s = 0
        [health]
        listen = "127.0.0.1:{port}"
        [[sinks]]
        kind = "jsonl"
        path = "{tmp_path / 'events.jsonl'}"
        [[sinks]]
        kind = "tcp"
        listen = "127.0.0.1:0"
        [[sinks]]
        kind = "unix"
        path = "{tmp_path / 'ev.sock'}"
        """))
    notify = Notify(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "PYTHONPATH": str(REPO)}
    err = open(tmp_path / "err.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", NO_TORCH, "run", "--config", str(cfg)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        ready_or_exit(proc, notify)
        wait_until(lambda: "edgebind_windows_processed_total 0\n" not in http(port, "/metrics")[1],
                   60, "a window processed")
        code, text = http(port, "/metrics")
        assert code == 200
        r = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
        fams = check_conventions(text)
        assert {lab["sink"] for _, lab, _ in fams["edgebind_sink_events_total"]["samples"]} == {
            "0:jsonl", "1:tcp", "2:unix"}
        assert "edgebind_sink_accepted_total" in fams and "edgebind_sink_clients" in fams
        client_parse(text)

        n = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("READY", 30, after=n)
        text = http(port, "/metrics")[1]
        promtool_check(text)
        assert "\nedgebind_reloads_total 1\n" in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- daemon log (tail) ---\n"
                             f"{(tmp_path / 'err.log').read_text()[-3000:]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
        notify.sock.close()
    assert "Traceback" not in (tmp_path / "err.log").read_text()


def test_events_lost_after_delivery_never_make_a_counter_go_down():
    # An MQTT sink moves events it had counted delivered to dropped when it loses them later
    # (offline buffer full, unacked at close): its stats' delivered goes down. Exported, the
    # delivered series keeps them (monotonic) and edgebind_sink_lost_total counts them.
    m = metrics_fixture()
    before = {"emitted": 5, "delivered": 5, "dropped": 0, "errors": 0, "filtered": 0, "lost": 0}
    after = {"emitted": 5, "delivered": 3, "dropped": 2, "errors": 0, "filtered": 0, "lost": 2}
    seen = []
    for st in (before, after):
        m["sinks"] = {"0:mqtt": st}
        fams = families(prometheus_text(m, health_fixture()))
        seen.append({lab["result"]: v for _, lab, v in
                     fams["edgebind_sink_events_total"]["samples"]})
        lost = {lab["sink"]: v for _, lab, v in fams["edgebind_sink_lost_total"]["samples"]}
        assert fams["edgebind_sink_lost_total"]["type"] == "counter"
    assert all(seen[1][r] >= seen[0][r] for r in seen[0]), seen
    assert seen[1]["delivered"] == 5 and seen[1]["dropped"] == 0 and lost == {"0:mqtt": 2}
    assert sum(seen[1].values()) == after["emitted"]


def test_a_sinks_stats_count_what_it_lost_after_delivery():
    from edgebind.sinks.callback import CallbackSink
    sink = CallbackSink(lambda e: None, name="cb")
    try:
        sink.emit({"name": "x"})
        assert sink.flush(5.0)
        sink._undeliver(1)          # what the MQTT sink does when it loses a delivered event
        s = sink.stats()
        assert (s["delivered"], s["dropped"], s["lost"]) == (0, 1, 1)
        assert s["emitted"] == s["delivered"] + s["dropped"] + s["errors"]
    finally:
        sink.close()
