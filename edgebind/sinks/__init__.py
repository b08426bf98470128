"""Event outputs. Every sink's ``emit(event_dict)`` returns at once (bounded queue, worker
thread, counted drops); ``close()`` drains with a timeout; ``stats()`` returns counters.
Kinds: jsonl (stdout / rotated files), tcp, unix, mqtt (paho-mqtt), callback. See docs/sinks.md."""
from edgebind.sinks.base import Sink, encode_line
from edgebind.sinks.callback import CallbackSink
from edgebind.sinks.config import KINDS, make_sink, make_sinks
from edgebind.sinks.jsonl import JsonlSink
from edgebind.sinks.sockets import TcpSink, UnixSink


def __getattr__(name: str):
    if name == "MqttSink":                   # paho-mqtt is optional (edgebind[mqtt])
        from edgebind.sinks.mqtt import MqttSink
        return MqttSink
    raise AttributeError(f"module 'edgebind.sinks' has no attribute {name!r}")


__all__ = ["KINDS", "CallbackSink", "JsonlSink", "MqttSink", "Sink", "TcpSink", "UnixSink",
           "encode_line", "make_sink", "make_sinks"]
