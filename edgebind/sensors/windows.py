"""Window assembly: per-stream ring buffers in, time-aligned model-ready windows out.

``WindowAssembler`` keeps one :class:`~edgebind.sensors.ring.RingBuffer` per stream and, every
``hop_s`` of *sample* time, emits a :class:`WindowSet` ending at ``t_end`` with one
:class:`Window` per modality:

- audio: the last ``window_s`` seconds, chunks laid end to end (timestamp jitter up to
  ``audio_jitter_s`` is absorbed), real gaps filled with zeros and counted; skipped when more
  than ``audio_max_missing`` of the window is missing;
- IMU: rows over the last ``window_s`` seconds, linearly resampled to ``imu_rows`` points on the
  grid ``edgebind.preprocess.imu`` uses (last point at ``t_end``); skipped when the rows do not
  reach within ``imu_max_gap_s`` of both ends or have a gap longer than that inside;
- vision, depth, thermal: the frame nearest ``t_end`` within ``frame_tolerance_s``, else skipped.

Everything is driven by sample time, so replaying or simulating at any speed gives the same
windows. The rules for late, out-of-order and jumping clocks are in docs/windows.md.

Parts: :mod:`~edgebind.sensors.window` (the records), :mod:`~edgebind.sensors.intake` (samples
checked and corrected where they enter), :mod:`~edgebind.sensors.timeline` (clock jumps),
:mod:`~edgebind.sensors.layout` (audio/IMU layout maths). Calibration corrections are built
from a profile by ``edgebind.profile.apply``; the assembler only applies the callables it is
given (``audio_gain`` and ``assembler_kwargs_from_profile`` stay importable from here).
"""
from __future__ import annotations

import math
import threading
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from edgebind.sample import NS, Sample, StreamInfo
from edgebind.sensors.intake import StreamState, guess_rate, prepare_sample
from edgebind.sensors.layout import grid_ceil, imu_on_grid, lay_audio, ns
from edgebind.sensors.ring import RingBuffer
from edgebind.sensors.timeline import Timeline
from edgebind.sensors.window import (FRAME_MODALITIES, SERIES_MODALITIES, WINDOW_MODALITIES,
                                     Window, WindowSet)

__all__ = ["FRAME_MODALITIES", "SERIES_MODALITIES", "WINDOW_MODALITIES", "Window",
           "WindowAssembler", "WindowSet"]

Correction = Callable[[np.ndarray], np.ndarray]


