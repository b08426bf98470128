"""JSON-lines files and stdout, callbacks, non-blocking emit, and sink config validation."""
from __future__ import annotations

import json
import math
import os
import threading

import numpy as np
import pytest

from edgebind.sinks import CallbackSink, JsonlSink, encode_line, make_sink, make_sinks
from tests.sinks.conftest import wait_for

RECEIVED: list[dict] = []          # target of a callback sink configured by name


def event(i: int, pad: int = 0) -> dict:
    return {"schema": "edgebind.event/1", "id": f"glass#{i}", "name": "glass", "state": "start",
            "seq": i, "pad": "x" * pad}


def read_lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_stdout(capsys):
    sink = make_sink({"kind": "jsonl"}, "cfg")
    for i in range(3):
        sink.emit(event(i))
    sink.close()
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["seq"] for x in out] == [0, 1, 2]


def test_file_rotation_keeps_n_backups_of_bounded_size(tmp_path):
    path = tmp_path / "logs" / "events.jsonl"
    sink = make_sink({"kind": "jsonl", "path": str(path), "max_bytes": 1000, "backups": 2}, "cfg")
    for i in range(60):
        sink.emit(event(i, pad=40))
    sink.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    chunks = [read_lines(path.with_name(n)) for n in ("events.jsonl.2", "events.jsonl.1", "events.jsonl")]
    for n in ("events.jsonl", "events.jsonl.1", "events.jsonl.2"):
        assert 0 < path.with_name(n).stat().st_size <= 1000
    seqs = [x["seq"] for c in chunks for x in c]
    assert seqs == list(range(seqs[0], 60)) and seqs[0] > 0     # oldest rotated away, rest contiguous
    assert sink.stats()["rotations"] >= 3 and sink.stats()["delivered"] == 60


def test_rotation_without_backups_and_appending_to_an_existing_file(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(event(-1)) + "\n")
    sink = JsonlSink(path, max_bytes=300, backups=0)
    for i in range(10):
        sink.emit(event(i))
    sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["e.jsonl"]
    seqs = [x["seq"] for x in read_lines(path)]
    assert seqs[-1] == 9 and path.stat().st_size <= 300


def test_write_errors_are_counted_and_the_sink_keeps_going(tmp_path):
    sink = JsonlSink("/dev/full")                  # every write fails with ENOSPC
    for i in range(5):
        assert sink.emit(event(i))
    assert sink.flush(5)
    s = sink.stats()
    assert s["errors"] == 5 and s["delivered"] == 0 and "No space left" in s["last_error"]
    sink.close()
    with pytest.raises(OSError):
        JsonlSink(tmp_path)                         # a directory: refused when configured


def test_callback_exceptions_are_counted_not_propagated():
    got = []

    def cb(e):
        if e["seq"] % 3 == 0:
            raise RuntimeError(f"integrator bug at {e['seq']}")
        got.append(e["seq"])

    sink = CallbackSink(cb)
    for i in range(9):
        assert sink.emit(event(i))
    sink.close()
    s = sink.stats()
    assert got == [1, 2, 4, 5, 7, 8]
    assert s["errors"] == 3 and s["delivered"] == 6 and "integrator bug at 6" in s["last_error"]


def test_a_blocked_sink_never_stalls_emit():
    release = threading.Event()
    started = threading.Event()
    seen = []

    def stuck(e):
        started.set()
        seen.append(e["seq"])
        release.wait(30)

    sink = CallbackSink(stuck, queue_size=10)
    sink.emit(event(0))
    assert started.wait(5)                          # the worker is now stuck in the callback
    results = []
    producer = threading.Thread(target=lambda: results.extend(sink.emit(event(i)) for i in range(1, 5000)))
    producer.start()
    producer.join(20)
    assert not producer.is_alive(), "emit blocked behind a stuck sink"
    assert not release.is_set()
    s = sink.stats()
    assert s["emitted"] == 5000 and s["queued"] == 10
    assert s["dropped"] == results.count(False) == 4999 - 10
    release.set()
    assert sink.flush(10)
    s = sink.stats()
    assert s["delivered"] + s["dropped"] == 5000 and seen[-1] == 4999   # the newest survive
    sink.close()


def test_close_gives_up_on_a_stuck_sink_and_counts_the_rest():
    release = threading.Event()
    sink = CallbackSink(lambda e: release.wait(30), queue_size=100)
    for i in range(20):
        sink.emit(event(i))
    wait_for(lambda: sink.stats()["queued"] == 19, 5, "the worker to take one")
    sink.close(timeout=0.2)                         # returns although the callback is stuck
    s = sink.stats()
    assert s["closed"] and s["dropped"] == 19
    release.set()


def test_event_and_state_filters():
    got = []
    sink = make_sink({"kind": "callback", "callback": got.append, "events": ["glass"],
                      "states": ["start"]}, "cfg")
    sink.emit(event(0))
    sink.emit({**event(1), "state": "end"})
    sink.emit({**event(2), "name": "dog"})
    sink.close()
    assert [e["seq"] for e in got] == [0] and sink.stats()["filtered"] == 2


