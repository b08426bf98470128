"""Helpers for file-backed sources: image sequences and frame pacing."""
from __future__ import annotations

import glob
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_PRINTF = re.compile(r"%(0?)(\d*)d")


def is_sequence_pattern(path: str) -> bool:
    """True for printf-style (``frames/%04d.png``) or glob (``frames/*.png``) patterns."""
    return bool(_PRINTF.search(path)) or any(ch in path for ch in "*?[")


def list_sequence(pattern: str) -> list[Path]:
    """Files of an image sequence in frame order.

    ``pattern`` is a printf pattern (``depth/%06d.png``: files whose number fills the ``%d``,
    sorted by that number), a glob (``depth/*.png``: sorted by name) or a directory (its ``.png``
    and ``.tif``/``.tiff`` files, sorted by name). Raises FileNotFoundError when nothing matches.
    """
    p = Path(pattern)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".png", ".tif", ".tiff"))
    elif _PRINTF.search(pattern):
        m = _PRINTF.search(pattern)
        width = m.group(2)
        digits = rf"\d{{{width}}}" if m.group(1) and width else r"\d+"
        head, tail = pattern[:m.start()], pattern[m.end():]
        # os.path.split, not Path: "depth/%06d.png" has head "depth/" and an empty file prefix.
        folder_s, prefix = os.path.split(head)
        rx = re.compile(re.escape(prefix) + f"({digits})" + re.escape(tail) + "$")
        folder = Path(folder_s) if folder_s else Path(".")
        numbered = []
        if folder.is_dir():
            for f in folder.iterdir():
                mm = rx.match(f.name)
                if mm:
                    numbered.append((int(mm.group(1)), f))
        files = [f for _, f in sorted(numbered)]
    else:
        files = sorted(Path(f) for f in glob.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no files match {pattern!r}")
    return files


def read_u16(path: Path) -> np.ndarray:
    """One 16-bit single-channel image (PNG/TIFF) as uint16 H×W; clear errors otherwise."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{path}: not a readable image (corrupt or unsupported)")
    if img.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel 16-bit image, got shape {img.shape}")
    if img.dtype != np.uint16:
        raise ValueError(f"{path}: expected 16-bit pixels, got {img.dtype} "
                         "(save depth/thermal frames as 16-bit PNG or TIFF)")
    return img


@dataclass
class FramePacer:
    """Timestamps for frames read from files, on the host monotonic clock.

    Frame ``i`` gets ``t0 + i / fps`` where ``t0`` is the monotonic time when the first frame was
    read. ``realtime=True`` also waits until that time before the frame is delivered (the file
    plays at its own frame rate); ``realtime=False`` delivers as fast as possible with the same
    synthetic, evenly spaced stamps.
    """

    fps: float
    realtime: bool = True
    t0_ns: int | None = None
    index: int = 0

    def stamp(self) -> int:
        if self.t0_ns is None:
            self.t0_ns = time.monotonic_ns()
        t = self.t0_ns + round(self.index * 1e9 / self.fps)
        self.index += 1
        return t
