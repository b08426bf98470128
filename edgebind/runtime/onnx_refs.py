"""Which external-data files an ONNX model refers to, read straight off the protobuf wire format
(the device side has ONNX Runtime but not the ``onnx`` package).

Walked: ModelProto.graph -> GraphProto initializers, sparse initializers and node attributes
(tensors and subgraphs, recursively) -> TensorProto.external_data ``location`` entries.
Field numbers are those of onnx.proto3, which are stable across ONNX versions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INIT, _GRAPH_SPARSE_INIT = 1, 5, 15
_NODE_ATTR = 5
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_EXTERNAL = 13
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_MAX_DEPTH = 64


def _varint(buf: memoryview, i: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= end or shift > 63:
            raise ValueError("truncated or malformed varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field; other wire types skipped."""
    i = start
    while i < end:
        key, i = _varint(buf, i, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i, end)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(buf, i, end)
            if i + n > end:
                raise ValueError("field runs past the end of its message")
            yield field, i, i + n
            i += n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > end:
            raise ValueError("field runs past the end of its message")


def _tensor(buf: memoryview, s: int, e: int, out: set[str]) -> None:
    for f, a, b in _fields(buf, s, e):
        if f == _TENSOR_EXTERNAL:
            entry = {k: bytes(buf[x:y]) for k, x, y in _fields(buf, a, b)}
            if entry.get(_ENTRY_KEY) == b"location":
                out.add(entry.get(_ENTRY_VALUE, b"").decode("utf-8", "replace"))


def _sparse(buf: memoryview, s: int, e: int, out: set[str]) -> None:
    for f, a, b in _fields(buf, s, e):
        if f in (_SPARSE_VALUES, _SPARSE_INDICES):
            _tensor(buf, a, b, out)


def _graph(buf: memoryview, s: int, e: int, out: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("subgraphs nested too deeply")
    for f, a, b in _fields(buf, s, e):
        if f == _GRAPH_INIT:
            _tensor(buf, a, b, out)
        elif f == _GRAPH_SPARSE_INIT:
            _sparse(buf, a, b, out)
        elif f == _GRAPH_NODE:
            for nf, na, nb in _fields(buf, a, b):
                if nf == _NODE_ATTR:
                    _attribute(buf, na, nb, out, depth)


def _attribute(buf: memoryview, s: int, e: int, out: set[str], depth: int) -> None:
    for f, a, b in _fields(buf, s, e):
        if f in (_ATTR_T, _ATTR_TENSORS):
            _tensor(buf, a, b, out)
        elif f in (_ATTR_SPARSE, _ATTR_SPARSES):
            _sparse(buf, a, b, out)
        elif f in (_ATTR_G, _ATTR_GRAPHS):
            _graph(buf, a, b, out, depth + 1)


def external_locations_of(data: bytes) -> set[str]:
    """External-data locations named in a serialized ModelProto (ValueError if malformed)."""
    buf = memoryview(data)
    out: set[str] = set()
    for f, a, b in _fields(buf, 0, len(buf)):
        if f == _MODEL_GRAPH:
            _graph(buf, a, b, out, 0)
    return out


def external_locations(path: Path) -> set[str]:
    return external_locations_of(Path(path).read_bytes())
