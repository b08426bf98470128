"""The MQTT sink against a real mosquitto broker: delivery, broker death and return, and the
bounded offline buffer."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from edgebind.sinks import make_sink
from tests.sinks.conftest import wait_for

mqtt = pytest.importorskip("paho.mqtt.client")


class Subscriber:
    """A persistent-session QoS 1 subscriber that resubscribes whenever it reconnects."""

    def __init__(self, port: int, topic: str, client_id: str = "edgebind-test-sub",
                 auth: tuple[str, str] | None = None, ca: str | None = None):
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False)
        if auth:
            self.c.username_pw_set(*auth)
        if ca:
            self.c.tls_set(ca_certs=ca)
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.on_connect = lambda c, u, f, rc, p: (c.subscribe(topic, qos=1), self.connected.set())
        self.c.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self.c.on_message = self._on_message
        self.c.connect_async("127.0.0.1", port, keepalive=5)
        self.c.loop_start()
        wait_for(self.connected.is_set, 10, "the subscriber to connect")

    def _on_message(self, c, u, msg):
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def ids(self) -> set[str]:
        with self.lock:
            return {m["id"] for _, m in self.messages}

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def event(i: int, name: str = "glass_breaking") -> dict:
    return {"schema": "edgebind.event/1", "id": f"{name}#{i}", "name": name, "state": "start",
            "score": 0.5 + i / 1000}


def test_delivery_survives_a_broker_restart(broker_factory):
    broker = broker_factory()
    sub = Subscriber(broker.port, "fleet/robot1/#")
    sink = make_sink({"kind": "mqtt", "port": broker.port, "topic_prefix": "fleet/robot1", "qos": 1,
                      "reconnect_min_s": 0.1, "reconnect_max_s": 0.5}, "edgebind.toml: sinks[0]")
    try:
        wait_for(lambda: sink.stats()["connected"], 10, "the sink to connect")
        wait_for(lambda: sub.connected.is_set(), 5, "subscriber")
        first = [event(i, "glass_breaking" if i % 2 else "dog/barking+") for i in range(6)]
        for e in first:
            assert sink.emit(e)
        wait_for(lambda: len(sub.ids()) == 6, 10, "the first 6 messages")
        topics = {t for t, _ in sub.messages}
        assert topics == {"fleet/robot1/glass_breaking", "fleet/robot1/dog_barking_"}
        assert sub.messages[0][1] == first[0]

        broker.stop()                                        # the broker dies mid-run
        wait_for(lambda: not sink.stats()["connected"], 10, "the sink to notice")
        during = [event(i) for i in range(6, 11)]
        for e in during:
            assert sink.emit(e)                              # never blocks, never raises
        wait_for(lambda: sink.stats()["offline_queued"] == 5, 5, "offline buffering")
        s = sink.stats()
        assert s["disconnects"] >= 1 and s["offline_dropped"] == 0

        broker.start()                                       # same port, persisted sessions
        wait_for(lambda: sink.stats()["connected"], 15, "the sink to reconnect")
        after = [event(i) for i in range(11, 16)]
        for e in after:
            sink.emit(e)
        want = {e["id"] for e in first + during + after}
        try:
            wait_for(lambda: sub.ids() >= want, 15, "all messages after the restart")
        except AssertionError:
            print(sorted(want - sub.ids()), sink.stats(), sub.connected.is_set())
            raise
        s = sink.stats()
        assert s["connects"] >= 2 and s["offline_queued"] == 0 and s["dropped"] == 0
        wait_for(lambda: sink.stats()["acked"] == 16, 5, "acks")
    finally:
        sink.close(timeout=2)
        sub.close()
    assert sink.stats()["closed"]


def test_broker_down_at_start_bounded_offline_buffer(broker_factory):
    broker = broker_factory(start=False)                     # nothing listens yet
    sink = make_sink({"kind": "mqtt", "port": broker.port, "qos": 1, "offline_buffer": 3,
                      "reconnect_min_s": 0.1, "reconnect_max_s": 0.3}, "cfg")
    try:
        for i in range(10):
            sink.emit(event(i))
        assert sink.flush(5)
        s = sink.stats()
        assert not s["connected"]
        assert s["offline_queued"] == 3 and s["offline_dropped"] == 7 and s["dropped"] == 7
        assert s["emitted"] == 10
        broker.start()
        wait_for(lambda: sink.stats()["acked"] == 3, 15, "the 3 buffered events to reach the broker")
        assert sink.stats()["offline_queued"] == 0
    finally:
        sink.close(timeout=2)


def test_close_with_the_broker_gone_counts_what_was_never_sent(broker_factory):
    broker = broker_factory(start=False)
    sink = make_sink({"kind": "mqtt", "port": broker.port, "qos": 0, "reconnect_min_s": 0.1,
                      "reconnect_max_s": 0.2}, "cfg")
    for i in range(4):
        sink.emit(event(i))
    sink.close(timeout=0.3)
    s = sink.stats()
    assert s["dropped"] == 4 and s["delivered"] + s["dropped"] >= 4 and s["published"] == 0


def test_tls_broker(broker_factory, tls_files):
    broker = broker_factory(tls=tls_files)
    good = make_sink({"kind": "mqtt", "port": broker.port, "qos": 1, "ca_certs": str(tls_files["cafile"]),
                      "reconnect_min_s": 0.1, "reconnect_max_s": 0.3}, "cfg")
    # Without our CA the broker's certificate cannot be verified: no connection, events wait.
    untrusted = make_sink({"kind": "mqtt", "port": broker.port, "qos": 1, "tls": True,
                           "reconnect_min_s": 0.1, "reconnect_max_s": 0.3}, "cfg")
    try:
        wait_for(lambda: good.stats()["connected"], 10, "the TLS connection")
        for i in range(3):
            good.emit(event(i))
            untrusted.emit(event(i))
        wait_for(lambda: good.stats()["acked"] == 3, 10, "acks over TLS")
        assert good.stats()["tls"]
        assert untrusted.flush(5)
        s = untrusted.stats()
        assert not s["connected"] and s["connects"] == 0 and s["offline_queued"] == 3
    finally:
        good.close(timeout=1)
        untrusted.close(timeout=0.2)
    assert untrusted.stats()["dropped"] == 3


def test_tls_config_errors(tmp_path):
    with pytest.raises(ValueError, match=r"cfg: key 'ca_certs': expected the path of an existing PEM file"):
        make_sink({"kind": "mqtt", "ca_certs": str(tmp_path / "nope.crt")}, "cfg")
    (tmp_path / "k.pem").write_text("x")
    with pytest.raises(ValueError, match=r"key 'keyfile' needs 'certfile'"):
        make_sink({"kind": "mqtt", "keyfile": str(tmp_path / "k.pem")}, "cfg")
    with pytest.raises(OSError, match=r"cfg: mqtt sink: TLS setup failed"):
        make_sink({"kind": "mqtt", "ca_certs": str(tmp_path / "k.pem")}, "cfg")


def test_status_topic_online_offline_and_will(broker_factory):
    broker = broker_factory()
    seen: list[tuple[str, bytes]] = []
    sub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="status-watch")
    sub.on_message = lambda c, u, m: seen.append((m.topic, m.payload))
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("fleet/+/status", qos=1)
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    cfg = {"kind": "mqtt", "port": broker.port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.3}
    a = make_sink({**cfg, "status_topic": "fleet/a/status", "keepalive": 5}, "cfg")
    b = make_sink({**cfg, "status_topic": "fleet/b/status", "keepalive": 5}, "cfg")
    try:
        wait_for(lambda: {("fleet/a/status", b"online"), ("fleet/b/status", b"online")} <= set(seen), 10,
                 "both devices online")
        a.close(timeout=2)                                     # says goodbye itself
        wait_for(lambda: ("fleet/a/status", b"offline") in seen, 10, "a offline")
        b.client.socket().shutdown(socket.SHUT_RDWR)           # vanishes: the broker sends its will
        wait_for(lambda: ("fleet/b/status", b"offline") in seen, 20, "b's will")
    finally:
        b.close(timeout=0.5)
        sub.disconnect()
        sub.loop_stop()


def test_messages_a_frozen_broker_never_acknowledged_are_counted_at_close(broker_factory):
    """The broker stops answering (SIGSTOP) with events in flight: close() waits its drain
    timeout, then counts every unacknowledged event as dropped, so received + dropped covers
    everything emitted."""
    import signal
    broker = broker_factory()
    sub = Subscriber(broker.port, "edgebind/events/#", client_id="frozen-sub")
    sink = make_sink({"kind": "mqtt", "port": broker.port, "qos": 1, "drain_timeout_s": 1.0,
                      "reconnect_min_s": 0.1, "reconnect_max_s": 0.5}, "cfg")
    n = 49
    try:
        wait_for(lambda: sink.stats()["connected"], 10, "the sink to connect")
        broker.proc.send_signal(signal.SIGSTOP)
        for i in range(n):
            assert sink.emit(event(i))
        wait_for(lambda: sink.stats()["published"] == n, 10, "every event handed to the client")
        sink.close()
        s = sink.stats()
        assert s["lost_at_close"] >= 1 and s["unacked"] == 0
        assert s["dropped"] == s["lost_at_close"] == n - s["acked"]
        assert s["emitted"] == s["delivered"] + s["dropped"] == n
    finally:
        broker.proc.send_signal(signal.SIGCONT)
    # Whatever reached the broker before the close may still arrive: nothing is unaccounted.
    wait_for(lambda: sub.connected.is_set(), 20, "the subscriber after the freeze")
    settled = []

    def stable():
        settled.append(len(sub.ids()))
        return len(settled) > 10 and settled[-1] == settled[-10]
    wait_for(stable, 30, "the subscriber's count to settle")
    assert len(sub.ids()) + sink.stats()["dropped"] >= n
    sub.close()


def test_broker_requiring_a_password_and_tls(broker_factory, tls_files):
    users = {"robot": "s3cret-pass"}
    broker = broker_factory(tls=tls_files, users=users)
    base = {"kind": "mqtt", "port": broker.port, "qos": 1, "ca_certs": str(tls_files["cafile"]),
            "reconnect_min_s": 0.1, "reconnect_max_s": 0.3, "topic_prefix": "fleet/r1"}
    sub = Subscriber(broker.port, "fleet/r1/#", client_id="auth-sub", auth=("robot", "s3cret-pass"),
                     ca=str(tls_files["cafile"]))
    good = make_sink({**base, "username": "robot", "password": "s3cret-pass"}, "cfg")
    wrong = make_sink({**base, "username": "robot", "password": "not-the-pass"}, "cfg")
    anonymous = make_sink(base, "cfg")
    try:
        wait_for(lambda: good.stats()["connected"], 10, "the authenticated TLS connection")
        for i in range(3):
            for s in (good, wrong, anonymous):
                s.emit(event(i))
        wait_for(lambda: good.stats()["acked"] == 3, 10, "acks")
        wait_for(lambda: len(sub.ids()) == 3, 10, "the subscriber")
        for s in (wrong, anonymous):
            wait_for(lambda s=s: "refused" in (s.stats()["last_error"] or ""), 10,
                     "the broker's refusal")
            st_ = s.stats()
            assert not st_["connected"] and st_["connects"] == 0 and st_["offline_queued"] == 3
            assert "not-the-pass" not in repr(st_)
    finally:
        for s in (good, wrong, anonymous):
            s.close(timeout=0.5)
        sub.close()
    assert wrong.stats()["dropped"] == anonymous.stats()["dropped"] == 3