def __getattr__(name: str) -> Any:
    # Calibration lives in edgebind.profile.apply; imported on use so sensors never need it.
    if name in ("audio_gain", "assembler_kwargs_from_profile"):
        import edgebind.profile.apply as apply
        return getattr(apply, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class WindowAssembler:
    """Push samples from any thread, poll windows from another.

    >>> wa = WindowAssembler(infos, window_s={"audio": 2.0, "imu": 2.0}, hop_s=0.5)  # doctest: +SKIP
    >>> wa.push(sample); sets = wa.poll()                                             # doctest: +SKIP

    ``time_offsets_ns[stream]`` is added to that stream's timestamps (a calibration profile's
    ``time_offsets_ns()``); ``imu_corrections[stream]`` maps raw N×6 rows to corrected rows
    (``Profile.imu_correction``); ``corrections[stream]`` maps any other stream's frame or audio
    chunk to its corrected form (thermal gain/offset, audio gain:
    ``edgebind.profile.apply.audio_gain``). The assembler only calls them; all three at once
    from a profile: :meth:`from_profile`. With several streams of one modality the first
    configured one that yields a window wins; ``Window.streams`` says which.
    """

    def __init__(self, stream_infos: Iterable[StreamInfo], window_s: float | Mapping[str, float] = 2.0,
                 hop_s: float = 0.5, frame_tolerance_s: float = 0.1, lateness_s: float = 0.1,
                 imu_rows: int = 2000, time_offsets_ns: Mapping[str, int] | None = None,
                 imu_corrections: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                 *, corrections: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                 audio_max_missing: float = 0.1, audio_jitter_s: float = 0.01,
                 imu_max_gap_s: float = 0.1, clock_jump_s: float = 5.0,
                 max_items_per_stream: int = 100_000):
        self.window_s = _window_lengths(window_s)
        _check_settings(self.window_s, hop_s=hop_s, frame_tolerance_s=frame_tolerance_s,
                        lateness_s=lateness_s, audio_max_missing=audio_max_missing,
                        imu_rows=imu_rows, audio_jitter_s=audio_jitter_s,
                        imu_max_gap_s=imu_max_gap_s, clock_jump_s=clock_jump_s)
        self.hop_ns = ns(hop_s)
        self.tol_ns = ns(frame_tolerance_s)
        self.lateness_ns = ns(lateness_s)
        self.imu_rows = int(imu_rows)
        self.audio_max_missing = float(audio_max_missing)
        self.jitter_ns = ns(audio_jitter_s)
        self.imu_gap_ns = ns(imu_max_gap_s)
        self.jump_ns = ns(clock_jump_s)
        self._max_items = int(max_items_per_stream)
        self._offsets = {k: int(v) for k, v in (time_offsets_ns or {}).items()}
        self._corrections = _merge_corrections(imu_corrections or {}, corrections or {})
        self._lock = threading.Lock()
        self._streams: dict[str, StreamState] = {}
        self._order: dict[str, list[str]] = {}   # modality -> streams, configured order first
        self._tl = Timeline(self.jump_ns)
        self._stats = _new_stats()
        for info in stream_infos:
            self._add_stream(info)

    @classmethod
    def from_profile(cls, stream_infos: Iterable[StreamInfo], profile: Any,
                     **kwargs: Any) -> "WindowAssembler":
        """An assembler applying a calibration profile's (``edgebind.profile.Profile``)
        corrections: per-stream time offsets, IMU bias/scale/axes, thermal gain/offset and
        audio gain. ``kwargs`` are the other constructor arguments."""
        # Asked of the profile, not imported: sensors never need the profile package.
        if not callable(getattr(profile, "assembler_kwargs", None)):
            raise ValueError(f"expected an edgebind.profile.Profile, got {type(profile).__name__}")
        for key in ("time_offsets_ns", "imu_corrections", "corrections"):
            if key in kwargs:
                raise ValueError(f"WindowAssembler.from_profile: {key} comes from the profile; "
                                 "do not pass it too")
        infos = list(stream_infos)
        return cls(infos, **kwargs, **profile.assembler_kwargs(infos))

    # -- public API ------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (see docs/windows.md for what each one counts)."""
        with self._lock:
            s = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self._stats.items()}
            s["skip_reasons"] = {m: dict(r) for m, r in self._stats["skip_reasons"].items()}
            s["streams"] = {k: dict(v) for k, v in self._stats["streams"].items()}
            s["evicted"] += sum(st.ring.evicted for st in self._streams.values())
            s["dropped"] += sum(st.ring.overflowed for st in self._streams.values())
            return s

    @property
    def modalities(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(m for m in WINDOW_MODALITIES if self._order.get(m))

    def push(self, sample: Sample) -> None:
        """Add one sample. Never raises for bad data: it is dropped and counted instead
        (``stats['invalid']``, ``stats['last_error']``), so a capture thread keeps running."""
        try:
            self._push(sample)
        except Exception as exc:  # noqa: BLE001 - a capture thread must survive any bad sample
            with self._lock:
                self._stats["invalid"] += 1
                self._stats["dropped"] += 1
                name = getattr(sample, "stream", "?")
                self._stats["last_error"] = f"{name}: {exc}"
                per = self._stats["streams"].get(name)
                if per is not None:
                    per["invalid"] += 1

    def poll(self, now_ns: int | None = None) -> list[WindowSet]:
        """Window sets whose end plus ``lateness_s`` has passed. ``now_ns`` defaults to the
        newest sample time (sample-driven: replay/sim at any speed give identical windows); a
        live caller may pass ``time.monotonic_ns()`` so windows keep coming while streams stall."""
        with self._lock:
            mark = self._tl.watermark if now_ns is None else int(now_ns)
            if mark is None:
                return []
            return self._emit_until(mark - self.lateness_ns)

    def flush(self) -> list[WindowSet]:
        """Emit every remaining window that ends by the newest sample, without waiting for
        ``lateness_s`` (end of a recording or shutdown)."""
        with self._lock:
            if self._tl.watermark is None:
                return []
            return self._emit_until(self._tl.watermark)

    # -- push ------------------------------------------------------------------------------
    def _add_stream(self, info: StreamInfo) -> StreamState:
        if info.stream in self._streams:
            raise ValueError(f"stream {info.stream!r} is configured twice")
        m = info.modality
        if m in FRAME_MODALITIES:
            # Frames matter only near window ends: keep just enough for lateness + tolerance.
            age = (self.lateness_ns + 2 * self.tol_ns + self.hop_ns) / NS + 0.5
        else:
            age = self.window_s.get(m, 2.0) + (self.lateness_ns + self.hop_ns
                                               + self.imu_gap_ns) / NS + 1.0
        st = StreamState(info=info, ring=RingBuffer(max_age_s=age, max_count=self._max_items),
                         offset_ns=self._offsets.get(info.stream, 0),
                         correction=self._corrections.get(info.stream))
        if m == "audio" and len(info.shape) == 2 and info.shape[1] > 0:
            st.channels = int(info.shape[1])
        self._streams[info.stream] = st
        self._order.setdefault(m, []).append(info.stream)
        self._stats["streams"][info.stream] = {"samples": 0, "late": 0, "out_of_order": 0,
                                               "clock_jumps": 0, "invalid": 0, "windows": 0}
        return st

    def _push(self, sample: Sample) -> None:
        m = sample.modality
        if m not in WINDOW_MODALITIES:
            with self._lock:
                self._stats["ignored"] += 1
            return
        with self._lock:
            st = self._streams.get(sample.stream)
            if st is None:   # a stream that was not configured: welcome, lowest priority
                st = self._add_stream(StreamInfo(sample.stream, m, guess_rate(sample),
                                                 tuple(np.shape(sample.data)), ""))
            elif st.info.modality != m:
                raise ValueError(f"stream is {st.info.modality}, sample says {m}")
        t, end, item = prepare_sample(st, sample)        # validation/correction outside the lock
        with self._lock:
            per = self._stats["streams"][sample.stream]
            self._stats["samples"] += 1
            per["samples"] += 1
            self._tl.observe(st, t, self._streams.values(), self._stats, per)
            if self._tl.last_end is not None and t < self._tl.last_end and not st.off_timeline:
                self._stats["late"] += 1
                per["late"] += 1
            if st.newest_ns is not None and t < st.newest_ns:
                self._stats["out_of_order"] += 1
                per["out_of_order"] += 1
            st.newest_ns = t if st.newest_ns is None else max(st.newest_ns, t)
            st.ring.push(t, item, end)

    # -- emission --------------------------------------------------------------------------
    def _emit_until(self, limit: int) -> list[WindowSet]:
        out: list[WindowSet] = []
        live = [s for s in self._streams.values() if not s.off_timeline and len(s.ring)]
        if not live:
            return out
        oldest = min(s.ring.oldest_t_ns for s in live)
        newest = max(s.ring.newest_t_ns for s in live)
        # The first window end that any buffered sample can contribute to, on the hop grid.
        first = grid_ceil(oldest - self.tol_ns, self.hop_ns)
        if self._tl.next_end is None and first > limit:
            # Anchor only once the first window is due: by then samples delayed less than
            # lateness - tolerance have arrived, so the anchor does not depend on arrival order.
            return out
        if self._tl.next_end is None or self._tl.next_end < first:
            self._tl.next_end = first
        reach = self.tol_ns + self.jitter_ns + ns(max(self.window_s.values()))
        while self._tl.next_end <= limit:
            end = self._tl.next_end
            if end - reach > newest:    # nothing buffered reaches this far (now_ns far ahead)
                self._tl.next_end = grid_ceil(limit + 1, self.hop_ns)
                break
            if not any(s.ring.overlapping(end - reach, end + self.tol_ns + 1) for s in live):
                # A hole in every stream (all paused): jump towards the first window the next
                # data can reach instead of stepping through the hole hop by hop, but only
                # through windows already due (a sample within lateness may land in the rest).
                nxt = min(n for n in (s.ring.next_start(end) for s in live) if n is not None)
                skip_to = min(max(grid_ceil(nxt - self.tol_ns, self.hop_ns), end + self.hop_ns),
                              grid_ceil(limit + 1, self.hop_ns))
                self._stats["empty"] += (skip_to - end) // self.hop_ns
                self._tl.next_end = skip_to
                continue
            ws = self._assemble(end)
            self._tl.next_end = end + self.hop_ns
            self._tl.last_end = end
            if ws.windows:
                self._stats["windows"] += 1
                out.append(ws)
            else:
                self._stats["empty"] += 1
        return out

    def _assemble(self, end: int) -> WindowSet:
        windows: dict[str, Window] = {}
        skipped: dict[str, str] = {}
        for m in WINDOW_MODALITIES:
            names = self._order.get(m)
            if not names:
                continue
            first_reason: tuple[str, str] | None = None
            for name in names:
                st = self._streams[name]
                if st.off_timeline:
                    res: Window | tuple[str, str] = ("clock_jump", f"{name}: clock is off the "
                                                     "timeline (jumped)")
                elif m in FRAME_MODALITIES:
                    res = self._frame_window(st, end)
                elif m == "audio":
                    res = self._audio_window(st, end)
                else:
                    res = self._imu_window(st, end)
                if isinstance(res, Window):
                    windows[m] = res
                    self._stats["streams"][name]["windows"] += 1
                    break
                if first_reason is None:
                    first_reason = res
            if m not in windows and first_reason is not None:
                code, text = first_reason
                skipped[m] = text
                self._stats["skipped"][m] += 1
                reasons = self._stats["skip_reasons"].setdefault(m, {})
                reasons[code] = reasons.get(code, 0) + 1
        return WindowSet(end, windows, skipped)

    def _frame_window(self, st: StreamState, end: int) -> Window | tuple[str, str]:
        m = st.info.modality
        e = st.ring.nearest(end, self.tol_ns)
        if e is None:
            return ("no_frame", f"{st.info.stream}: no frame within "
                                f"{self.tol_ns / NS:g} s of the window end")
        w = ns(self.window_s[m])
        return Window(m, end - w, end, e.item, (st.info.stream,), st.info.rate_hz,
                      meta={"frame_t_ns": e.t_ns, "frame_offset_ns": e.t_ns - end})

    def _audio_window(self, st: StreamState, end: int) -> Window | tuple[str, str]:
        rate = st.info.rate_hz
        n = int(round(self.window_s["audio"] * rate))
        frame_ns = NS / rate
        start = end - int(round(n * frame_ns))
        chunks = st.ring.overlapping(start - self.jitter_ns, end)
        if not chunks:
            return ("no_data", f"{st.info.stream}: no audio in the window")
        data, covered = lay_audio(chunks, start, n, frame_ns, self.jitter_ns, st.channels or 1)
        missing = n - covered
        if missing > self.audio_max_missing * n:
            return ("too_much_missing", f"{st.info.stream}: {missing / n:.0%} of the audio "
                                        f"window is missing (max {self.audio_max_missing:.0%})")
        self._stats["audio_zero_filled_frames"] += missing
        # frames × channels for people, a view of the (channels, frames) buffer the model uses
        return Window("audio", start, end, data.T, (st.info.stream,), rate,
                      meta={"zero_filled_frames": missing, "chunks": len(chunks)})

    def _imu_window(self, st: StreamState, end: int) -> Window | tuple[str, str]:
        n = self.imu_rows
        w = ns(self.window_s["imu"])
        batches = st.ring.overlapping(end - w - self.imu_gap_ns, end + self.imu_gap_ns + 1)
        if not batches:
            return ("no_data", f"{st.info.stream}: no IMU rows in the window")
        t = np.concatenate([b.item[0] for b in batches])
        x = np.concatenate([b.item[1] for b in batches])
        if len(batches) > 1 or (np.diff(t) <= 0).any():
            t, idx = np.unique(t, return_index=True)   # sorted; repeated row times kept once
            x = x[idx]
        res = imu_on_grid(t, x, end, n, w, self.imu_gap_ns)
        if isinstance(res, str):
            return ("imu_gap", f"{st.info.stream}: {res}")
        grid, out, rows = res
        return Window("imu", end - w, end, out, (st.info.stream,), n / (w / NS),
                      timestamps_ns=grid, meta={"rows": rows})


# -- construction helpers ------------------------------------------------------------------------
def _window_lengths(window_s: float | Mapping[str, float]) -> dict[str, float]:
    """Seconds per modality from one number or a {modality: seconds} table (2 s by default)."""
    if not isinstance(window_s, Mapping):
        return {m: float(window_s) for m in WINDOW_MODALITIES}
    unknown = sorted(set(window_s) - set(WINDOW_MODALITIES))
    if unknown:
        raise ValueError(f"window_s has unknown modalities {unknown}; expected some of "
                         f"{list(WINDOW_MODALITIES)}")
    return {m: float(window_s.get(m, 2.0)) for m in WINDOW_MODALITIES}


def _check_settings(window_s: Mapping[str, float], *, lateness_s: float,
                    audio_max_missing: float, imu_rows: int, **seconds: float) -> None:
    for name, v in [*((f"window_s[{m}]", w) for m, w in window_s.items()), *seconds.items()]:
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"WindowAssembler.{name} must be a positive number of seconds, "
                             f"got {v!r}")
    if not (math.isfinite(lateness_s) and lateness_s >= 0):
        raise ValueError(f"WindowAssembler.lateness_s must be >= 0 seconds, got {lateness_s!r}")
    if not 0 <= audio_max_missing <= 1:
        raise ValueError(f"WindowAssembler.audio_max_missing must be a fraction in [0, 1], "
                         f"got {audio_max_missing!r}")
    if isinstance(imu_rows, bool) or int(imu_rows) < 2:
        raise ValueError(f"WindowAssembler.imu_rows must be an integer >= 2, got {imu_rows!r}")


def _merge_corrections(imu: Mapping[str, Correction], other: Mapping[str, Correction]
                       ) -> dict[str, Correction]:
    """One correction per stream from the two arguments, each checked callable."""
    out = dict(imu)
    for k, fn in other.items():
        if k in out:
            raise ValueError(f"stream {k!r} has both an imu_corrections and a corrections "
                             "entry; give one")
        out[k] = fn
    for k, fn in out.items():
        if not callable(fn):
            which = "imu_corrections" if k in imu else "corrections"
            raise ValueError(f"{which}[{k!r}] must be callable, got {type(fn).__name__}")
    return out


def _new_stats() -> dict[str, Any]:
    return {"windows": 0, "empty": 0, "samples": 0, "late": 0, "out_of_order": 0,
            "clock_jumps": 0, "timeline_resets": 0, "dropped": 0, "invalid": 0, "ignored": 0,
            "evicted": 0, "audio_zero_filled_frames": 0, "last_error": "",
            "skipped": {m: 0 for m in WINDOW_MODALITIES}, "skip_reasons": {}, "streams": {}}
