"""What reading one recording may cost, and decompression that never exceeds it.

A chunk header declares its uncompressed size, and a zstd frame its content size; both are
claims an attacker writes. The caps are checked against the declared sizes before anything is
decompressed, and decompression then streams into a buffer of exactly the declared size, so a
chunk that expands further is refused without ever being held.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from edgebind.errors import EdgeBindError

MiB = 1 << 20
COMPRESSIONS = ("", "zstd", "lz4")   # "" = stored uncompressed (the MCAP spelling of "none")


@dataclass(frozen=True)
class ReadLimits:
    """Caps on one recording's chunks; the defaults are far above what real recordings need.

    ``max_chunk_bytes``: the largest uncompressed chunk (or unchunked record) accepted. A chunk
    is at most the writer's ``chunk_size`` plus one message; a 4K RGB frame is 33 MB here.
    ``max_ratio`` applies only to chunks above ``ratio_floor_bytes``: zstd legitimately shrinks
    uniform frames (a lens cap on a 4K camera) by up to ~28,000x, so below the floor only the
    size cap holds, and above it a chunk must bring at least 1/max_ratio of its size as input.
    ``max_buffered_bytes``: decompressed chunks held at once while replaying chunks whose time
    ranges overlap (log-time order needs them all); a chunk that would exceed it is skipped
    and reported.
    """

    max_chunk_bytes: int = 256 * MiB
    max_ratio: float = 1000.0
    ratio_floor_bytes: int = 64 * MiB
    max_buffered_bytes: int = 1024 * MiB

    def __post_init__(self) -> None:
        for name in ("max_chunk_bytes", "max_ratio", "ratio_floor_bytes", "max_buffered_bytes"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"ReadLimits.{name} must be a positive number, got {v!r}")

    def refusal(self, compressed: int, uncompressed: int) -> str | None:
        """Why a chunk of these declared sizes is refused, or None when it is within the caps."""
        if uncompressed > self.max_chunk_bytes:
            return (f"declares {uncompressed} bytes uncompressed, above the cap of "
                    f"{self.max_chunk_bytes} (ReadLimits.max_chunk_bytes)")
        if compressed > self.max_chunk_bytes + MiB:  # compression never grows data by a MiB
            return (f"holds {compressed} compressed bytes, above the cap of "
                    f"{self.max_chunk_bytes} (ReadLimits.max_chunk_bytes)")
        if uncompressed > self.ratio_floor_bytes and uncompressed > self.max_ratio * compressed:
            return (f"would expand {compressed} bytes to {uncompressed} "
                    f"({uncompressed / max(compressed, 1):.0f}x), above the cap of "
                    f"{self.max_ratio:g}x for chunks over {self.ratio_floor_bytes} bytes "
                    f"(ReadLimits.max_ratio)")
        return None


class Unreadable(EdgeBindError, ValueError):
    """A chunk's bytes do not decompress to what its header declares."""


def decompress(compression: str, data: bytes, size: int) -> bytearray:
    """Exactly ``size`` bytes from ``data``; Unreadable if it holds fewer or more. At most
    ``size`` + 1 bytes are ever produced, whatever the compressed frame claims."""
    if compression == "":
        if len(data) != size:
            raise Unreadable(f"holds {len(data)} bytes, its header says {size}")
        return bytearray(data)
    out = bytearray(size + 1)  # one spare byte detects data that expands beyond the claim
    view = memoryview(out)
    try:
        with _reader(compression, data, size) as r:
            got = 0
            while got <= size:
                n = r.readinto(view[got:got + MiB])  # in steps: lz4 copies each read once
                if not n:
                    break
                got += n
    except Unreadable:
        raise
    except Exception as exc:  # the codecs raise their own types for damaged frames
        raise Unreadable(f"{compression} data is damaged ({type(exc).__name__}: {exc})") from exc
    finally:
        view.release()
    if got > size:
        raise Unreadable(f"expands beyond the {size} bytes its header declares")
    if got < size:
        raise Unreadable(f"expands to {got} bytes, its header declares {size}")
    del out[size:]
    return out


def _reader(compression: str, data: bytes, size: int):
    if compression == "zstd":
        import zstandard
        # The window is memory the decoder reserves: a frame with a known size needs none larger
        # than its output; 8 MiB covers frames streamed without one (levels up to 19).
        window = 1 << max(size - 1, 1).bit_length()
        dctx = zstandard.ZstdDecompressor(max_window_size=min(max(window, 8 * MiB), 1 << 27))
        return dctx.stream_reader(data, read_across_frames=False)
    if compression == "lz4":
        import lz4.frame
        return lz4.frame.LZ4FrameFile(io.BytesIO(data), mode="rb")
    raise Unreadable(f"unsupported compression {compression!r}")