def test_callback_by_import_path():
    RECEIVED.clear()
    sink = make_sink({"kind": "callback", "target": "tests.sinks.test_sinks:RECEIVED.append"}, "cfg")
    sink.emit(event(7))
    sink.close()
    assert [e["seq"] for e in RECEIVED] == [7]


def test_encode_line_handles_numpy_and_non_finite_numbers():
    line = encode_line({"a": np.float32(0.5), "b": np.arange(3), "c": math.nan, "d": [math.inf],
                        "e": ("x", "y"), "name": "café"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"a": 0.5, "b": [0, 1, 2], "c": None, "d": [None], "e": ["x", "y"],
                                "name": "café"}
    sink = CallbackSink(lambda e: encode_line(e))
    sink.emit({"bad": object()})
    sink.close()
    assert sink.stats()["errors"] == 1 and "not JSON serialisable" in sink.stats()["last_error"]


@pytest.mark.parametrize("cfg,match", [
    ("jsonl", r"SRC: expected a table with a 'kind' key"),
    ({"path": "x"}, r"SRC: key 'kind': expected one of jsonl, tcp, unix, mqtt, callback, got '<missing>'"),
    ({"kind": "kafka"}, r"key 'kind': expected one of"),
    ({"kind": "jsonl", "max_bytes": -1}, r"SRC: key 'max_bytes': expected an integer in \[0, "),
    ({"kind": "jsonl", "backups": 2.5}, r"key 'backups': expected an integer"),
    ({"kind": "jsonl", "rotate": True}, r"SRC: unknown key\(s\) rotate for a jsonl sink; expected some of"),
    ({"kind": "tcp"}, r"SRC: missing key 'listen'"),
    ({"kind": "tcp", "listen": "localhost"}, r"key 'listen': expected \"HOST:PORT\""),
    ({"kind": "tcp", "listen": "127.0.0.1:99999"}, r"key 'listen': expected \"HOST:PORT\""),
    ({"kind": "unix"}, r"SRC: missing key 'path'"),
    ({"kind": "unix", "path": "/tmp/x", "mode": "0660"}, r"key 'mode': expected an integer"),
    ({"kind": "mqtt", "qos": 3}, r"key 'qos': expected an integer in \[0, 2\]"),
    ({"kind": "mqtt", "port": "1883"}, r"key 'port': expected an integer in \[1, 65535\]"),
    ({"kind": "mqtt", "topic_prefix": "a/#"}, r"key 'topic_prefix': expected a topic without"),
    ({"kind": "mqtt", "reconnect_min_s": 5, "reconnect_max_s": 1}, r"key 'reconnect_max_s': expected a number in \[5, "),
    ({"kind": "mqtt", "retain": "yes"}, r"key 'retain': expected true or false"),
    ({"kind": "callback"}, r"SRC: missing key 'target'"),
    ({"kind": "callback", "target": "nomodule_xyz:f"}, r"key 'target': cannot import module 'nomodule_xyz'"),
    ({"kind": "callback", "target": "json:nothing"}, r"key 'target': module 'json' has no attribute 'nothing'"),
    ({"kind": "callback", "target": "json"}, r"key 'target': expected \"package.module:function\""),
    ({"kind": "callback", "callback": 3}, r"key 'callback': expected a Python callable"),
    ({"kind": "jsonl", "queue_size": 0}, r"key 'queue_size': expected an integer in \[1, "),
    ({"kind": "jsonl", "states": ["begin"]}, r"key 'states': expected a list of start, end, instant"),
    ({"kind": "jsonl", "events": "glass"}, r"key 'events': expected a list of names"),
    ({"kind": "jsonl", "drain_timeout_s": float("nan")}, r"key 'drain_timeout_s': expected a number"),
])
def test_config_errors_name_source_key_and_expectation(cfg, match):
    with pytest.raises(ValueError, match=match):
        make_sink(cfg, "SRC")


def test_make_sinks_closes_what_it_made_when_a_later_table_is_bad(tmp_path):
    path = tmp_path / "s.sock"
    with pytest.raises(ValueError, match=r"edgebind.toml: sinks\[1\]: key 'kind'"):
        make_sinks([{"kind": "unix", "path": str(path)}, {"kind": "nope"}], "edgebind.toml")
    assert not path.exists()                       # the first sink was closed again
    with pytest.raises(ValueError, match="array of tables"):
        make_sinks({"kind": "jsonl"}, "edgebind.toml")
    sinks = make_sinks([{"kind": "jsonl", "path": str(tmp_path / "a.jsonl")},
                        {"kind": "tcp", "listen": "127.0.0.1:0", "name": "dashboard"}], "edgebind.toml")
    assert [(s.kind, s.name) for s in sinks] == [("jsonl", "jsonl"), ("tcp", "dashboard")]
    for s in sinks:
        s.close()
    assert os.path.exists(tmp_path / "a.jsonl")


def test_a_file_moved_away_by_logrotate_is_replaced(tmp_path):
    path = tmp_path / "events.jsonl"
    sink = JsonlSink(path)
    sink.emit(event(0))
    assert sink.flush(5)
    os.rename(path, tmp_path / "events.jsonl.old")          # what logrotate (without copytruncate) does
    wait_for(lambda: (sink.emit(event(1)), sink.flush(5), path.exists())[-1], 5, "a new file")
    sink.close()
    assert read_lines(tmp_path / "events.jsonl.old")[0]["seq"] == 0
    assert read_lines(path)[-1]["seq"] == 1 and sink.stats()["reopened"] == 1


def test_emit_takes_event_objects_and_refuses_other_things():
    from edgebind.detect import Event
    got = []
    sink = CallbackSink(got.append)
    sink.emit(Event("glass", "start", 1, None, 1, 0.5, 0.3, "threshold", {"audio": 0.5}, ("mic",),
                    "ebs1-x", 1))
    with pytest.raises(TypeError, match="emit takes an event dict"):
        sink.emit("glass")
    sink.close()
    assert got[0]["schema"] == "edgebind.event/1" and got[0]["id"] == "glass#1"


def test_a_fifo_as_the_jsonl_path_is_refused_without_blocking(tmp_path):
    # open(fifo, "ab") waits for a reader: start-up used to hang here.
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    result = {}

    def attempt():
        try:
            make_sink({"kind": "jsonl", "path": str(fifo)}, "edgebind.toml: sinks[0]").close()
            result["made"] = True
        except OSError as exc:
            result["error"] = str(exc)
    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "opening a FIFO blocked"
    assert "edgebind.toml: sinks[0]: jsonl sink:" in result["error"] and "FIFO" in result["error"]
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # with a reader: refused all the same
    try:
        with pytest.raises(OSError, match="is a FIFO"):
            make_sink({"kind": "jsonl", "path": str(fifo)}, "SRC")
    finally:
        os.close(reader)
    make_sink({"kind": "jsonl", "path": os.devnull}, "SRC").close()     # devices are fine


def test_a_secret_is_never_echoed_in_a_config_error():
    from edgebind.sinks.config import SinkConfigError
    for bad in (12345678, ["hunter2-hunter2"], {"v": "hunter2-hunter2"}, ""):
        with pytest.raises(SinkConfigError) as info:
            make_sink({"kind": "mqtt", "password": bad}, "edgebind.toml: sinks[0]")
        msg = str(info.value)
        assert "key 'password'" in msg and "<hidden>" in msg
        assert "12345678" not in msg and "hunter2" not in msg


def test_parse_sink_validates_and_opens_nothing(tmp_path):
    from edgebind.sinks import TcpSink
    from edgebind.sinks.config import parse_sink
    taken = TcpSink("127.0.0.1", 0)            # a port in use validates: nothing is bound
    try:
        spec = parse_sink({"kind": "tcp", "listen": f"127.0.0.1:{taken.address[1]}"}, "SRC")
        assert spec.kind == "tcp" and spec.resource == ("tcp", taken.address[1])
        spec = parse_sink({"kind": "unix", "path": "e.sock"}, "SRC", base_dir=tmp_path)
        assert spec.kwargs["path"] == str(tmp_path / "e.sock")
        assert spec.resource == ("unix", str(tmp_path / "e.sock"))
        spec = parse_sink({"kind": "jsonl", "path": "sub/e.jsonl"}, "SRC", base_dir=tmp_path)
        assert spec.kwargs["path"] == str(tmp_path / "sub/e.jsonl")
        assert list(tmp_path.iterdir()) == []
    finally:
        taken.close()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

values = st.one_of(st.none(), st.booleans(), st.integers(-10**450, 10**450),
                   st.floats(allow_nan=True), st.text(max_size=12),
                   st.lists(st.text(max_size=4), max_size=3))
tables = st.fixed_dictionaries(
    {"kind": st.sampled_from(["jsonl", "tcp", "unix", "mqtt", "bogus"])},
    optional={k: values for k in ("path", "listen", "port", "host", "qos", "password", "mode",
                                  "max_clients", "client_buffer", "queue_size", "events",
                                  "states", "tls", "ca_certs", "reconnect_min_s",
                                  "reconnect_max_s", "drain_timeout_s", "topic_prefix",
                                  "max_bytes", "keepalive", "send_buffer_bytes")})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tables)
def test_fuzzed_tables_parse_or_fail_with_a_config_error(tmp_path, table):
    from edgebind.sinks.config import SinkConfigError, parse_sink
    try:
        spec = parse_sink(table, "fuzz.toml: sinks[0]", base_dir=tmp_path)
    except SinkConfigError as exc:
        assert str(exc).startswith("fuzz.toml: sinks[0]")
        if "key 'password'" in str(exc):
            assert "<hidden>" in str(exc)
    else:
        assert spec.kind == table["kind"]
