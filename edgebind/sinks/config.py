"""``make_sink(cfg, source)``: a sink from a ``[[sinks]]`` config table. Errors name the source
(file and table), the key and what was expected."""
from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable
from typing import Any

from edgebind.sinks.base import Sink

KINDS = ("jsonl", "tcp", "unix", "mqtt", "callback")
_COMMON = {"kind": "", "name": "", "queue_size": "", "drain_timeout_s": "", "events": "", "states": ""}
_KEYS = {
    "jsonl": {"path", "max_bytes", "backups", "fsync"},
    "tcp": {"listen", "client_buffer", "max_clients", "send_buffer_bytes"},
    "unix": {"path", "mode", "client_buffer", "max_clients", "send_buffer_bytes"},
    "mqtt": {"host", "port", "topic_prefix", "qos", "retain", "client_id", "username", "password",
             "keepalive", "offline_buffer", "reconnect_min_s", "reconnect_max_s", "tls", "ca_certs",
             "certfile", "keyfile", "tls_insecure", "status_topic"},
    "callback": {"target", "callback"},
}


def _isfinite(v) -> bool:
    """math.isfinite that says False (not OverflowError) for integers too large for a float."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


class _Table:
    def __init__(self, cfg: dict[str, Any], source: str):
        self.cfg, self.source = cfg, source

    def fail(self, key: str, want: str) -> ValueError:
        got = self.cfg.get(key, "<missing>")
        return ValueError(f"{self.source}: key {key!r}: expected {want}, got {got!r:.80}")

    def has(self, key: str) -> bool:
        return key in self.cfg

    def str(self, key: str, default: Any = None, required: bool = False) -> Any:
        if key not in self.cfg:
            if required:
                raise ValueError(f"{self.source}: missing key {key!r}")
            return default
        v = self.cfg[key]
        if not isinstance(v, str) or not v:
            raise self.fail(key, "a non-empty string")
        return v

    def int(self, key: str, default: int | None, lo: int, hi: int) -> int | None:
        if key not in self.cfg:
            return default
        v = self.cfg[key]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(key, f"an integer in [{lo}, {hi}]")
        return v

    def num(self, key: str, default: float, lo: float, hi: float) -> float:
        if key not in self.cfg:
            return default
        v = self.cfg[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _isfinite(v) or not lo <= v <= hi:
            raise self.fail(key, f"a number in [{lo:g}, {hi:g}]")
        return float(v)

    def bool(self, key: str, default: bool) -> bool:
        v = self.cfg.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, "true or false")
        return v

    def names(self, key: str) -> list[str] | None:
        if key not in self.cfg:
            return None
        v = self.cfg[key]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(key, "a list of names")
        return v


def parse_listen(value: str, where: str) -> tuple[str, int]:
    """"HOST:PORT" or "[v6]:PORT" -> (host, port)."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{where}: expected \"HOST:PORT\" (e.g. \"127.0.0.1:7700\"), got {value!r:.80}")
    return host, int(port)


def resolve_callable(target: str, where: str) -> Callable[..., Any]:
    """"package.module:attribute" -> the callable it names."""
    mod, sep, attr = target.partition(":")
    if not sep or not mod or not attr:
        raise ValueError(f"{where}: expected \"package.module:function\", got {target!r:.80}")
    try:
        obj: Any = importlib.import_module(mod)
    except ImportError as exc:
        raise ValueError(f"{where}: cannot import module {mod!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{where}: module {mod!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{where}: {target!r} is not callable")
    return obj


