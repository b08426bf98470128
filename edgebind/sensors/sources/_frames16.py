"""Shared machinery of the 16-bit single-channel frame sources (depth, thermal).

Frames come either from a 16-bit image sequence on disk (paced like camera files) or from an
OpenCV device opened by the subclass; the subclass converts raw uint16 to SI units.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import EndOfStream, Source, with_shape
from edgebind.sensors.sources._files import FramePacer, list_sequence, read_u16
from edgebind.sensors.sources._renamed import renamed


class Frame16Source(Source):
    """Base for depth and thermal frame sources (see the subclasses). ``rate_hz``: frames per
    second requested from a device, or an image sequence's rate (default 30); ``fps`` is its old
    name."""

    modality = ""
    units = ""

    def __init__(self, name: str, *, device: int | str | None = None,
                 path: str | os.PathLike | None = None, width: int | None = None,
                 height: int | None = None, rate_hz: float | None = None, realtime: bool = True,
                 loop: bool = False, fps: float | None = None, **kw) -> None:
        super().__init__(**kw)
        rate_hz = renamed(rate_hz, fps, "rate_hz", "fps", f"{self.kind} {name!r}")
        if (device is None) == (path is None):
            raise ValueError(f"{self.kind} {name!r}: give exactly one of device or path")
        self.name, self.device = name, device
        self.path = None if path is None else str(path)
        self.width, self.height, self.rate_hz = width, height, rate_hz
        self.realtime, self.loop = realtime, loop
        self.live = self.path is None
        self._files: list[Path] = []
        self._pos = 0
        self._pacer: FramePacer | None = None
        self._cap = None
        self._info = StreamInfo(name, self.modality, float(rate_hz or 0.0),
                                (height or -1, width or -1),
                                self.units, self._describe(), {})

    @property
    def fps(self) -> float | None:
        """The old name of :attr:`rate_hz`."""
        return self.rate_hz

    def _describe(self) -> str:
        return f"opencv:{self.device}" if self.device is not None else str(self.path)

    def _stream_infos(self) -> list[StreamInfo]:
        return [self._info]

    def convert(self, raw: np.ndarray) -> np.ndarray:
        """uint16 H×W -> float32 H×W in the modality's units (pure)."""
        raise NotImplementedError

    # ---- device hooks (live subclasses) -------------------------------------------------------
    def _open_device(self) -> None:
        raise NotImplementedError

    def _read_device(self) -> np.ndarray:
        """One raw uint16 H×W frame from the open device (raise OSError on failure)."""
        raise NotImplementedError

    def _close_device(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    # ---- Source hooks ---------------------------------------------------------------------------
    def _open(self) -> None:
        if self.live:
            self._open_device()
            return
        self._files = list_sequence(self.path)  # type: ignore[arg-type]
        self._pos = 0
        rate = float(self.rate_hz or 30.0)
        if self._pacer is None:
            self._pacer = FramePacer(rate, self.realtime)
        self._info = StreamInfo(self.name, self.modality, rate, self._info.shape, self.units,
                                self._info.device, self._info.extra)

    def _close(self) -> None:
        if self.live:
            self._close_device()

    def _read(self) -> list[Sample]:
        if self.live:
            raw = self._read_device()
            t_ns = time.monotonic_ns()
        else:
            raw = self._next_file()
            if raw is None:
                return []
            assert self._pacer is not None
            t_ns = self._pacer.stamp()
            if self._pacer.realtime and not self._wait_until(t_ns):
                return []
        data = self.convert(raw)
        if self._info.shape != data.shape:
            self._info = with_shape(self._info, data.shape)
        return [Sample(self.name, self.modality, int(t_ns), data)]

    def _next_file(self) -> np.ndarray | None:
        if self._pos >= len(self._files):
            if not self.loop:
                raise EndOfStream()
            self._pos = 0
        f = self._files[self._pos]
        self._pos += 1
        try:
            return read_u16(f)
        except ValueError as exc:  # a bad frame is skipped and counted, the rest still plays
            assert self._pacer is not None
            self._pacer.stamp()
            self._note_problem(self.name, f"{exc} (skipped)", dropped=1, error=True)
            return None
