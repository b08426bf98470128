"""MCAP records checked exactly: a record is accepted only when its fields fill its declared
length, and a chunk only when its contents decompress, within the caps, to its CRC.

Every length read from the file is compared against what is really there before anything of
that size is read or allocated.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from mcap.data_stream import ReadDataStream
from mcap.opcode import Opcode
from mcap.records import (Attachment, AttachmentIndex, Channel, ChunkIndex, DataEnd, Footer,
                          Header, Message, MessageIndex, Metadata, MetadataIndex, Schema,
                          Statistics, SummaryOffset)

from edgebind.record.limits import COMPRESSIONS, ReadLimits, Unreadable, decompress

Read = Callable[[int, int], bytes]   # read(offset, n): at most n bytes of the file at offset
MAGIC = b"\x89MCAP0\r\n"
_PREFIX = struct.Struct("<BQ")                 # opcode, length
_CHUNK_FIXED = struct.Struct("<QQQII")          # start, end, uncompressed size, crc, name length
_MESSAGE = struct.Struct("<HIQQ")               # channel, sequence, log time, publish time
_READERS = {Opcode.HEADER: Header, Opcode.FOOTER: Footer, Opcode.SCHEMA: Schema,
            Opcode.CHANNEL: Channel, Opcode.MESSAGE_INDEX: MessageIndex,
            Opcode.CHUNK_INDEX: ChunkIndex, Opcode.ATTACHMENT: Attachment,
            Opcode.ATTACHMENT_INDEX: AttachmentIndex, Opcode.STATISTICS: Statistics,
            Opcode.METADATA: Metadata, Opcode.METADATA_INDEX: MetadataIndex,
            Opcode.SUMMARY_OFFSET: SummaryOffset, Opcode.DATA_END: DataEnd}


class Refused(Unreadable):
    """A chunk declared beyond the caps: not decompressed at all."""


def op_name(op: int) -> str:
    try:
        return Opcode(op).name
    except ValueError:
        return f"unknown (opcode {op:#x})"


def prefix(b: bytes, at: int = 0) -> tuple[int, int]:
    """(opcode, length) of the record whose 9-byte prefix starts at ``at``."""
    return _PREFIX.unpack_from(b, at)


def parse(op: int, body: bytes) -> Any:
    """The record of this opcode; ValueError unless its fields fill ``body`` exactly."""
    if op == Opcode.MESSAGE:
        if len(body) < _MESSAGE.size:
            raise ValueError(f"a message needs {_MESSAGE.size} bytes of fields, has {len(body)}")
        channel, seq, log_time, pub = _MESSAGE.unpack_from(body)
        return Message(channel_id=channel, sequence=seq, log_time=log_time, publish_time=pub,
                       data=bytes(body[_MESSAGE.size:]))
    reader = _READERS.get(op)
    if reader is None:
        raise ValueError(f"no record of opcode {op:#x} is defined")
    stream = ReadDataStream(io.BytesIO(body))
    try:
        record = reader.read(stream)
    except Exception as exc:  # the mcap readers raise EndOfFile, struct.error, UnicodeError..
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    if stream.count != len(body):  # also catches fields cut short (the stream reads partially)
        raise ValueError(f"its fields take {stream.count} of its {len(body)} bytes")
    return record


@dataclass(frozen=True)
class ChunkHeader:
    offset: int          # of the chunk record's opcode byte
    start_time: int      # as declared (not CRC-protected; the reader uses the messages' times)
    end_time: int
    size: int            # uncompressed bytes, as declared
    crc: int             # CRC-32 of the uncompressed records; 0 = not written
    compression: str
    data_at: int         # file offset of the (compressed) records
    data_len: int

    @property
    def end(self) -> int:
        """Where the record ends according to its contents (not its length field)."""
        return self.data_at + self.data_len


def chunk_header(read: Read, pos: int, limit: int) -> ChunkHeader:
    """The header of a chunk record at ``pos`` that must end by ``limit``; ValueError if its
    fields do not fit or name no known compression."""
    fixed = read(pos + 9, _CHUNK_FIXED.size)
    if len(fixed) < _CHUNK_FIXED.size:
        raise ValueError("its header is cut off")
    start, end, size, crc, name_len = _CHUNK_FIXED.unpack(fixed)
    if name_len > 16:
        raise ValueError(f"its compression name is {name_len} bytes long")
    at = pos + 9 + _CHUNK_FIXED.size
    rest = read(at, name_len + 8)
    if len(rest) < name_len + 8:
        raise ValueError("its header is cut off")
    name = rest[:name_len].decode("ascii", "replace")
    if name not in COMPRESSIONS:
        raise ValueError(f"unknown compression {name!r}")
    h = ChunkHeader(pos, start, end, size, crc, name, at + name_len + 8,
                    struct.unpack_from("<Q", rest, name_len)[0])
    if h.end > limit:
        raise ValueError(f"its records would end at byte {h.end}, past byte {limit}")
    return h


def load_chunk(read: Read, h: ChunkHeader, limits: ReadLimits) -> bytearray:
    """The chunk's uncompressed records: Refused beyond the caps (before any decompression),
    Unreadable when they do not decompress to the declared size and CRC."""
    why = limits.refusal(h.data_len, h.size)
    if why:
        raise Refused(why)
    raw = read(h.data_at, h.data_len)
    if len(raw) != h.data_len:
        raise Unreadable("cut off")
    data = decompress(h.compression, raw, h.size)
    if h.crc and zlib.crc32(data) != h.crc:
        raise Unreadable(f"CRC mismatch (computed {zlib.crc32(data):#010x}, stored "
                         f"{h.crc:#010x})")
    return data


def chunk_records(data: bytearray) -> Iterator[Schema | Channel | Message]:
    """The schema, channel and message records of a loaded chunk, in order; ValueError at the
    first record whose length runs past the chunk or whose fields do not fill it."""
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < 9:
            raise ValueError(f"{n - pos} stray bytes at offset {pos}")
        op, length = prefix(data, pos)
        if length > n - pos - 9:
            raise ValueError(f"the {op_name(op)} record at offset {pos} declares {length} bytes, "
                             f"{n - pos - 9} are left")
        if op in (Opcode.SCHEMA, Opcode.CHANNEL, Opcode.MESSAGE):
            try:
                yield parse(op, memoryview(data)[pos + 9:pos + 9 + length])
            except ValueError as exc:
                raise ValueError(f"the {op_name(op)} record at offset {pos}: {exc}") from None
        pos += 9 + length  # other opcodes have no business in a chunk: skipped, as MCAP says
