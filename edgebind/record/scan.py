"""One pass over a recording: every record that checks out is kept, damage is stepped over.

The data section is walked record by record. A record is accepted only when its fields fill
its declared length, a chunk only when it decompresses (within the caps) to its CRC, and
nothing may run past the next chunk the summary knows of. At the first record that fails, the
walk resynchronises: to the next chunk in the summary's index when the footer is intact,
otherwise to the next byte offset holding a chunk that checks out, CRC included. Each skipped
byte range is recorded as a ``Lost``. Chunks are decompressed one at a time here to learn
their channels and count their messages, so memory is bounded by one chunk.
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any

from mcap.opcode import Opcode
from mcap.records import Channel, Message, MessageIndex, Metadata, Schema

from edgebind.record.framing import (MAGIC, ChunkHeader, Read, Refused, chunk_header,
                                     chunk_records, load_chunk, op_name, parse, prefix)
from edgebind.record.index import FileIndex, footer_at, read_index
from edgebind.record.limits import ReadLimits, Unreadable

_SCAN_BLOCK = 1 << 20


@dataclass
class Lost:
    """A byte range ``[start, end)`` of the file the reader could not use, and why.
    ``chunks``/``messages``: how many were in it, where the file says (None: unknown)."""

    start: int
    end: int
    reason: str
    chunks: int | None = None
    messages: int | None = None

    def sentence(self) -> str:
        counts = []
        if self.chunks is not None:
            counts.append(f"{self.chunks} chunk{'s' * (self.chunks != 1)}")
        if self.messages is not None:
            counts.append(f"{self.messages} message{'s' * (self.messages != 1)}")
        lost = f"; {', '.join(counts)} lost" if counts else ""
        return f"bytes {self.start}..{self.end} ({self.end - self.start} bytes{lost}): " \
               f"{self.reason}"


@dataclass
class Unit:
    """A chunk, or one unchunked message, in file order. Times are those of its messages (a
    chunk header's own times are outside its CRC)."""

    offset: int
    end: int
    start_time: int
    end_time: int
    size: int                            # uncompressed bytes held while it is replayed
    chunk: ChunkHeader | None = None
    message: Message | None = None


@dataclass
class Scan:
    complete: bool = False               # footer and closing magic present
    truncated_at: int | None = None
    last_chunk_end: int | None = None
    units: list[Unit] = field(default_factory=list)
    schemas: dict[int, str] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    metadata: list[tuple[int, Metadata]] = field(default_factory=list)  # (offset, record)
    counts: dict[int, list[int]] = field(default_factory=dict)  # channel: [n, first, last]
    report: list[str | Lost] = field(default_factory=list)      # in file order
    expected: int | None = None          # messages written, per the summary's statistics

    @property
    def lost(self) -> list[Lost]:
        return [x for x in self.report if isinstance(x, Lost)]


def scan(read: Read, size: int, limits: ReadLimits) -> Scan:
    """Walk the file behind ``read``; see the module docstring."""
    w = _Walker(read, size, limits)
    w.run()
    return w.out


class _Walker:
    def __init__(self, read: Read, size: int, limits: ReadLimits):
        self.read, self.size, self.limits = read, size, limits
        self.out = Scan()
        self.anchors: list[int] = []        # record offsets from a trusted summary
        self.chunk_set: set[int] = set()    # ...those of chunks
        self.why = ""                       # what was wrong with the record that failed
        self.past_eof = False               # ...and whether it ran past the end of the file
        self.cut = False                    # how the file was cut off is already reported
        self.bad_chunk: Lost | None = None  # a lost chunk whose message indexes may follow

    def run(self) -> None:
        footer = footer_at(self.read, self.size)
        self.out.complete = footer is not None
        index = None
        if footer is not None:
            index, why = read_index(self.read, footer, self.limits.max_chunk_bytes)
            if why:
                self._note(f"summary not used: {why}; chunks were found by walking the file")
        if index is not None:
            self._use_index(index)
        end = index.data_end if index else footer if footer is not None else self.size
        self._walk(8, end)
        if footer is None:
            self.out.truncated_at = self.size
            if not self.cut:
                self._note(f"truncated at byte {self.size}: no footer (recording was not "
                           f"closed); {self._last()}")

    def _use_index(self, index: FileIndex) -> None:
        self.anchors = sorted(index.chunk_offsets + index.metadata_offsets)
        self.chunk_set = set(index.chunk_offsets)
        for s in index.schemas:
            self.out.schemas[s.id] = s.name
        for c in index.channels:
            self.out.channels[c.id] = c
        self.out.expected = index.message_count

    # -- walking -------------------------------------------------------------------------------
    def _walk(self, pos: int, end: int) -> None:
        while pos < end:
            nxt = self._record(pos, self._limit(pos, end))
            if nxt is None:
                nxt = self._resync(pos, end)
            if nxt is None:
                return
            pos = nxt

    def _limit(self, pos: int, end: int) -> int:
        """No record may run past the next record the summary knows of."""
        i = bisect.bisect_right(self.anchors, pos)
        return self.anchors[i] if i < len(self.anchors) else end

    def _record(self, pos: int, limit: int) -> int | None:
        """The end of the record at ``pos`` if it checks out (and is taken), else None with
        ``self.why`` set. Returns ``limit`` to stop at a footer."""
        head = self.read(pos, 9)
        if len(head) < 9:
            self.why, self.past_eof = "a record header is incomplete", True
            return None
        op, length = prefix(head)
        self.past_eof = pos + 9 + length > self.size
        if op == Opcode.CHUNK or pos in self.chunk_set:
            if op != Opcode.CHUNK:
                self._note(f"chunk at byte {pos}: its opcode byte reads {op:#x}; the summary "
                           f"says a chunk starts here")
            return self._chunk(pos, length, limit)
        if self.bad_chunk is not None and op != Opcode.MESSAGE_INDEX:
            self.bad_chunk = None
        name, end = op_name(op), pos + 9 + length
        if end > limit:
            self.why = f"a {name} record declares {length} bytes, running past byte {limit}"
            return None
        if length > self.limits.max_chunk_bytes:
            self.why = (f"a {name} record of {length} bytes is above the cap of "
                        f"{self.limits.max_chunk_bytes}")
            return None
        try:
            record = parse(op, self.read(pos + 9, length))
        except ValueError as exc:
            if op >= 0x80:  # MCAP leaves these opcodes to applications: skip, but say so
                self._note(f"{name} record at byte {pos} ({length} bytes) ignored")
                return end
            self.why = f"a {name} record of {length} bytes is malformed ({exc})"
            return None
        if op == Opcode.FOOTER:  # reached only when the closing magic is missing
            if self.read(end, 8) != MAGIC:
                self.out.truncated_at, self.cut = self.size, True
                self._note(f"truncated at byte {self.size}: closing magic missing after the "
                           f"footer (all data is complete)")
            return limit
        self._take(record, pos, end)
        return end

    def _take(self, r: Any, pos: int, end: int) -> None:
        if isinstance(r, Message):
            if not self._plausible(r):
                self._note(f"a MESSAGE record at byte {pos} ({end - pos} bytes) is not a "
                           f"message of its channel (its payload does not decode); skipped")
                return
            self._count(r)
            self.out.units.append(Unit(pos, end, r.log_time, r.log_time, len(r.data),
                                       message=r))
        elif isinstance(r, Schema):
            self.out.schemas[r.id] = r.name
        elif isinstance(r, Channel):
            self.out.channels[r.id] = r
        elif isinstance(r, Metadata):
            self.out.metadata.append((pos, r))
        elif isinstance(r, MessageIndex) and self.bad_chunk is not None:
            # The index records written after a chunk say how many messages it held.
            self.bad_chunk.messages = (self.bad_chunk.messages or 0) + len(r.records)

    def _plausible(self, m: Message) -> bool:
        """Whether a message outside any chunk (no CRC vouches for it) decodes as its channel's
        encoding says: one flipped bit turns a MESSAGE_INDEX record (0x07) into a MESSAGE
        (0x05) of a real channel, whose "payload" is binary index entries."""
        ch = self.out.channels.get(m.channel_id)
        if ch is None or ch.message_encoding != "json":
            return True   # not ours to judge; replay reports what does not decode
        try:
            return isinstance(json.loads(m.data), dict)
        except ValueError:   # JSONDecodeError and UnicodeDecodeError
            return False

    def _count(self, m: Message) -> None:
        c = self.out.counts.setdefault(m.channel_id, [0, m.log_time, m.log_time])
        c[0] += 1
        c[1] = min(c[1], m.log_time)
        c[2] = max(c[2], m.log_time)

    # -- chunks --------------------------------------------------------------------------------
    def _chunk(self, pos: int, length: int, limit: int) -> int | None:
        self.bad_chunk = None
        try:
            h = chunk_header(self.read, pos, limit)
        except ValueError as exc:
            self.why = f"a CHUNK record is unusable ({exc})"
            return None
        framed = pos + 9 + length == h.end
        try:
            data = load_chunk(self.read, h, self.limits)
        except Unreadable as exc:
            if not framed:  # neither its length field nor its contents can be trusted
                self.why = (f"a CHUNK record's length field ({length}) disagrees with its "
                            f"contents, which are unreadable ({exc})")
                return None
            verb = "refused" if isinstance(exc, Refused) else "unreadable"
            self.bad_chunk = Lost(pos, h.end, f"chunk at byte {pos} {verb}: {exc}", chunks=1)
            self._lose(self.bad_chunk)
            return h.end
        if not framed:
            if not h.crc:
                self.why = (f"a CHUNK record's length field ({length}) disagrees with its "
                            f"contents, and it has no CRC to tell which is right")
                return None
            self._note(f"chunk at byte {pos}: its length field says {length} bytes, its "
                       f"contents (CRC-valid) {h.end - pos - 9}; read by its contents")
        first = last = None
        try:
            for r in chunk_records(data):
                if isinstance(r, Message):
                    self._count(r)
                    first = r.log_time if first is None else min(first, r.log_time)
                    last = r.log_time if last is None else max(last, r.log_time)
                else:
                    self._take(r, pos, h.end)
        except ValueError as exc:
            self._lose(Lost(pos, h.end, f"chunk at byte {pos}: {exc}; the rest of that chunk "
                                        f"is skipped"))
        self.out.units.append(Unit(pos, h.end, h.start_time if first is None else first,
                                   h.end_time if last is None else last, h.size, chunk=h))
        self.out.last_chunk_end = h.end
        return h.end

    # -- damage --------------------------------------------------------------------------------
    def _resync(self, pos: int, end: int) -> int | None:
        """Skip from the record at ``pos`` that failed to the next chunk that checks out."""
        anchored = bool(self.anchors)
        i = bisect.bisect_right(self.anchors, pos)
        target = (self.anchors[i] if i < len(self.anchors) else None) if anchored \
            else self._find_chunk(pos + 1, end)
        chunks = int(pos in self.chunk_set) if anchored else None
        if target is not None:
            what = "chunk" if target in self.chunk_set or not anchored else "record"
            self._lose(Lost(pos, target, f"{self.why}; resynchronised at the {what} at byte "
                                         f"{target}", chunks=chunks))
            return target
        if self.past_eof and not self.out.complete:  # power loss: the file stops in a record
            self.cut = True
            self._lose(Lost(pos, end, f"truncated at byte {self.size}: the record at byte {pos} "
                                      f"is incomplete ({self.why}); {self._last()}",
                            chunks=chunks))
        else:
            self._lose(Lost(pos, end, f"{self.why}; no readable chunk after it", chunks=chunks))
        return None

    def _find_chunk(self, start: int, end: int) -> int | None:
        """The first offset in [start, end) holding a chunk whose length field, contents and
        CRC all agree; a CRC-less chunk cannot prove itself and is passed over."""
        at = start
        while at < end:
            block = self.read(at, min(_SCAN_BLOCK, end - at))
            j = block.find(b"\x06")
            while j >= 0:
                if self._checks_out(at + j, end):
                    return at + j
                j = block.find(b"\x06", j + 1)
            at += len(block) or end
        return None

    def _checks_out(self, pos: int, end: int) -> bool:
        head = self.read(pos, 9)
        if len(head) < 9:
            return False
        try:
            h = chunk_header(self.read, pos, end)
            if pos + 9 + prefix(head)[1] != h.end or not h.crc or h.start_time > h.end_time:
                return False
            load_chunk(self.read, h, self.limits)
        except ValueError:  # Unreadable and Refused are ValueErrors too
            return False
        return True

    def _lose(self, lost: Lost) -> None:
        self.out.report.append(lost)

    def _note(self, sentence: str) -> None:
        self.out.report.append(sentence)

    def _last(self) -> str:
        end = self.out.last_chunk_end
        return f"last complete chunk ended at byte {end}" if end is not None \
            else "no complete chunk"
