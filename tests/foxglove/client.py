"""A Foxglove WebSocket client for the tests, written from the protocol spec with the
`websockets` package (independent of the server under test): read `serverInfo` and
`advertise`, `subscribe`, then decode binary message-data frames (opcode 0x01, uint32
subscription id, uint64 log time, payload) with the schema each channel advertised: protobuf
through google.protobuf from the advertised FileDescriptorSet, JSON with json."""
from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from typing import Any

SUBPROTOCOLS = ["foxglove.sdk.v1", "foxglove.websocket.v1"]


def _decoder(channel: dict[str, Any]):
    if channel["encoding"] == "json":
        return lambda b: json.loads(b)
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    fds = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(channel["schema"]))
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(channel["schemaName"]))
    return cls.FromString


async def _watch(url: str, topics: list[str], seconds: float, slow_s: float,
                 ready: Any) -> dict[str, Any]:
    import websockets
    got: dict[str, list[tuple[int, Any]]] = {t: [] for t in topics}
    async with websockets.connect(url, subprotocols=SUBPROTOCOLS, max_size=None) as ws:
        server_info = json.loads(await asyncio.wait_for(ws.recv(), 5))
        channels: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 5
        while not set(topics) <= set(channels) and time.monotonic() < deadline:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m.get("op") == "advertise":
                channels.update({c["topic"]: c for c in m["channels"]})
        missing = set(topics) - set(channels)
        assert not missing, f"not advertised: {missing}; have {sorted(channels)}"
        subs = {i + 1: channels[t] for i, t in enumerate(topics)}
        decode = {i: _decoder(c) for i, c in subs.items()}
        await ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": i, "channelId": c["id"]} for i, c in subs.items()]}))
        if ready is not None:
            ready()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                frame = await asyncio.wait_for(ws.recv(), max(0.01, end - time.monotonic()))
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                break          # time is up, or the server stopped (the demo ended)
            if isinstance(frame, str) or frame[0] != 0x01:
                continue
            sub, log_time = struct.unpack_from("<IQ", frame, 1)
            got[subs[sub]["topic"]].append((log_time, decode[sub](frame[13:])))
            if slow_s:
                await asyncio.sleep(slow_s)
    return {"server_info": server_info, "channels": channels, "messages": got}


def watch(url: str, topics: list[str], seconds: float, slow_s: float = 0.0,
          ready: Any = None) -> dict[str, Any]:
    """Subscribe to ``topics`` for ``seconds``; ``slow_s`` sleeps after each frame (a slow
    client); ``ready()`` is called once the subscription is sent."""
    return asyncio.run(_watch(url, topics, seconds, slow_s, ready))
