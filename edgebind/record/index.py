"""The footer and summary section of a closed recording, trusted only when they check out.

A closed file ends with a footer and the magic; its summary lists every chunk's offset (chunk
indexes) and how many messages were written (statistics). The reader uses the chunk offsets to
step over damage from one chunk to the next (metadata indexes likewise for metadata records),
so a bad length field costs one record instead of the rest of the file. A summary that fails
its CRC or any bounds check is ignored entirely.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from mcap.opcode import Opcode
from mcap.records import Channel, ChunkIndex, Footer, MetadataIndex, Schema, Statistics

from edgebind.record.framing import MAGIC, Read, parse, prefix

_FOOTER_LEN = 9 + 20


@dataclass
class FileIndex:
    data_end: int                       # where the summary section starts
    chunk_offsets: list[int]            # sorted, each inside the data section
    metadata_offsets: list[int] = field(default_factory=list)   # likewise
    schemas: list[Schema] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    message_count: int | None = None    # from the statistics record
    channel_counts: dict[int, int] = field(default_factory=dict)


def footer_at(read: Read, size: int) -> int | None:
    """Offset of the footer record when the file ends with a footer and the closing magic."""
    at = size - 8 - _FOOTER_LEN
    if at < 8:
        return None
    tail = read(at, _FOOTER_LEN + 8)
    if tail[-8:] != MAGIC or prefix(tail) != (Opcode.FOOTER, 20):
        return None
    return at


def read_index(read: Read, footer: int, max_bytes: int) -> tuple[FileIndex | None, str | None]:
    """The summary of a file whose footer is at ``footer``: (index, None), (None, why it is not
    used), or (None, None) when the writer wrote no summary. A summary is never read whole
    beyond ``max_bytes``."""
    f = parse(Opcode.FOOTER, read(footer + 9, 20))
    assert isinstance(f, Footer)
    if f.summary_start == 0:
        return None, None
    if not 8 < f.summary_start <= footer:
        return None, f"the footer points its summary at byte {f.summary_start}, outside the file"
    length = footer + 9 + 16 - f.summary_start
    if length > max_bytes:
        return None, f"its summary section ({length} bytes) is above the cap of {max_bytes}"
    body = read(f.summary_start, length)
    if f.summary_crc and zlib.crc32(body) != f.summary_crc:
        return None, "the summary section fails its CRC"
    index = FileIndex(data_end=f.summary_start, chunk_offsets=[])
    pos, end = 0, footer - f.summary_start
    try:
        while pos < end:
            op, length = prefix(body, pos)
            if pos + 9 + length > end:
                raise ValueError(f"a record at byte {f.summary_start + pos} runs past the footer")
            if op != Opcode.MESSAGE:   # messages never belong here; skip rather than copy
                _add(index, parse(op, body[pos + 9:pos + 9 + length]))
            pos += 9 + length
        _check_offsets(index)
    except (ValueError, KeyError) as exc:
        return None, f"the summary section is malformed ({exc})"
    return index, None


def _add(index: FileIndex, r: object) -> None:
    if isinstance(r, ChunkIndex):
        index.chunk_offsets.append(r.chunk_start_offset)
    elif isinstance(r, MetadataIndex):
        index.metadata_offsets.append(r.offset)
    elif isinstance(r, Schema):
        index.schemas.append(r)
    elif isinstance(r, Channel):
        index.channels.append(r)
    elif isinstance(r, Statistics):
        index.message_count = r.message_count
        index.channel_counts = dict(r.channel_message_counts)


def _check_offsets(index: FileIndex) -> None:
    both = index.chunk_offsets + index.metadata_offsets
    if len(set(both)) != len(both):
        raise ValueError("two index records name the same offset")
    if both and not (8 <= min(both) and max(both) < index.data_end):
        raise ValueError("an index record points outside the data section")
    index.chunk_offsets.sort()
    index.metadata_offsets.sort()
