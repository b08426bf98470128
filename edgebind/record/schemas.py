"""Channel schemas of EdgeBind recordings, and the encode/decode of one Sample per message.

Every channel uses MCAP schema encoding ``jsonschema`` and message encoding ``json``, because
that is what Foxglove, ``mcap cat --json`` and any JSON tool read without generated code. Bulk
arrays travel as base64 strings of little-endian bytes (Foxglove's JSON form of a ``bytes``
field), so data round-trips bit-exactly; small scalars stay plain JSON. See README.md.

- vision / depth / thermal → ``foxglove.RawImage`` (rgb8, mono8, 32FC1, 16UC1; 16UC1 depth is
  millimetres, 32FC1 depth metres, as REP 118 has them; 32FC1 thermal kelvin)
- optional previews of depth / thermal → ``foxglove.RawImage`` rgb8 on ``/<stream>/preview``
  (``RecordingWriter(previews=True)``): Foxglove shows raw 32FC1 as saturated white
- audio → ``edgebind.AudioChunk`` (RawAudio-like fields, interleaved float32 frames)
- imu → ``edgebind.ImuBatch`` (N×6 float32 rows + N int64 ns row times)
- anything else → ``edgebind.Array`` (dtype, shape, raw bytes)
"""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from edgebind.sample import Sample, StreamInfo

# /2: integer AudioChunk sample_rate (as Foxglove's RawAudio), REP 103/105 frame ids, optional
# preview channels and wall-clock log times. Every version listed here reads alike.
FORMAT = "edgebind.recording/2"
FORMATS = ("edgebind.recording/1", FORMAT)
SCHEMA_ENCODING = "jsonschema"
MESSAGE_ENCODING = "json"

RAW_IMAGE = "foxglove.RawImage"
AUDIO_CHUNK = "edgebind.AudioChunk"
IMU_BATCH = "edgebind.ImuBatch"
ARRAY = "edgebind.Array"

# Metadata record names.
META_RECORDING = "edgebind.recording"
META_STREAM_INFO = "edgebind.stream_info"
META_CALIBRATION = "edgebind.calibration"

# Channel metadata key: on a preview channel, the stream it previews (no edgebind.stream key,
# so readers of samples pass it by).
PREVIEW_OF = "edgebind.preview_of"
LOG_TIME_CLOCKS = ("monotonic", "wall")

IMAGE_MODALITIES = ("vision", "depth", "thermal")
VIEWABLE = ("depth", "thermal")    # float images that get an optional rgb8 preview channel

# encoding -> (numpy dtype, channels). Little-endian always (RawImage has no endianness field).
IMAGE_ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3),
    "mono8": ("u1", 1),
    "16UC1": ("<u2", 1),
    "32FC1": ("<f4", 1),
}

_TIME = {
    "type": "object", "title": "time",
    "description": "Host monotonic clock (not Unix epoch): sec = t_ns // 1e9, nsec = t_ns % 1e9 "
                   "(the message log_time is the same, or with log_time='wall' that time moved "
                   "onto the wall clock by the recording's one offset)",
    "properties": {"sec": {"type": "integer", "minimum": 0},
                   "nsec": {"type": "integer", "minimum": 0, "maximum": 999999999}},
}
_BYTES = {"type": "string", "contentEncoding": "base64"}
_META = {"type": "object", "description": "Sample.meta (optional, JSON-serialisable)"}

