"""Events to an MQTT broker (paho-mqtt), one message per event on ``<topic_prefix>/<event name>``.

paho's network thread connects and reconnects with exponential backoff (``reconnect_min_s`` ..
``reconnect_max_s``); the broker may be down when the daemon starts. While disconnected, events
wait in a bounded offline buffer (oldest dropped first, counted) and are published in order once
the connection is back. At close, what is still unsent or unacknowledged after the drain timeout
(a frozen broker) is counted as dropped (``lost_at_close``), never silently lost."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from typing import Any

from edgebind.sinks.base import Sink, encode_line


def topic_for(prefix: str, name: Any) -> str:
    # '+', '#' are wildcards and '/' a level separator in MQTT topics; an event name is one level.
    safe = "".join("_" if ch in "+#/\0" else ch for ch in str(name)) or "_"
    return f"{prefix.rstrip('/')}/{safe}" if prefix else safe


class MqttSink(Sink):
    kind = "mqtt"
    wake_interval_s = 0.5

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, topic_prefix: str = "edgebind/events",
                 qos: int = 1, retain: bool = False, client_id: str | None = None,
                 username: str | None = None, password: str | None = None, keepalive: int = 30,
                 offline_buffer: int = 1000, reconnect_min_s: float = 1.0, reconnect_max_s: float = 30.0,
                 tls: bool = False, ca_certs: str | None = None, certfile: str | None = None,
                 keyfile: str | None = None, tls_insecure: bool = False, status_topic: str | None = None,
                 **kw: Any):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise RuntimeError("the mqtt sink needs paho-mqtt: pip install 'edgebind[mqtt]'") from None
        if qos not in (0, 1, 2):
            raise ValueError(f"mqtt sink: qos must be 0, 1 or 2, got {qos!r}")
        if offline_buffer < 0:
            raise ValueError(f"mqtt sink: offline_buffer must be >= 0, got {offline_buffer}")
        if not 0 < reconnect_min_s <= reconnect_max_s:
            raise ValueError("mqtt sink: need 0 < reconnect_min_s <= reconnect_max_s, got "
                             f"{reconnect_min_s}, {reconnect_max_s}")
        super().__init__(**kw)
        self.host, self.port, self.topic_prefix = host, int(port), topic_prefix
        self.qos, self.retain, self.offline_buffer = int(qos), bool(retain), int(offline_buffer)
        self._mqtt = mqtt
        self._pending: deque[tuple[str, bytes]] = deque()
        self._state_lock = threading.Lock()
        self._connected = False
        self._inflight: set[int] = set()
        # acked: QoS >= 1 messages the broker acknowledged; sent: QoS 0 ones written out.
        self.mqtt_counters = {"published": 0, "acked": 0, "sent": 0, "connects": 0,
                              "disconnects": 0, "offline_dropped": 0, "publish_failures": 0,
                              "lost_at_close": 0}
        cid = client_id or f"edgebind-{socket.gethostname()}-{os.getpid()}-{id(self) & 0xffff:x}"
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=cid,
                                  protocol=mqtt.MQTTv311, clean_session=True)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.tls = bool(tls or ca_certs or certfile)
        if self.tls:
            # ca_certs None: the system's CAs. certfile/keyfile: a client certificate.
            try:
                self.client.tls_set(ca_certs=ca_certs, certfile=certfile, keyfile=keyfile)
            except (OSError, ValueError) as exc:
                raise OSError(f"mqtt sink: TLS setup failed ({exc}); check ca_certs, certfile, keyfile") from None
            self.client.tls_insecure_set(bool(tls_insecure))
        self.client.reconnect_delay_set(min_delay=reconnect_min_s, max_delay=reconnect_max_s)
        self.client.max_queued_messages_set(max(1, offline_buffer))
        self.status_topic = status_topic
        if status_topic:
            # retained "online"/"offline": a fleet dashboard sees which devices are reporting; the
            # broker publishes the will if this device vanishes without saying goodbye
            self.client.will_set(status_topic, b"offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.connect_async(host, self.port, keepalive=int(keepalive))
        self.client.loop_start()             # its thread retries the first connection too
        self._start()

    # paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if getattr(reason_code, "is_failure", False):
            with self._state_lock:
                self.last_error = f"broker refused the connection: {reason_code}"
            return
        if self.status_topic:
            client.publish(self.status_topic, b"online", qos=1, retain=True)
        with self._state_lock:
            self._connected = True
            self.mqtt_counters["connects"] += 1
        self._notify()                       # the worker publishes what waited offline

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._state_lock:
            if self._connected:
                self.mqtt_counters["disconnects"] += 1
            self._connected = False

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._state_lock:
            if mid in self._inflight:
                self._inflight.discard(mid)
                self.mqtt_counters["acked" if self.qos else "sent"] += 1

    @property
    def connected(self) -> bool:
        with self._state_lock:
            return self._connected

    # worker thread
    def _deliver(self, event: dict[str, Any]) -> None:
        msg = (topic_for(self.topic_prefix, event.get("name", "event")), encode_line(event)[:-1])
        dropped = False
        with self._state_lock:
            if len(self._pending) >= max(1, self.offline_buffer):
                self._pending.popleft()
                self.mqtt_counters["offline_dropped"] += 1
                dropped = True
            self._pending.append(msg)
        if dropped:
            self._undeliver(1)               # the oldest waiting one was counted delivered
        self._publish_pending()

    def _on_wake(self) -> None:
        self._publish_pending()

    def _publish_pending(self) -> None:
        while True:
            with self._state_lock:
                if not self._connected or not self._pending:
                    return
                topic, payload = self._pending[0]
            info = self.client.publish(topic, payload, qos=self.qos, retain=self.retain)
            rc = info.rc
            if rc == self._mqtt.MQTT_ERR_SUCCESS or (rc == self._mqtt.MQTT_ERR_NO_CONN and self.qos > 0):
                # (QoS > 0 without a connection: paho keeps the message and resends it itself.)
                with self._state_lock:
                    if self._pending and self._pending[0] == (topic, payload):
                        self._pending.popleft()
                    self.mqtt_counters["published"] += 1
                    self._inflight.add(info.mid)     # until acked (or, QoS 0, written)
                if rc != self._mqtt.MQTT_ERR_SUCCESS:
                    return
            else:
                with self._state_lock:
                    self.mqtt_counters["publish_failures"] += 1
                    if rc == self._mqtt.MQTT_ERR_NO_CONN:
                        self._connected = False
                return                       # keep it pending; retried on the next wake

    def _shutdown(self, deadline: float) -> None:
        # Give queued and unacknowledged messages until the deadline, then disconnect; what is
        # left is counted, not forgotten.
        while time.monotonic() < deadline:
            with self._state_lock:
                busy = bool(self._pending) and self._connected or bool(self._inflight)
            if not busy:
                break
            self._publish_pending()
            time.sleep(0.02)
        with self._state_lock:
            waiting, unacked = len(self._pending), len(self._inflight)
            self.mqtt_counters["offline_dropped"] += waiting
            self.mqtt_counters["lost_at_close"] += waiting + unacked
            self._pending.clear()
            self._inflight.clear()
        self._undeliver(waiting + unacked)
        if waiting + unacked:
            from edgebind.sinks.base import log
            log.warning("sink %s: closing with %d events unsent and %d unacknowledged by %s:%d; "
                        "counted as dropped", self.name, waiting, unacked, self.host, self.port)
        try:
            if self.status_topic and self.connected:
                info = self.client.publish(self.status_topic, b"offline", qos=1, retain=True)
                try:
                    info.wait_for_publish(max(0.05, deadline - time.monotonic()))
                except (RuntimeError, ValueError):
                    pass
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def _extra_stats(self) -> dict[str, Any]:
        with self._state_lock:
            return {"broker": f"{self.host}:{self.port}", "tls": self.tls, "connected": self._connected,
                    "offline_queued": len(self._pending), "unacked": len(self._inflight),
                    **self.mqtt_counters}
