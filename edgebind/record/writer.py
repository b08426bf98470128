"""Record Samples to MCAP: one channel per stream, chunked, with CRCs.

Message times are the samples' host-monotonic ``t_ns`` (``log_time = publish_time``); with
``log_time="wall"`` the log time is moved onto the wall clock by one offset taken at start
(Foxglove then shows the real date) and ``publish_time`` keeps the monotonic time. With
``previews=True`` each depth and thermal stream also gets a colour-mapped rgb8 channel
``/<stream>/preview`` that Foxglove shows with no settings (raw 32FC1 renders white there).

Writes straight to the final path (no temp file + rename): a power cut then leaves a file whose
every complete chunk is recoverable by :func:`edgebind.record.reader.open_recording`. Each
finished chunk is pushed to the OS at once; ``fsync=True`` also forces it to disk.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Mapping

from mcap.writer import CompressionType, Writer

from edgebind.record import schemas as S
from edgebind.sample import Sample, StreamInfo

_COMPRESSION = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4,
                "none": CompressionType.NONE}


class RecordingWriter:
    """``with RecordingWriter("run.mcap") as rec: ch = rec.add_stream(info); rec.write(sample)``.

    ``chunk_size`` bounds how much a power cut can lose (about one chunk per file, uncompressed
    bytes). Refuses to overwrite an existing file unless ``overwrite=True``. ``previews`` and
    ``log_time`` (``"monotonic"`` or ``"wall"``): see the module docstring.
    """

    def __init__(self, path: str | os.PathLike, compression: str = "zstd",
                 chunk_size: int = 1 << 20, *, overwrite: bool = False, fsync: bool = False,
                 previews: bool = False, log_time: str = "monotonic"):
        if compression not in _COMPRESSION:
            raise ValueError(f"compression must be one of {sorted(_COMPRESSION)}, "
                             f"got {compression!r}")
        if log_time not in S.LOG_TIME_CLOCKS:
            raise ValueError(f"log_time must be one of {', '.join(S.LOG_TIME_CLOCKS)}, "
                             f"got {log_time!r}")
        self.path = Path(path)
        self._file = open(self.path, "wb" if overwrite else "xb")
        self._fsync = fsync
        self._writer = Writer(self._file, chunk_size=int(chunk_size),
                              compression=_COMPRESSION[compression])
        from edgebind import __version__
        self._writer.start(profile="", library=f"edgebind {__version__}")
        self._streams: dict[str, tuple[int, StreamInfo]] = {}
        self._schemas: dict[str, int] = {}
        self._seq: dict[int, int] = {}
        self._previews: dict[str, int] | None = {} if previews else None
        self._closed = False
        # Wall clock only here, for people (and log_time="wall"); sample times are monotonic.
        mono, wall = time.monotonic_ns(), time.time_ns()
        self._log_offset = wall - mono if log_time == "wall" else 0
        self._writer.add_metadata(S.META_RECORDING, {
            "format": S.FORMAT,
            "clock": ("host monotonic ns (time.monotonic_ns); message log_time = publish_time"
                      if log_time == "monotonic" else
                      "host monotonic ns in publish_time; log_time = publish_time + "
                      "log_time_offset_ns (wall clock)"),
            "log_time": log_time,
            "log_time_offset_ns": str(self._log_offset),
            "monotonic_start_ns": str(mono),
            "wall_time_start_ns": str(wall),
            "wall_time_start": _dt.datetime.fromtimestamp(wall / 1e9, _dt.timezone.utc)
                                  .isoformat(),
            "host": socket.gethostname(),
            "edgebind_version": __version__,
        })
        self._sync()

    # -- API -----------------------------------------------------------------------------------
    def add_stream(self, info: StreamInfo) -> int:
        """Register a stream; returns its MCAP channel id. Writes an ``edgebind.stream_info``
        metadata record and carries the same info in the channel's metadata."""
        self._check_open()
        if info.stream in self._streams:
            raise ValueError(f"stream {info.stream!r} is already registered")
        name = S.schema_for(info.modality)
        if name not in self._schemas:
            self._schemas[name] = self._writer.register_schema(
                name=name, encoding=S.SCHEMA_ENCODING, data=S.schema_bytes(name))
        info_json = json.dumps(info.to_dict(), sort_keys=True)
        ch = self._writer.register_channel(
            topic=S.topic_for(info.stream), message_encoding=S.MESSAGE_ENCODING,
            schema_id=self._schemas[name],
            metadata={"edgebind.stream": info.stream, "edgebind.stream_info": info_json})
        self._writer.add_metadata(S.META_STREAM_INFO, {
            "stream": info.stream, "channel_id": str(ch), "topic": S.topic_for(info.stream),
            "info": info_json})
        self._streams[info.stream] = (ch, info)
        self._seq[ch] = 0
        if self._previews is not None and info.modality in S.VIEWABLE:
            self._add_preview(info)
        self._sync()
        return ch

    def _add_preview(self, info: StreamInfo) -> None:
        # Same RawImage schema; no edgebind.stream key, so sample readers pass it by.
        assert self._previews is not None
        ch = self._writer.register_channel(
            topic=S.preview_topic(info.stream), message_encoding=S.MESSAGE_ENCODING,
            schema_id=self._schemas[S.RAW_IMAGE], metadata={S.PREVIEW_OF: info.stream})
        self._previews[info.stream] = ch
        self._seq[ch] = 0

    def add_calibration(self, profile: Mapping[str, Any], source: str = "") -> None:
        """Store a calibration profile (JSON-serialisable mapping) as an
        ``edgebind.calibration`` metadata record."""
        self._check_open()
        text = json.dumps(profile, sort_keys=True)
        # Metadata records have no CRC: the checksum lets the reader refuse a damaged profile
        # instead of applying wrong calibration values.
        self._writer.add_metadata(S.META_CALIBRATION, {
            "format": "json", "source": source, "profile": text,
            "sha256": hashlib.sha256(text.encode()).hexdigest()})
        self._sync()

    def write(self, sample: Sample) -> None:
        self._check_open()
        ch, info = self._streams.get(sample.stream, (None, None))
        t = checked_time(sample, info)
        payload = S.encode(sample, info)
        preview = self._previews.get(sample.stream) if self._previews else None
        extra = S.encode_preview(sample, info) if preview is not None else None
        before = self._file.tell()
        self._add(ch, t, payload)
        if extra is not None:
            self._add(preview, t, extra)
        if self._file.tell() != before:  # a chunk was just completed: get it out of our buffer
            self._sync()

    def close(self) -> None:
        """Flush the last chunk, write the summary section and footer; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {k: v[1] for k, v in self._streams.items()}

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # Finish even on error: samples already accepted must not be lost.
        self.close()

    # -- internals -----------------------------------------------------------------------------
    def _add(self, ch: int, t: int, payload: bytes) -> None:
        self._writer.add_message(channel_id=ch, log_time=t + self._log_offset, publish_time=t,
                                 data=payload, sequence=self._seq[ch])
        self._seq[ch] += 1

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"recorder for {self.path} is closed")

    def _sync(self) -> None:
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())


Recorder = RecordingWriter   # its name before it matched RecordingReader; still exported


def checked_time(sample: Sample, info: StreamInfo | None) -> int:
    """The time of a sample a writer is given, once it is known to belong to an added stream
    (``info``, None when it was not added) of its modality; every writer checks the same."""
    if info is None:
        raise ValueError(f"stream {sample.stream!r} was not added (add_stream first)")
    if sample.modality != info.modality:
        raise ValueError(f"stream {sample.stream!r} is {info.modality}, "
                         f"sample says {sample.modality}")
    t = int(sample.t_ns)
    if t < 0:
        raise ValueError(f"t_ns must be >= 0 (host monotonic ns), got {t}")
    return t