def make_sink(cfg: Any, source: str = "[[sinks]]") -> Sink:
    """Build a sink from a config table such as ``{kind = "mqtt", host = "broker", qos = 1}``.

    Common keys: kind (jsonl | tcp | unix | mqtt | callback), name, queue_size, drain_timeout_s,
    events (only these event names), states (only these states: start, end, instant)."""
    if not isinstance(cfg, dict):
        raise ValueError(f"{source}: expected a table with a 'kind' key, got {cfg!r:.80}")
    t = _Table(cfg, source)
    kind = cfg.get("kind")
    if kind not in KINDS:
        raise t.fail("kind", "one of " + ", ".join(KINDS))
    unknown = sorted(set(cfg) - set(_COMMON) - _KEYS[kind])
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)} for a {kind} sink; expected "
                         f"some of {', '.join(sorted(set(_COMMON) | _KEYS[kind]))}")
    states = t.names("states")
    if states and any(s not in ("start", "end", "instant") for s in states):
        raise t.fail("states", "a list of start, end, instant")
    common = dict(name=t.str("name", None), queue_size=t.int("queue_size", 1024, 1, 10_000_000),
                  drain_timeout_s=t.num("drain_timeout_s", 2.0, 0.0, 3600.0),
                  events=t.names("events"), states=states)
    try:
        if kind == "jsonl":
            from edgebind.sinks.jsonl import JsonlSink
            return JsonlSink(t.str("path", "-"), max_bytes=t.int("max_bytes", 0, 0, 1 << 40),
                             backups=t.int("backups", 5, 0, 1000), fsync=t.bool("fsync", False), **common)
        if kind in ("tcp", "unix"):
            sock_kw = dict(client_buffer=t.int("client_buffer", 256, 1, 1_000_000),
                           max_clients=t.int("max_clients", 32, 1, 10_000),
                           send_buffer_bytes=t.int("send_buffer_bytes", None, 1024, 1 << 30))
            if kind == "tcp":
                from edgebind.sinks.sockets import TcpSink
                host, port = parse_listen(t.str("listen", required=True), f"{source}: key 'listen'")
                return TcpSink(host, port, **sock_kw, **common)
            from edgebind.sinks.sockets import UnixSink
            return UnixSink(t.str("path", required=True), mode=t.int("mode", None, 0, 0o777),
                            **sock_kw, **common)
        if kind == "mqtt":
            from edgebind.sinks.mqtt import MqttSink
            lo = t.num("reconnect_min_s", 1.0, 0.01, 3600.0)
            hi = t.num("reconnect_max_s", max(30.0, lo), lo, 86400.0)
            qos = t.int("qos", 1, 0, 2)
            prefix = t.str("topic_prefix", "edgebind/events")
            if any(ch in prefix for ch in "+#"):
                raise t.fail("topic_prefix", "a topic without the wildcards + and #")
            status_topic = t.str("status_topic", None)
            if status_topic and any(ch in status_topic for ch in "+#"):
                raise t.fail("status_topic", "a topic without the wildcards + and #")
            files = {}
            for key in ("ca_certs", "certfile", "keyfile"):
                files[key] = t.str(key, None)
                if files[key] is not None and not os.path.isfile(files[key]):
                    raise t.fail(key, "the path of an existing PEM file")
            if files["keyfile"] and not files["certfile"]:
                raise ValueError(f"{source}: key 'keyfile' needs 'certfile' (the client certificate) too")
            return MqttSink(t.str("host", "127.0.0.1"), t.int("port", 1883, 1, 65535),
                            tls=t.bool("tls", False), tls_insecure=t.bool("tls_insecure", False), **files,
                            status_topic=status_topic,
                            topic_prefix=prefix, qos=qos, retain=t.bool("retain", False),
                            client_id=t.str("client_id", None), username=t.str("username", None),
                            password=t.str("password", None), keepalive=t.int("keepalive", 30, 5, 3600),
                            offline_buffer=t.int("offline_buffer", 1000, 1, 10_000_000),
                            reconnect_min_s=lo, reconnect_max_s=hi, **common)
        from edgebind.sinks.callback import CallbackSink
        if "callback" in cfg:
            fn = cfg["callback"]
            if not callable(fn):
                raise t.fail("callback", "a Python callable")
        else:
            fn = resolve_callable(t.str("target", required=True), f"{source}: key 'target'")
        return CallbackSink(fn, **common)
    except (OSError, RuntimeError) as exc:
        raise type(exc)(f"{source}: {exc}") from None


def make_sinks(tables: Any, source: str = "config") -> list[Sink]:
    """All ``[[sinks]]`` tables of a config; on any error the sinks already made are closed."""
    if not isinstance(tables, list):
        raise ValueError(f"{source}: 'sinks' must be an array of tables ([[sinks]]), got {tables!r:.80}")
    made: list[Sink] = []
    try:
        for i, cfg in enumerate(tables):
            made.append(make_sink(cfg, f"{source}: sinks[{i}]"))
    except BaseException:
        for s in made:
            s.close(timeout=0.5)
        raise
    return made
