"""The live Foxglove view: a Foxglove WebSocket server (the ``foxglove-sdk`` package) that
shows a running pipeline's sensors, scores, detections and health.

``FoxgloveBridge(stream_infos, host, port).start()``, then feed it: ``on_sample`` (from the
capture threads, e.g. through :func:`tap_sources`), ``on_window`` and ``on_event`` (the
``Pipeline``'s callbacks) and ``tick(health)`` once a second. Topics: ``edgebind.foxglove.topics``.

Bounded by construction: nothing is encoded for a topic no client subscribes to; watched
topics are rate-capped (images 10 fps each by default); each client's outgoing queue holds at
most ``backlog`` messages and the SDK drops the oldest when a slow client falls behind.
Message times are the samples' host-monotonic times moved onto the wall clock (one offset,
taken at start), so Foxglove shows today's date and every topic lines up.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from edgebind.foxglove import topics as T
from edgebind.foxglove.streams import PUBLISHERS, Publisher, stamp
from edgebind.sample import Sample, StreamInfo

log = logging.getLogger("edgebind.foxglove")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_BACKLOG = 64


def _sdk() -> Any:
    try:
        import foxglove
    except ImportError:
        raise RuntimeError("the Foxglove view needs the foxglove-sdk package: "
                           "pip install 'edgebind[foxglove]' (or pip install foxglove-sdk)") \
            from None
    return foxglove


class _Subscriptions:
    """The SDK's server listener: counts subscriptions, for ``stats()``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: dict[tuple[int, int], str] = {}

    def on_subscribe(self, client: Any, channel: Any) -> None:
        with self.lock:
            self.active[(client.id, channel.id)] = channel.topic

    def on_unsubscribe(self, client: Any, channel: Any) -> None:
        with self.lock:
            self.active.pop((client.id, channel.id), None)

    def count(self) -> tuple[int, int]:
        with self.lock:
            return len({c for c, _ in self.active}), len(self.active)


