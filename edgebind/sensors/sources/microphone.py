"""Microphones through PortAudio (``sounddevice``): float32 [-1, 1] blocks of frames × channels.

Time: PortAudio tells each callback when its first frame hit the ADC (``inputBufferAdcTime``)
and what time it is now (``currentTime``), both on the stream's own clock (which host API and
driver decide: often CLOCK_REALTIME or CLOCK_MONOTONIC, sometimes a sound-card clock).
:class:`AdcClock` maps that clock onto ``time.monotonic_ns()``; where a driver reports 0 the
block is stamped with its arrival time minus its duration. Overflows (frames the driver lost
because the callback ran late) are counted as drops and make the stream degraded.
"""
from __future__ import annotations

import collections
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import Source


def import_sounddevice():
    """``sounddevice``, or an OSError saying how to get PortAudio."""
    try:
        import sounddevice
    except OSError as exc:  # the module raises OSError when libportaudio is missing
        raise OSError(f"PortAudio is not available ({exc}); install it, e.g. "
                      "`apt-get install libportaudio2`") from None
    except ImportError as exc:
        raise OSError(f"the sounddevice package is not installed ({exc})") from None
    return sounddevice


@dataclass
class AdcClock:
    """Maps PortAudio stream time (seconds) onto host monotonic ns.

    Each callback gives one pair (PortAudio ``currentTime``, our monotonic time at entry). Their
    difference is the clock offset plus how late we ran after PortAudio read its clock, which is
    never negative, so the smallest difference over the last ``window`` callbacks is the best
    offset estimate (robust to scheduling jitter, tracking slow relative drift). Pure bookkeeping.
    """

    window: int = 128
    _diffs: collections.deque = field(default_factory=collections.deque)

    def update(self, stream_now_s: float, arrival_ns: int) -> None:
        if stream_now_s > 0:
            self._diffs.append(arrival_ns - round(stream_now_s * 1e9))
            while len(self._diffs) > self.window:
                self._diffs.popleft()

    @property
    def offset_ns(self) -> int | None:
        return min(self._diffs) if self._diffs else None

    def to_host_ns(self, stream_t_s: float) -> int | None:
        off = self.offset_ns
        if off is None or stream_t_s <= 0:
            return None
        return round(stream_t_s * 1e9) + off


@dataclass
class BlockStamper:
    """Stamps consecutive audio blocks of a continuous stream. Pure bookkeeping, no I/O.

    Audio is continuous between losses, so block ``k`` starts ``n_k / rate_hz`` after the stream's
    anchor (``n_k`` = frames delivered before it) and stamps are spaced exactly by the rate. Each
    block gives one estimate of the anchor, ``c_k = m_k - n_k / rate_hz``, where ``m_k`` is its ADC
    time mapped by :class:`AdcClock` (arrival minus duration when the driver reports none), and
    one upper bound, ``u_k`` = the same from its arrival (a frame cannot be captured after it was
    delivered). The anchor is the median of the last ``window`` estimates, capped by the smallest
    bound of the last ``4 * window`` blocks; when that median implies more than
    ``max_latency_ns`` of latency (PulseAudio reports 0.15-0.6 s for a while after a stream
    starts) the bound itself is used. Delivery stalls do not move the anchor (the ADC times and
    the earlier bounds still hold). Frames lost without an overflow flag (a sound server dropped
    them) show as ADC times later than the anchor predicts for ``gap_blocks`` blocks in a row:
    the stream is then re-anchored (at once after an overflow, :meth:`reset`) and the gap stays
    visible in the stamps.
    """

    rate_hz: float
    window: int = 32
    max_latency_ns: int = 250_000_000
    gap_blocks: int = 3
    clock: AdcClock = field(default_factory=AdcClock)
    _frames: int = 0
    _cands: collections.deque = field(default_factory=collections.deque)
    _bounds: collections.deque = field(default_factory=collections.deque)
    _ahead: int = 0
    _last_ns: int | None = None

    def reset(self) -> None:
        """Starts a new anchor (after an overflow: frames were lost, continuity is broken)."""
        self._frames = 0
        self._cands.clear()
        self._bounds.clear()
        self._ahead = 0

    def _anchor(self) -> float:
        med, bound = float(np.median(self._cands)), float(min(self._bounds))
        if med > bound or bound - med > self.max_latency_ns:
            return bound
        return med

    def _lost_frames(self, m: int | None, before: float, dur: float) -> bool:
        """Whether frames went missing without an overflow flag: ADC times later than the
        anchor predicts for ``gap_blocks`` blocks in a row. (Late *arrival* alone proves
        nothing: after a stall, buffered blocks arrive in a burst.)"""
        tol = max(dur / 2, 2e6)
        predicted = self._anchor() + before
        self._ahead = self._ahead + 1 if m is not None and m - predicted > tol else 0
        return self._ahead >= self.gap_blocks

    def stamp(self, frames: int, adc_s: float, now_s: float, arrival_ns: int) -> int:
        dur = frames * 1e9 / self.rate_hz
        self.clock.update(now_s, arrival_ns)
        latest = arrival_ns - round(dur)  # its last frame was captured before we were called
        m = self.clock.to_host_ns(adc_s)
        has_adc = m is not None
        m = latest if m is None else min(m, latest)
        before = self._frames * 1e9 / self.rate_hz
        if self._cands and self._lost_frames(m if has_adc else None, before, dur):
            self.reset()
            before = 0.0
        self._cands.append(m - before)
        self._bounds.append(latest - before)
        while len(self._cands) > self.window:
            self._cands.popleft()
        while len(self._bounds) > 4 * self.window:
            self._bounds.popleft()
        t = round(self._anchor() + before)
        if self._last_ns is not None and t <= self._last_ns:
            t = self._last_ns + 1
        self._last_ns = t
        self._frames += frames
        return int(t)


