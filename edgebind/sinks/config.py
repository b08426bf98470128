"""Sinks from ``[[sinks]]`` config tables, in two steps: ``parse_sink`` validates a table and
opens nothing (``edgebind run --check`` and reload use it), ``open_sink`` makes the sink.
``make_sink`` does both. Errors name the source (file and table), the key and what was expected,
and never echo a secret (``password``)."""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebind.errors import EdgeBindError
from edgebind.sinks.base import Sink
from edgebind.validate import Fields, host_port

COMMON_KEYS = ("kind", "name", "queue_size", "drain_timeout_s", "events", "states")
# Values never repeated in an error message: it ends up in logs and the systemd status line.
SECRET_KEYS = frozenset({"password"})


class SinkConfigError(EdgeBindError, ValueError):
    """An invalid ``[[sinks]]`` table; the message names the source, the key and what was
    expected."""


@dataclass(frozen=True)
class SinkSpec:
    """A validated sink table: what ``open_sink`` builds. ``resource`` is what the sink holds
    exclusively once open (a TCP port, a socket path), so a reload knows which new sink must
    wait for an old one to let go."""

    kind: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    resource: tuple | None = None
    source: str = "[[sinks]]"


def _int(t: Fields, key: str, default: int | None, lo: int, hi: int) -> int | None:
    """Every integer of a sink table has both bounds, and its message shows them."""
    return t.integer(key, default, lo, hi, want=f"an integer in [{lo}, {hi}]")


LISTEN = host_port("127.0.0.1:7700")      # the "listen" checker of a tcp sink