SCHEMAS: dict[str, dict[str, Any]] = {
    RAW_IMAGE: {
        "title": RAW_IMAGE,
        "description": "A raw image (Foxglove RawImage, JSON encoding)",
        "type": "object",
        "properties": {
            "timestamp": _TIME,
            "frame_id": {"type": "string", "description": "REP 103/105 style: "
                         "<stream>_optical_frame unless the stream names its frame"},
            "width": {"type": "integer", "minimum": 0},
            "height": {"type": "integer", "minimum": 0},
            "encoding": {"type": "string", "enum": list(IMAGE_ENCODINGS),
                         "description": "rgb8 camera; mono8; 16UC1 depth in millimetres "
                                        "(REP 118, 0 = no reading); 32FC1 depth in metres "
                                        "(REP 118, NaN = no reading) or thermal in kelvin"},
            "step": {"type": "integer", "minimum": 0, "description": "bytes per row"},
            "data": {**_BYTES, "description": "row-major pixels, little-endian"},
            "meta": _META,
        },
    },
    AUDIO_CHUNK: {
        "title": AUDIO_CHUNK,
        "description": "Consecutive audio frames; float32 in [-1, 1], channels interleaved",
        "type": "object",
        "properties": {
            "timestamp": {**_TIME, "description": "time of the first frame (host monotonic)"},
            "frame_id": {"type": "string"},
            "format": {"type": "string", "enum": ["pcm-f32le"]},
            "sample_rate": {"type": "integer", "minimum": 1,
                            "description": "frames per second (an integer, as Foxglove's "
                                           "RawAudio; recordings before format /2 may hold a "
                                           "number)"},
            "number_of_channels": {"type": "integer", "minimum": 1},
            "frames": {"type": "integer", "minimum": 0},
            "data": {**_BYTES, "description": "frames×channels float32 little-endian"},
            "meta": _META,
        },
    },
    IMU_BATCH: {
        "title": IMU_BATCH,
        "description": "N IMU rows [ax ay az gx gy gz] in m/s² and rad/s, one time per row",
        "type": "object",
        "properties": {
            "timestamp": {**_TIME, "description": "time of the first row (host monotonic)"},
            "frame_id": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "columns": {"type": "array", "items": {"type": "string"}},
            "t_ns": {**_BYTES, "description": "N int64 little-endian host monotonic ns"},
            "data": {**_BYTES, "description": "N×6 float32 little-endian, row-major"},
            "meta": _META,
        },
    },
    ARRAY: {
        "title": ARRAY,
        "description": "Any numpy array: dtype string, shape and C-order bytes",
        "type": "object",
        "properties": {
            "timestamp": _TIME,
            "frame_id": {"type": "string"},
            "dtype": {"type": "string", "description": "numpy dtype string, e.g. '<f4'"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "data": _BYTES,
            "meta": _META,
        },
    },
}

IMU_COLUMNS = ["ax", "ay", "az", "gx", "gy", "gz"]


def schema_for(modality: str) -> str:
    if modality in IMAGE_MODALITIES:
        return RAW_IMAGE
    if modality == "audio":
        return AUDIO_CHUNK
    if modality == "imu":
        return IMU_BATCH
    return ARRAY


def frame_id_for(info: StreamInfo) -> str:
    """The stream's frame id: ``info.extra["frame_id"]`` when the source names one, else REP
    103/105 style names: ``<stream>_optical_frame`` for cameras (depth and thermal included;
    z forward, x right, y down), ``<stream>_link`` for the rest (IMU, microphone)."""
    given = info.extra.get("frame_id") if isinstance(info.extra, dict) else None
    if isinstance(given, str) and given:
        return given
    name = info.stream.strip("/").replace("/", "_")
    return f"{name}_optical_frame" if info.modality in IMAGE_MODALITIES else f"{name}_link"


def preview_topic(stream: str) -> str:
    return topic_for(stream) + "/preview"


def schema_bytes(name: str) -> bytes:
    return json.dumps(SCHEMAS[name], sort_keys=True).encode()


def topic_for(stream: str) -> str:
    return stream if stream.startswith("/") else "/" + stream


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _unb64(s: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    # bytearray: callers get a writable array, as from a live sensor.
    raw = bytearray(base64.b64decode(s, validate=True))
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)


def _time(t_ns: int) -> dict[str, int]:
    return {"sec": t_ns // 1_000_000_000, "nsec": t_ns % 1_000_000_000}


def _le(a: np.ndarray, dtype: str) -> np.ndarray:
    return a.astype(np.dtype(dtype), copy=False)


def image_encoding(data: np.ndarray) -> str:
    """The RawImage encoding of an array, or ValueError naming what is wrong."""
    if data.ndim == 3 and data.shape[2] == 3 and data.dtype == np.uint8:
        return "rgb8"
    if data.ndim == 2:
        for enc, (dt, _) in IMAGE_ENCODINGS.items():
            if _ == 1 and data.dtype == np.dtype(dt).newbyteorder("="):
                return enc
    raise ValueError(f"image data must be uint8 H×W×3 (RGB) or H×W uint8/uint16/float32; "
                     f"got {data.dtype} {data.shape}")


def encode(sample: Sample, info: StreamInfo) -> bytes:
    """One Sample → JSON message bytes for its stream's schema."""
    if not isinstance(sample.data, np.ndarray):
        raise ValueError(f"sample of stream {sample.stream!r}: data must be a numpy array")
    name = schema_for(info.modality)
    data = sample.data
    msg: dict[str, Any] = {"timestamp": _time(sample.t_ns), "frame_id": frame_id_for(info)}
    if name == RAW_IMAGE:
        enc = image_encoding(data)
        dt, ch = IMAGE_ENCODINGS[enc]
        h, w = data.shape[:2]
        msg.update(width=w, height=h, encoding=enc, step=w * ch * np.dtype(dt).itemsize,
                   data=_b64(_le(data, dt)))
    elif name == AUDIO_CHUNK:
        if data.ndim != 2 or data.dtype != np.float32:
            raise ValueError(f"audio data must be float32 frames×channels; "
                             f"got {data.dtype} {data.shape}")
        msg.update(format="pcm-f32le", sample_rate=max(1, int(round(info.rate_hz))),
                   number_of_channels=data.shape[1], frames=data.shape[0],
                   data=_b64(_le(data, "<f4")))
    elif name == IMU_BATCH:
        if data.ndim != 2 or data.shape[1] != 6 or data.dtype != np.float32:
            raise ValueError(f"imu data must be float32 N×6; got {data.dtype} {data.shape}")
        rows = sample.row_t_ns
        if rows is None or np.shape(rows) != (data.shape[0],):
            raise ValueError(f"imu sample of stream {sample.stream!r} needs row_t_ns: "
                             f"{data.shape[0]} int64 ns, one per row")
        msg.update(count=data.shape[0], columns=IMU_COLUMNS,
                   t_ns=_b64(np.asarray(rows).astype("<i8")), data=_b64(_le(data, "<f4")))
    else:
        le = data.dtype.newbyteorder("<") if data.dtype.byteorder not in "|" else data.dtype
        msg.update(dtype=le.str, shape=list(data.shape), data=_b64(data.astype(le, copy=False)))
    if sample.meta:
        msg["meta"] = sample.meta
    try:
        return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample of stream {sample.stream!r}: meta is not JSON-serialisable "
                         f"({exc})") from None


def encode_preview(sample: Sample, info: StreamInfo) -> bytes:
    """A depth or thermal Sample → a colour-mapped rgb8 ``foxglove.RawImage`` (its per-frame
    range in ``meta.range``) for the optional preview channel."""
    from edgebind.record.preview import colourise, value_range
    data = np.asarray(sample.data)
    if data.ndim != 2:
        raise ValueError(f"sample of stream {sample.stream!r}: a preview needs an H×W image, "
                         f"got {data.shape}")
    metres = data.astype(np.float32) * np.float32(0.001) \
        if info.modality == "depth" and data.dtype == np.uint16 else data
    lo, hi = value_range(metres, info.modality)
    rgb = colourise(metres, info.modality, (lo, hi))
    h, w = rgb.shape[:2]
    units = "m" if info.modality == "depth" else "K"
    msg = {"timestamp": _time(sample.t_ns), "frame_id": frame_id_for(info), "width": w,
           "height": h, "encoding": "rgb8", "step": w * 3, "data": _b64(rgb),
           "meta": {"preview_of": info.stream, "range": [lo, hi], "units": units}}
    return json.dumps(msg, separators=(",", ":")).encode()


def decode(payload: bytes, schema: str, info: StreamInfo, log_time: int) -> Sample:
    """JSON message bytes → Sample. ``log_time`` (the MCAP message time) is the sample's t_ns."""
    m = json.loads(payload)
    meta = m.get("meta") or {}
    rows = None
    if schema == RAW_IMAGE:
        dt, ch = IMAGE_ENCODINGS[m["encoding"]]
        h, w = int(m["height"]), int(m["width"])
        if int(m["step"]) != w * ch * np.dtype(dt).itemsize:
            raise ValueError(f"RawImage step {m['step']} with padding is not supported")
        data = _unb64(m["data"], dt, (h, w, ch) if ch > 1 else (h, w))
    elif schema == AUDIO_CHUNK:
        data = _unb64(m["data"], "<f4", (int(m["frames"]), int(m["number_of_channels"])))
    elif schema == IMU_BATCH:
        n = int(m["count"])
        data = _unb64(m["data"], "<f4", (n, 6))
        rows = _unb64(m["t_ns"], "<i8", (n,))
    elif schema == ARRAY:
        data = _unb64(m["data"], m["dtype"], tuple(m["shape"]))
    else:
        raise ValueError(f"unknown schema {schema!r}")
    # Native byte order so arrays compare and compute like the ones that were written.
    data = data.astype(data.dtype.newbyteorder("="), copy=False)
    if rows is not None:
        rows = rows.astype(np.int64, copy=False)
    return Sample(stream=info.stream, modality=info.modality, t_ns=log_time, data=data,
                  meta=meta, row_t_ns=rows)