class FoxgloveBridge:
    """A Foxglove WebSocket server for one pipeline's streams (see the module docstring)."""

    def __init__(self, stream_infos: Sequence[StreamInfo], host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, *, image_fps: float = T.IMAGE_FPS,
                 backlog: int = DEFAULT_BACKLOG, name: str = "edgebind",
                 time_offset_ns: int | None = None):
        if not 0 < image_fps <= 60:
            raise ValueError(f"image_fps must be in (0, 60], got {image_fps}")
        self.infos = list(stream_infos)
        self.host, self.requested_port, self.name = host, int(port), name
        self.image_fps, self.backlog = float(image_fps), int(backlog)
        # sample time (host monotonic) -> wall clock; the demo passes its own origin
        self.time_offset_ns = (time.time_ns() - time.monotonic_ns()
                               if time_offset_ns is None else int(time_offset_ns))
        self.topics = T.all_topics(self.infos, self.image_fps)
        self._server: Any = None
        self._context: Any = None
        self._listener = _Subscriptions()
        self._streams: dict[str, list[Publisher]] = {}
        self._channels: dict[str, Any] = {}
        self._active: dict[str, int] = {}          # anchor -> 1 while its interval is open
        self._health_due = 0.0
        self._lock = threading.Lock()
        self.errors = 0
        self.published: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FoxgloveBridge":
        fg = _sdk()
        self._context = fg.Context()
        try:
            self._server = fg.start_server(name=self.name, host=self.host,
                                           port=self.requested_port, context=self._context,
                                           server_listener=self._listener,
                                           message_backlog_size=self.backlog)
        except Exception as exc:
            raise OSError(f"cannot serve Foxglove on {self.host}:{self.requested_port}: "
                          f"{exc}") from None
        self._make_channels(fg)
        log.info("Foxglove view on %s (open it in Foxglove: Open connection -> Foxglove "
                 "WebSocket)", self.url)
        return self

    def _make_channels(self, fg: Any) -> None:
        from foxglove.channels import LogChannel, RawImageChannel
        from edgebind.record.schemas import frame_id_for
        by_stream = {i.stream: i for i in self.infos}
        for t in self.topics:
            if t.schema == "foxglove.RawImage":
                ch = RawImageChannel(t.topic, context=self._context)
            elif t.schema == "foxglove.Log":
                ch = LogChannel(t.topic, context=self._context)
            else:
                schema = fg.Schema(name=t.schema, encoding="jsonschema",
                                   data=json.dumps(T.JSON_SCHEMAS[t.schema]).encode())
                ch = fg.Channel(t.topic, schema=schema, message_encoding="json",
                                context=self._context)
            self._channels[t.topic] = ch
            if t.stream:
                info = by_stream[t.stream]
                pub = PUBLISHERS[t.kind](t, ch, info, self.wall, frame_id_for(info))
                self._streams.setdefault(t.stream, []).append(pub)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("Foxglove view stopped: %s", json.dumps(self.stats()))

    def __enter__(self) -> "FoxgloveBridge":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served (the one picked when asked for 0), once started."""
        if self._server is not None:
            self._port = self._server.port
        return getattr(self, "_port", self.requested_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def wall(self, t_ns: int) -> int:
        return max(0, int(t_ns) + self.time_offset_ns)

    # -- feeding -----------------------------------------------------------------------------
    def on_sample(self, sample: Sample) -> None:
        """A sensor sample (any thread). Never raises: a failure is counted and logged once."""
        for pub in self._streams.get(sample.stream, ()):
            self._guard(pub.topic.topic, pub.offer, sample, count=False)

    def on_window(self, result: Any) -> None:
        """A ``WindowResult``: the scores of every anchor, its on-level and active state."""
        for ev in getattr(result, "events", ()) or ():
            self._track(ev)
        ch = self._channels.get(T.SCORES)
        if ch is None or not ch.has_sinks():
            return
        t = self.wall(result.t_end_ns)
        self._guard(T.SCORES, ch.log, {
            "timestamp": stamp(t), "t_start_ns": int(result.t_start_ns),
            "t_end_ns": int(result.t_end_ns), "scores": _finite(result.scores),
            "levels": _finite(result.levels),
            "active": {n: self._active.get(n, 0) for n in result.scores}}, log_time=t)

    def on_event(self, event: Any) -> None:
        """A detector ``Event``: its dict on ``/edgebind/events``, one line on
        ``/edgebind/log``."""
        t = self.wall(event.t_ns)
        ch = self._channels.get(T.EVENTS)
        if ch is not None and ch.has_sinks():
            self._guard(T.EVENTS, ch.log, _jsonable(event.to_dict()), log_time=t)
        if event.state == "end":
            line = f"end {event.name}: peak {event.score:.3f}, {event.duration_s or 0:.1f} s"
        else:
            line = f"{event.state} {event.name}: {event.score:.3f} >= {event.threshold:.3f}"
        self.log_line(line, t_ns=event.t_ns)

    def log_line(self, message: str, level: str = "Info", t_ns: int | None = None) -> None:
        ch = self._channels.get(T.LOG)
        if ch is None or not ch.has_sinks():
            return
        from foxglove.messages import Log, LogLevel, Timestamp
        t = self.wall(t_ns) if t_ns is not None else time.time_ns()
        msg = Log(timestamp=Timestamp(t // 1_000_000_000, t % 1_000_000_000),
                  level=getattr(LogLevel, level), message=message, name=self.name)
        self._guard(T.LOG, ch.log, msg, log_time=t)

    def tick(self, health: Callable[[], dict[str, Any]]) -> None:
        """Publish ``health()`` on ``/edgebind/health`` when someone watches and a second has
        passed; ``health`` is not called otherwise."""
        ch = self._channels.get(T.HEALTH)
        now = time.monotonic()
        if ch is None or now < self._health_due or not ch.has_sinks():
            return
        self._health_due = now + T.HEALTH_S
        self._guard(T.HEALTH, lambda: ch.log(_jsonable(health()), log_time=time.time_ns()))

    # -- internals ---------------------------------------------------------------------------
    def _track(self, ev: Any) -> None:
        if ev.state == "start":
            self._active[ev.name] = 1
        elif ev.state == "end":
            self._active[ev.name] = 0

    def _guard(self, topic: str, fn: Callable[..., Any], *args: Any, count: bool = True,
               **kw: Any) -> None:
        try:
            fn(*args, **kw)
        except Exception as exc:     # the view must never hurt the pipeline feeding it
            with self._lock:
                self.errors += 1
                first = self.errors == 1
            (log.warning if first else log.debug)("Foxglove %s: %s: %s", topic,
                                                  type(exc).__name__, exc)
            return
        if count:
            with self._lock:
                self.published[topic] = self.published.get(topic, 0) + 1

    def stats(self) -> dict[str, Any]:
        """Clients and subscriptions now; per topic, messages published and (sensor topics)
        samples held back by the rate cap; errors."""
        clients, subs = self._listener.count()
        pubs = [p for ps in self._streams.values() for p in ps]
        with self._lock:
            published = {**{p.topic.topic: p.published for p in pubs}, **self.published}
        return {"url": self.url, "clients": clients, "subscriptions": subs,
                "published": published, "rate_limited": {p.topic.topic: p.limited for p in pubs},
                "errors": self.errors}


def _finite(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if v == v and abs(v) != float("inf") else None) for k, v in d.items()}


def _jsonable(x: Any) -> Any:
    """Health and events as strict JSON: NaN/inf → null, tuples → lists, numpy scalars →
    numbers (the SDK's JSON channels reject anything else)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and (x != x or abs(x) == float("inf")):
        return None
    return x if x is None or isinstance(x, (str, int, float, bool)) else str(x)


class _Tapped:
    """A source whose samples also go to ``tap`` after the pipeline has them."""

    def __init__(self, source: Any, tap: Callable[[Sample], None]):
        self._source, self._tap = source, tap

    def start(self, on_sample: Callable[[Sample], None]) -> None:
        tap = self._tap

        def both(sample: Sample) -> None:
            on_sample(sample)
            tap(sample)
        self._source.start(both)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


def tap_sources(sources: Iterable[Any], tap: Callable[[Sample], None]) -> list[Any]:
    """The sources, each also handing its samples to ``tap`` (``FoxgloveBridge.on_sample``)."""
    return [_Tapped(s, tap) for s in sources]