def _rate_hz(name: str, rate_hz: float | None, rate: float | None) -> float:
    """``rate_hz``, or the deprecated ``rate`` (the same value); 16000 when neither is given."""
    if rate is None:
        return 16000 if rate_hz is None else rate_hz
    if rate_hz is not None and rate_hz != rate:
        raise ValueError(f"microphone {name!r}: rate={rate} and rate_hz={rate_hz} disagree; "
                         "give rate_hz only (rate is its old name)")
    warnings.warn("MicrophoneSource(rate=...) is deprecated; use rate_hz=", DeprecationWarning,
                  stacklevel=3)
    return rate


class MicrophoneSource(Source):
    """One PortAudio input stream. ``device``: index, name (or a unique part of it) or None for
    the default input; ``rate_hz`` frames/s (``rate`` is its earlier, deprecated name);
    ``channels``; ``block`` frames per sample (0 lets the host API choose); ``latency`` as
    sounddevice takes it ("low", "high" or seconds).

    Blocks go from the PortAudio callback to the reader through one hand-off list. Under
    ``start()`` it is emptied by the capture thread, which never waits for the consumer, so the
    only place blocks are dropped is the source's queue (``queue_size``, counted in health).
    Read synchronously (``iter_samples()``) nothing else buffers, so the hand-off keeps at most
    ``buffer_blocks`` and drops the oldest beyond, counted the same way."""

    kind = "microphone"

    def __init__(self, name: str = "mic", *, device: int | str | None = None,
                 rate_hz: float | None = None, channels: int = 1, block: int = 512,
                 latency: str | float | None = None, buffer_blocks: int = 64,
                 max_latency_s: float | None = None, rate: float | None = None, **kw) -> None:
        super().__init__(**kw)
        rate_hz = _rate_hz(name, rate_hz, rate)
        if not rate_hz > 0 or channels <= 0 or block < 0:
            raise ValueError(f"microphone {name!r}: rate and channels must be positive and block "
                             f">= 0, got rate={rate_hz} channels={channels} block={block}")
        self.name, self.device = name, device
        self.rate_hz, self.channels = rate_hz, int(channels)
        self.block, self.latency = int(block), latency
        self._blocks: collections.deque[Sample] = collections.deque()
        self._max_blocks = int(buffer_blocks)
        self._cv = threading.Condition()
        self._stream = None
        self.max_latency_s = max_latency_s
        self._stamper = BlockStamper(float(rate_hz))
        self.overflows = 0
        self._device_name = "" if device is None else str(device)

    @property
    def rate(self) -> float:
        """Deprecated name of :attr:`rate_hz`."""
        return self.rate_hz

    def _stream_infos(self) -> list[StreamInfo]:
        return [StreamInfo(self.name, "audio", float(self.rate_hz),
                           (self.block or -1, self.channels),
                           "float32 [-1, 1]", f"portaudio:{self._device_name or 'default'}",
                           {"block": self.block})]

    def _open(self) -> None:
        sd = import_sounddevice()
        try:
            dev = sd.query_devices(self.device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            raise OSError(f"no PortAudio input device {self.device!r}: {exc}") from None
        self._device_name = f"{dev['name']} ({sd.query_hostapis(dev['hostapi'])['name']})"
        with self._cv:
            self._blocks.clear()
        kw = {} if self.latency is None else {"latency": self.latency}
        try:
            stream = sd.InputStream(device=self.device, samplerate=self.rate_hz,
                                    channels=self.channels, dtype="float32",
                                    blocksize=self.block, callback=self._callback, **kw)
        except sd.PortAudioError as exc:
            raise OSError(f"cannot open {self._device_name} at {self.rate_hz} Hz x "
                          f"{self.channels} channels: {exc}") from None
        # ADC times implying more latency than this are not believed (see BlockStamper).
        limit = self.max_latency_s
        if limit is None:
            block_s = (stream.blocksize or 512) / self.rate_hz
            limit = max(0.05, 2 * float(stream.latency) + 2 * block_s)
        self._stamper = BlockStamper(float(self.rate_hz), max_latency_ns=int(limit * 1e9))
        try:
            stream.start()
        except sd.PortAudioError as exc:
            stream.close()
            raise OSError(f"cannot start {self._device_name}: {exc}") from None
        self._stream = stream

    def _callback(self, indata: np.ndarray, frames: int, t, status) -> None:
        arrival = time.monotonic_ns()
        if status.input_overflow:
            self._stamper.reset()
        t_ns = self._stamper.stamp(frames, float(t.inputBufferAdcTime), float(t.currentTime), arrival)
        meta = {}
        if status.input_overflow:
            self.overflows += 1
            meta["overflow"] = True
            self._note_problem(self.name, "input overflow: the device dropped frames", dropped=1)
        sample = Sample(self.name, "audio", t_ns, indata.copy(), meta)
        # Under start() the capture thread empties this at once and its queue is the one that
        # drops; read synchronously, this is the only buffer, so it is bounded here.
        bounded = not self._threads
        with self._cv:
            if bounded and len(self._blocks) >= self._max_blocks:
                self._blocks.popleft()
                self._note_problem(self.name, "audio blocks not read in time: dropped oldest",
                                   dropped=1)
            self._blocks.append(sample)
            self._cv.notify()

    def _read(self) -> list[Sample]:
        with self._cv:
            if not self._blocks:
                self._cv.wait(0.1)
            out = list(self._blocks)
            self._blocks.clear()
        if not out:
            stream = self._stream
            if stream is None or not stream.active:
                raise OSError(f"{self._device_name}: the input stream stopped (device lost?)")
        return out

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
            finally:
                stream.close()