def resolve_callable(target: str, where: str) -> Callable[..., Any]:
    """"package.module:attribute" -> the callable it names."""
    mod, sep, attr = target.partition(":")
    if not sep or not mod or not attr:
        raise SinkConfigError(f"{where}: expected \"package.module:function\", got {target!r:.80}")
    try:
        obj: Any = importlib.import_module(mod)
    except ImportError as exc:
        raise SinkConfigError(f"{where}: cannot import module {mod!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SinkConfigError(f"{where}: module {mod!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SinkConfigError(f"{where}: {target!r} is not callable")
    return obj


def parse_sink(cfg: Any, source: str = "[[sinks]]", base_dir: str | os.PathLike | None = None
               ) -> SinkSpec:
    """Validate a config table such as ``{kind = "mqtt", host = "broker", qos = 1}`` without
    opening anything. Relative paths are resolved against ``base_dir`` (the config's folder).

    Common keys: kind (jsonl | tcp | unix | mqtt | callback), name, queue_size, drain_timeout_s,
    events (only these event names), states (only these states: start, end, instant)."""
    if not isinstance(cfg, dict):
        raise SinkConfigError(f"{source}: expected a table with a 'kind' key, got {cfg!r:.80}")
    t = Fields(cfg, source, SinkConfigError, quote_keys=True, secrets=SECRET_KEYS,
               base_dir=None if base_dir is None else Path(base_dir))
    kind = cfg.get("kind")
    if kind not in KINDS:
        raise t.fail("kind", "one of " + ", ".join(KINDS), cfg.get("kind", "<missing>"))
    unknown = sorted(set(cfg) - allowed_keys(kind))
    if unknown:
        raise SinkConfigError(f"{source}: unknown key(s) {', '.join(unknown)} for a {kind} sink; "
                              f"expected some of {', '.join(sorted(allowed_keys(kind)))}")
    states = t.names("states", None)
    if states and any(s not in ("start", "end", "instant") for s in states):
        raise t.fail("states", "a list of start, end, instant")
    common = dict(name=t.string("name", None),
                  queue_size=_int(t, "queue_size", 1024, 1, 10_000_000),
                  drain_timeout_s=t.number("drain_timeout_s", 2.0, 0.0, 3600.0),
                  events=t.names("events", None), states=states)
    kw, resource = SINK_KINDS[kind].parse(t)
    return SinkSpec(kind, {**kw, **common}, resource, source)


def allowed_keys(kind: str) -> set[str]:
    """The keys a table of sink ``kind`` may have (the common ones and the kind's own)."""
    return set(COMMON_KEYS) | SINK_KINDS[kind].keys


def _jsonl(t: Fields) -> tuple[dict, tuple | None]:
    return dict(path=t.path("path", "-"), max_bytes=_int(t, "max_bytes", 0, 0, 1 << 40),
                backups=_int(t, "backups", 5, 0, 1000), fsync=t.boolean("fsync", False)), None


def _stream_server(t: Fields) -> dict[str, Any]:
    return dict(client_buffer=_int(t, "client_buffer", 256, 1, 1_000_000),
                max_clients=_int(t, "max_clients", 32, 1, 10_000),
                send_buffer_bytes=_int(t, "send_buffer_bytes", None, 1024, 1 << 30))


def _tcp(t: Fields) -> tuple[dict, tuple | None]:
    host, port = t.get("listen", LISTEN)
    return dict(host=host, port=port, **_stream_server(t)), (("tcp", port) if port else None)


def _unix(t: Fields) -> tuple[dict, tuple | None]:
    path = t.path("path")
    kw = dict(path=path, mode=_int(t, "mode", None, 0, 0o777), **_stream_server(t))
    return kw, ("unix", os.path.abspath(path))


def _mqtt(t: Fields) -> tuple[dict, tuple | None]:
    lo = t.number("reconnect_min_s", 1.0, 0.01, 3600.0)
    hi = t.number("reconnect_max_s", max(30.0, lo), lo, 86400.0)
    kw: dict[str, Any] = {}
    for key in ("topic_prefix", "status_topic"):
        kw[key] = t.string(key, "edgebind/events" if key == "topic_prefix" else None)
        if kw[key] and any(ch in kw[key] for ch in "+#"):
            raise t.fail(key, "a topic without the wildcards + and #")
    for key in ("ca_certs", "certfile", "keyfile"):
        kw[key] = t.path(key, None)
        if kw[key] is not None and not os.path.isfile(kw[key]):
            raise t.fail(key, "the path of an existing PEM file")
    if kw["keyfile"] and not kw["certfile"]:
        raise SinkConfigError(f"{t.source}: key 'keyfile' needs 'certfile' (the client "
                              "certificate) too")
    kw.update(host=t.string("host", "127.0.0.1"), port=_int(t, "port", 1883, 1, 65535),
              tls=t.boolean("tls", False), tls_insecure=t.boolean("tls_insecure", False),
              qos=_int(t, "qos", 1, 0, 2), retain=t.boolean("retain", False),
              client_id=t.string("client_id", None), username=t.string("username", None),
              password=t.string("password", None), keepalive=_int(t, "keepalive", 30, 5, 3600),
              offline_buffer=_int(t, "offline_buffer", 1000, 1, 10_000_000),
              reconnect_min_s=lo, reconnect_max_s=hi)
    return kw, None


def _callback(t: Fields) -> tuple[dict, tuple | None]:
    if "callback" in t.data:
        fn = t.data["callback"]
        if not callable(fn):
            raise t.fail("callback", "a Python callable")
    else:
        fn = resolve_callable(t.string("target"), f"{t.source}: {t.label('target')}")
    return dict(callback=fn), None


@dataclass(frozen=True)
class SinkKind:
    """One ``kind`` of sink table: its keys, the parser that validates them (opening nothing),
    and the class that makes the sink (``"module:Class"``, imported only when one is opened;
    ``positional``: the parsed values passed first, in order). A new sink is a new entry."""

    keys: frozenset[str]
    parse: Callable[[Fields], tuple[dict, tuple | None]]
    factory: str
    positional: tuple[str, ...] = ()


SINK_KINDS: dict[str, SinkKind] = {
    "jsonl": SinkKind(frozenset({"path", "max_bytes", "backups", "fsync"}), _jsonl,
                      "edgebind.sinks.jsonl:JsonlSink", ("path",)),
    "tcp": SinkKind(frozenset({"listen", "client_buffer", "max_clients", "send_buffer_bytes"}),
                    _tcp, "edgebind.sinks.sockets:TcpSink", ("host", "port")),
    "unix": SinkKind(frozenset({"path", "mode", "client_buffer", "max_clients",
                                "send_buffer_bytes"}),
                     _unix, "edgebind.sinks.sockets:UnixSink", ("path",)),
    "mqtt": SinkKind(frozenset({"host", "port", "topic_prefix", "qos", "retain", "client_id",
                                "username", "password", "keepalive", "offline_buffer",
                                "reconnect_min_s", "reconnect_max_s", "tls", "ca_certs",
                                "certfile", "keyfile", "tls_insecure", "status_topic"}),
                     _mqtt, "edgebind.sinks.mqtt:MqttSink", ("host", "port")),
    "callback": SinkKind(frozenset({"target", "callback"}), _callback,
                         "edgebind.sinks.callback:CallbackSink", ("callback",)),
}
KINDS = tuple(SINK_KINDS)


def open_sink(spec: SinkSpec) -> Sink:
    """Make the sink a validated table describes (this opens files, sockets, connections)."""
    kind = SINK_KINDS[spec.kind]
    module, _, name = kind.factory.partition(":")
    cls = getattr(importlib.import_module(module), name)
    kw = dict(spec.kwargs)
    args = [kw.pop(k) for k in kind.positional]
    try:
        return cls(*args, **kw)
    except (OSError, RuntimeError) as exc:
        raise type(exc)(f"{spec.source}: {exc}") from None


def make_sink(cfg: Any, source: str = "[[sinks]]",
              base_dir: str | os.PathLike | None = None) -> Sink:
    """Build a sink from a config table (``parse_sink`` then ``open_sink``)."""
    return open_sink(parse_sink(cfg, source, base_dir))


def make_sinks(tables: Any, source: str = "config",
               base_dir: str | os.PathLike | None = None) -> list[Sink]:
    """All ``[[sinks]]`` tables of a config; on any error the sinks already made are closed."""
    if not isinstance(tables, list):
        raise SinkConfigError(f"{source}: 'sinks' must be an array of tables ([[sinks]]), got "
                              f"{tables!r:.80}")
    specs = [parse_sink(cfg, f"{source}: sinks[{i}]", base_dir) for i, cfg in enumerate(tables)]
    made: list[Sink] = []
    try:
        for spec in specs:
            made.append(open_sink(spec))
    except BaseException:
        for s in made:
            s.close(timeout=0.5)
        raise
    return made
