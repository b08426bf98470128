"""Recordings for the record tests: written with the project's Recorder, inspected and damaged
with the `mcap` package's own records (never with the reader under test)."""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mcap.data_stream import ReadDataStream, RecordBuilder
from mcap.reader import make_reader
from mcap.records import Chunk, Message
from mcap.stream_reader import breakup_chunk

from edgebind.record import Recorder, Sample, StreamInfo

INFOS = [
    StreamInfo("cam0", "vision", 30.0, (6, 8, 3), "RGB uint8", "uvc:usb-1.2", {"fx": 5.0}),
    StreamInfo("depth0", "depth", 15.0, (6, 8), "m", "realsense:123"),
    StreamInfo("therm0", "thermal", 9.0, (4, 5), "K", "lepton:/dev/ttyUSB0"),
    StreamInfo("mic0", "audio", 16000.0, (-1, 2), "float32 [-1, 1]", "pa:hw:1,0"),
    StreamInfo("imu0", "imu", 400.0, (-1, 6), "m/s^2, rad/s", "bmi088:spi0"),
]


def make_samples(n: int = 6, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        t = 1_000_000_000_000 + k * 33_000_000
        out.append(Sample("cam0", "vision", t, rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
                          {"exposure_us": 100 + k}))
        d = rng.random((6, 8), dtype=np.float32) * 5
        d[0, 0] = np.nan  # invalid depth pixels must survive too
        out.append(Sample("depth0", "depth", t + 1, d))
        out.append(Sample("therm0", "thermal", t + 2,
                          (273.15 + rng.random((4, 5))).astype(np.float32)))
        out.append(Sample("mic0", "audio", t + 3,
                          rng.uniform(-1, 1, (160, 2)).astype(np.float32)))
        rows = t + 4 + np.arange(13, dtype=np.int64) * 2_500_000
        out.append(Sample("imu0", "imu", int(rows[0]),
                          rng.standard_normal((13, 6)).astype(np.float32), row_t_ns=rows))
    return out


def write(path: Path, samples: list[Sample], **kw) -> Path:
    with Recorder(path, **kw) as rec:
        for info in INFOS:
            rec.add_stream(info)
        rec.add_calibration({"imu0": {"bias": [0.1, 0.0, -0.2]}})
        for s in samples:
            rec.write(s)
    return path


def same(a: Sample, b: Sample) -> bool:
    return (a.stream == b.stream and a.modality == b.modality and a.t_ns == b.t_ns
            and a.data.dtype == b.data.dtype and a.data.shape == b.data.shape
            and a.data.tobytes() == b.data.tobytes() and a.meta == b.meta
            and ((a.row_t_ns is None and b.row_t_ns is None)
                 or np.array_equal(a.row_t_ns, b.row_t_ns)))


def sixteen_chunks(path: Path) -> list[Sample]:
    """The review's file: complete, 16 zstd chunks, 179 messages."""
    samples = make_samples(36, seed=3)[:179]
    write(path, samples, chunk_size=7800)
    return samples


@dataclass
class ChunkSpan:
    offset: int      # of the record's opcode byte
    length: int      # of the whole record, opcode and length prefix included
    messages: int

    @property
    def end(self) -> int:
        return self.offset + self.length


def chunks(path: Path) -> list[ChunkSpan]:
    """Every chunk of a complete file, located by its summary (the mcap package's reader)."""
    with open(path, "rb") as f:
        index = make_reader(f).get_summary().chunk_indexes
    data = path.read_bytes()
    out = []
    for ci in sorted(index, key=lambda c: c.chunk_start_offset):
        body = data[ci.chunk_start_offset + 9:ci.chunk_start_offset + ci.chunk_length]
        records = breakup_chunk(Chunk.read(ReadDataStream(io.BytesIO(body))), validate_crc=True)
        out.append(ChunkSpan(ci.chunk_start_offset, ci.chunk_length,
                             sum(isinstance(r, Message) for r in records)))
    return out


def data_end(path: Path) -> int:
    """Where the DataEnd record starts: cutting here gives a recording that was never closed."""
    data = path.read_bytes()
    summary_start = struct.unpack_from("<Q", data, len(data) - 8 - 20)[0]
    return summary_start - (1 + 8 + 4)


def set_length(data: bytes, record_at: int, length: int) -> bytes:
    """The record at ``record_at`` with its length field replaced."""
    return data[:record_at + 1] + struct.pack("<Q", length) + data[record_at + 9:]


def message_record(channel_id: int, t_ns: int, payload: bytes) -> bytes:
    b = RecordBuilder()
    Message(channel_id=channel_id, log_time=t_ns, publish_time=t_ns, data=payload,
            sequence=0).write(b)
    return b.end()


def zstd_bomb_chunk(payload_size: int, *, declared_size: int | None = None,
                    t_ns: int = 1_000_000_000_000, channel_id: int = 1) -> bytes:
    """A chunk record holding one message of ``payload_size`` zero bytes, zstd-compressed with
    the content size in the frame header, and a correct CRC: only its size makes it hostile.
    ``declared_size`` makes the chunk header lie about the uncompressed size."""
    import zstandard

    head = message_record(channel_id, t_ns, b"")
    head = head[:1] + struct.pack("<Q", 22 + payload_size) + head[9:]
    total = len(head) + payload_size
    comp = zstandard.ZstdCompressor(level=1).compressobj(size=total)
    zero = bytes(1 << 20)
    parts, crc = [comp.compress(head)], zlib.crc32(head)
    left = payload_size
    while left:
        piece = zero[:min(left, len(zero))]
        parts.append(comp.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(comp.flush())
    b = RecordBuilder()
    Chunk(compression="zstd", data=b"".join(parts), message_start_time=t_ns,
          message_end_time=t_ns, uncompressed_crc=crc,
          uncompressed_size=total if declared_size is None else declared_size).write(b)
    return b.end()
