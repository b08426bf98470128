"""The readable prefix of a ROS 2 MCAP bag that rosbags cannot open: a recording cut off by a
power loss or a killed ``ros2 bag record`` has no summary or footer (and often no
``metadata.yaml``). Read record by record with the ``mcap`` package's stream reader, keeping
everything up to the first incomplete or damaged record, and offered through the part of
rosbags' AnyReader interface that ``RosBagReader`` uses."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator


class Cut(Exception):
    """Where the readable prefix ended (raised at the end of ``messages``)."""


def mcap_file(path: Path) -> Path | None:
    """The MCAP file of a bag: the file itself, or a folder's only ``.mcap``."""
    if path.is_file():
        return path if path.suffix == ".mcap" else None
    files = sorted(path.glob("*.mcap"))
    return files[0] if len(files) == 1 else None


class SalvagedMcap:
    """``connections``, ``typestore``, ``messages()``, ``deserialize()``, ``readers``,
    ``close()`` over the complete records at the start of ``path``."""

    def __init__(self, path: Path) -> None:
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore
        self.path, self.readers, self.stack = path, [], None
        self.connections: list[Any] = []
        self.cut: str | None = None
        schemas: dict[int, Any] = {}
        for rec in self._records():
            kind = type(rec).__name__
            if kind == "Schema":
                schemas[rec.id] = rec
            elif kind == "Channel" and rec.schema_id in schemas:
                self.connections.append(SimpleNamespace(
                    id=rec.id, topic=rec.topic, msgtype=schemas[rec.schema_id].name))
        types: dict[str, Any] = {}
        for s in schemas.values():
            if s.encoding == "ros2msg":
                types.update(get_types_from_msg(s.data.decode(), s.name))
        self.typestore = get_typestore(Stores.EMPTY)
        self.typestore.register(types)
        if not self.connections:
            raise Cut(f"no complete channel in its readable part ({self.cut or 'empty'})")

    def _records(self) -> Iterator[Any]:
        from mcap.stream_reader import StreamReader
        with open(self.path, "rb") as f:
            try:
                yield from StreamReader(f, emit_chunks=False).records
            except Exception as exc:  # noqa: BLE001 - the end of the readable prefix
                self.cut = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def messages(self, connections: Any = ()) -> Iterator[tuple[Any, int, bytes]]:
        by_id = {c.id: c for c in (connections or self.connections)}
        for rec in self._records():
            if type(rec).__name__ == "Message" and rec.channel_id in by_id:
                yield by_id[rec.channel_id], rec.log_time, rec.data
        if self.cut is not None:
            raise Cut(f"cut off or damaged; read up to the last complete record ({self.cut})")

    def deserialize(self, raw: bytes, msgtype: str) -> Any:
        return self.typestore.deserialize_cdr(raw, msgtype)

    def close(self) -> None:
        pass
