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
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from edgebind.sample import NS, Sample, StreamInfo
from edgebind.sensors.ring import Entry, RingBuffer

FRAME_MODALITIES = ("vision", "depth", "thermal")
SERIES_MODALITIES = ("audio", "imu")
WINDOW_MODALITIES = ("vision", "audio", "depth", "thermal", "imu")   # text never streams


@dataclass
class Window:
    """One modality's model-ready input over ``[t_start_ns, t_end_ns]``.

    ``data``: vision uint8 H×W×3; depth/thermal float32 H×W; audio float32 (frames, channels);
    imu float32 (imu_rows, 6) with ``timestamps_ns`` int64 (imu_rows,). ``streams`` names the
    stream that contributed. ``meta`` says how it was built (frame time, zero-filled frames...).
    """

    modality: str
    t_start_ns: int
    t_end_ns: int
    data: np.ndarray
    streams: tuple[str, ...]
    rate_hz: float
    timestamps_ns: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def model_item(self) -> Any:
        """What ``edgebind.Embedder.prepare(modality, [item])`` accepts for this modality."""
        from edgebind.embedder import Audio, Imu
        if self.modality == "audio":
            return Audio(self.data, int(round(self.rate_hz)), layout="frames_first")
        if self.modality == "imu":
            return Imu(self.data, self.timestamps_ns)
        return self.data


@dataclass
class WindowSet:
    """All modalities' windows ending at ``t_end_ns``; ``skipped`` maps modality -> reason."""

    t_end_ns: int
    windows: dict[str, Window]
    skipped: dict[str, str]


@dataclass
class _Stream:
    info: StreamInfo
    ring: RingBuffer
    offset_ns: int = 0
    correction: Callable[[np.ndarray], np.ndarray] | None = None
    newest_ns: int | None = None         # newest sample start seen (for out-of-order)
    off_timeline: bool = False           # its clock disagrees with the timeline (jumped)
    channels: int | None = None          # audio channel count, fixed by the first chunk


class WindowAssembler:
    """Push samples from any thread, poll windows from another.

    >>> wa = WindowAssembler(infos, window_s={"audio": 2.0, "imu": 2.0}, hop_s=0.5)  # doctest: +SKIP
    >>> wa.push(sample); sets = wa.poll()                                             # doctest: +SKIP

    ``time_offsets_ns[stream]`` is added to that stream's timestamps (a calibration profile's
    ``time_offsets_ns()``); ``imu_corrections[stream]`` maps raw N×6 rows to corrected rows
    (``Profile.imu_correction``); ``corrections[stream]`` maps any other stream's frame or audio
    chunk to its corrected form (thermal gain/offset, audio gain: :func:`audio_gain`). All three
    at once from a profile: :meth:`from_profile`. With several streams of one modality the first
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
        default_w = 2.0
        if isinstance(window_s, Mapping):
            unknown = sorted(set(window_s) - set(WINDOW_MODALITIES))
            if unknown:
                raise ValueError(f"window_s has unknown modalities {unknown}; expected some of "
                                 f"{list(WINDOW_MODALITIES)}")
            self.window_s = {m: float(window_s.get(m, default_w)) for m in WINDOW_MODALITIES}
        else:
            self.window_s = {m: float(window_s) for m in WINDOW_MODALITIES}
        for name, v in [*((f"window_s[{m}]", w) for m, w in self.window_s.items()),
                        ("hop_s", hop_s), ("frame_tolerance_s", frame_tolerance_s),
                        ("audio_jitter_s", audio_jitter_s), ("imu_max_gap_s", imu_max_gap_s),
                        ("clock_jump_s", clock_jump_s)]:
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
        self.hop_ns = _ns(hop_s)
        self.tol_ns = _ns(frame_tolerance_s)
        self.lateness_ns = _ns(lateness_s)
        self.imu_rows = int(imu_rows)
        self.audio_max_missing = float(audio_max_missing)
        self.jitter_ns = _ns(audio_jitter_s)
        self.imu_gap_ns = _ns(imu_max_gap_s)
        self.jump_ns = _ns(clock_jump_s)
        self._max_items = int(max_items_per_stream)
        self._offsets = {k: int(v) for k, v in (time_offsets_ns or {}).items()}
        self._corrections = dict(imu_corrections or {})
        for k, fn in (corrections or {}).items():
            if k in self._corrections:
                raise ValueError(f"stream {k!r} has both an imu_corrections and a corrections "
                                 "entry; give one")
            self._corrections[k] = fn
        for k, fn in self._corrections.items():
            which = "imu_corrections" if k in (imu_corrections or {}) else "corrections"
            if not callable(fn):
                raise ValueError(f"{which}[{k!r}] must be callable, got {type(fn).__name__}")
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._order: dict[str, list[str]] = {}   # modality -> streams, configured order first
        self._watermark: int | None = None        # newest in-timeline sample start
        self._next_end: int | None = None
        self._last_end: int | None = None         # newest emitted window end
        self._off_run: list[int] | None = None    # [min, max] start of consecutive off-timeline
        self._stats: dict[str, Any] = {
            "windows": 0, "empty": 0, "samples": 0, "late": 0, "out_of_order": 0,
            "clock_jumps": 0, "timeline_resets": 0, "dropped": 0, "invalid": 0, "ignored": 0,
            "evicted": 0, "audio_zero_filled_frames": 0, "last_error": "",
            "skipped": {m: 0 for m in WINDOW_MODALITIES}, "skip_reasons": {},
            "streams": {},
        }
        for info in stream_infos:
            self._add_stream(info)

    @classmethod
    def from_profile(cls, stream_infos: Iterable[StreamInfo], profile: Any,
                     **kwargs: Any) -> "WindowAssembler":
        """An assembler applying a calibration profile's (``edgebind.profile.Profile``)
        corrections: per-stream time offsets, IMU bias/scale/axes, thermal gain/offset and
        audio gain. ``kwargs`` are the other constructor arguments."""
        infos = list(stream_infos)
        for key in ("time_offsets_ns", "imu_corrections", "corrections"):
            if key in kwargs:
                raise ValueError(f"WindowAssembler.from_profile: {key} comes from the profile; "
                                 "do not pass it too")
        return cls(infos, **kwargs, **assembler_kwargs_from_profile(profile, infos))

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
            mark = self._watermark if now_ns is None else int(now_ns)
            if mark is None:
                return []
            return self._emit_until(mark - self.lateness_ns)

    def flush(self) -> list[WindowSet]:
        """Emit every remaining window that ends by the newest sample, without waiting for
        ``lateness_s`` (end of a recording or shutdown)."""
        with self._lock:
            if self._watermark is None:
                return []
            return self._emit_until(self._watermark)

    # -- push ------------------------------------------------------------------------------
    def _add_stream(self, info: StreamInfo) -> _Stream:
        if info.stream in self._streams:
            raise ValueError(f"stream {info.stream!r} is configured twice")
        m = info.modality
        if m in FRAME_MODALITIES:
            # Frames matter only near window ends: keep just enough for lateness + tolerance.
            age = (self.lateness_ns + 2 * self.tol_ns + self.hop_ns) / NS + 0.5
        else:
            age = self.window_s.get(m, 2.0) + (self.lateness_ns + self.hop_ns
                                               + self.imu_gap_ns) / NS + 1.0
        st = _Stream(info=info, ring=RingBuffer(max_age_s=age, max_count=self._max_items),
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
                st = self._add_stream(StreamInfo(sample.stream, m, _guess_rate(sample),
                                                 tuple(np.shape(sample.data)), ""))
            elif st.info.modality != m:
                raise ValueError(f"stream is {st.info.modality}, sample says {m}")
        t, end, item = self._prepare(st, sample)          # validation/correction outside the lock
        with self._lock:
            per = self._stats["streams"][sample.stream]
            self._stats["samples"] += 1
            per["samples"] += 1
            self._check_timeline(st, t, per)
            if self._last_end is not None and t < self._last_end and not st.off_timeline:
                self._stats["late"] += 1
                per["late"] += 1
            if st.newest_ns is not None and t < st.newest_ns:
                self._stats["out_of_order"] += 1
                per["out_of_order"] += 1
            st.newest_ns = t if st.newest_ns is None else max(st.newest_ns, t)
            st.ring.push(t, item, end)

    def _prepare(self, st: _Stream, s: Sample) -> tuple[int, int, Any]:
        """Validate one sample and convert it to what the ring stores: (start, end, item)."""
        m = st.info.modality
        t = int(s.t_ns) + st.offset_ns
        x = s.data
        if not isinstance(x, np.ndarray):
            raise ValueError(f"data must be a numpy array, got {type(x).__name__}")
        if m == "vision":
            if x.ndim != 3 or x.shape[2] != 3 or x.dtype != np.uint8:
                raise ValueError(f"vision frame must be uint8 H×W×3 RGB, got {x.dtype}{x.shape}")
            if st.correction is not None:
                x = _corrected(st, x, dtype=np.uint8, finite=False)
            return t, t, x
        if m in ("depth", "thermal"):
            if x.ndim == 3 and x.shape[2] == 1:
                x = x[:, :, 0]
            if x.ndim != 2 or x.size == 0:
                raise ValueError(f"{m} frame must be H×W, got shape {x.shape}")
            if x.dtype != np.float32:
                if not np.issubdtype(x.dtype, np.number):
                    raise ValueError(f"{m} frame must be numeric, got {x.dtype}")
                x = x.astype(np.float32)
            if st.correction is not None:   # depth NaN marks invalid pixels: keep it possible
                x = _corrected(st, x, dtype=np.float32, finite=False)
            return t, t, x
        if m == "audio":
            if x.ndim == 1:
                x = x[:, None]
            if x.ndim != 2 or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.floating):
                raise ValueError(f"audio chunk must be float frames×channels, got {x.dtype}{x.shape}")
            if st.channels is None:
                st.channels = x.shape[1]
            elif x.shape[1] != st.channels:
                raise ValueError(f"audio chunk has {x.shape[1]} channels, the stream has "
                                 f"{st.channels}")
            if not np.isfinite(x).all():
                raise ValueError("audio chunk contains NaN or inf")
            if st.correction is not None:
                x = _corrected(st, x, dtype=np.float32, finite=True)
            rate = st.info.rate_hz
            if not rate > 0:
                raise ValueError(f"audio stream rate_hz must be > 0, got {rate}")
            dur = int(round((x.shape[0] - 1) * NS / rate))
            return t, t + dur, x
        # imu
        if x.ndim != 2 or x.shape[1] != 6 or x.shape[0] == 0:
            raise ValueError(f"imu batch must be N×6 [ax ay az gx gy gz], got shape {x.shape}")
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError("imu batch contains NaN or inf")
        if s.row_t_ns is not None:
            rt = np.asarray(s.row_t_ns)
            if rt.shape != (x.shape[0],) or not np.issubdtype(rt.dtype, np.integer):
                raise ValueError(f"imu row_t_ns must be int ({x.shape[0]},), got {rt.dtype}{rt.shape}")
            rt = rt.astype(np.int64) + st.offset_ns
        else:
            rate = st.info.rate_hz if st.info.rate_hz > 0 else 400.0
            rt = t + np.round(np.arange(x.shape[0]) * (NS / rate)).astype(np.int64)
        if st.correction is not None:
            y = np.asarray(st.correction(x), dtype=np.float64)
            if y.shape != x.shape or not np.isfinite(y).all():
                raise ValueError(f"imu correction returned {y.dtype}{y.shape}, expected finite "
                                 f"{x.shape}")
            x = y
        order = np.argsort(rt, kind="stable")
        if (np.diff(rt) < 0).any():
            rt, x = rt[order], x[order]
        return int(rt[0]), int(rt[-1]), (rt, x)

    def _check_timeline(self, st: _Stream, t: int, per: dict) -> None:
        """Clock-jump bookkeeping (see docs/windows.md, "Clock jumps")."""
        if self._watermark is None:
            self._watermark = t
        off = abs(t - self._watermark) > self.jump_ns
        # Off already, but on yet another clock than its buffered data: that data is stale too.
        hop_clock = off and st.off_timeline and st.newest_ns is not None \
            and abs(t - st.newest_ns) > self.jump_ns
        if off != st.off_timeline or hop_clock:
            # Either way the buffered data belongs to another clock epoch than what follows.
            self._stats["evicted"] += st.ring.clear()
            st.newest_ns = None
            if off:
                self._stats["clock_jumps"] += 1
                per["clock_jumps"] += 1
            st.off_timeline = off
        if not off:
            self._off_run = None
            self._watermark = max(self._watermark, t)
            return
        run = self._off_run
        if run is None or t < run[0] - self.jump_ns or t > run[1] + self.jump_ns:
            run = [t, t]          # off-timeline samples of another clock start their own run
        self._off_run = [min(run[0], t), max(run[1], t)]
        seen = [s for s in self._streams.values() if s.newest_ns is not None or s is st]
        on_n = sum(not s.off_timeline for s in seen)
        agree = [s for s in seen if s.off_timeline and
                 (s is st or abs(s.newest_ns - t) <= self.jump_ns)]   # type: ignore[operator]
        # More streams agree on this sample's clock than are on the timeline (one mis-stamped
        # stream that happened to deliver first set it; or every stream jumped), or this clock
        # has kept coming for clock_jump_s with nothing on the timeline in between: follow it.
        if len(agree) > on_n or self._off_run[1] - self._off_run[0] >= self.jump_ns:
            self._reset_timeline(agree, t)

    def _reset_timeline(self, group: list[_Stream], t: int) -> None:
        """Move the timeline to the clock of ``group`` (streams whose data agree with ``t``);
        every other stream's buffer is cleared (its data is on another clock) and it is judged
        afresh by its next sample."""
        self._stats["timeline_resets"] += 1
        new_mark = t
        for s in self._streams.values():
            if any(s is g for g in group):
                s.off_timeline = False
                if s.newest_ns is not None:
                    new_mark = max(new_mark, s.newest_ns)
            else:
                self._stats["evicted"] += s.ring.clear()
                s.newest_ns = None
                s.off_timeline = False
        self._watermark = new_mark
        self._off_run = None
        self._next_end = None
        self._last_end = None

    # -- emission --------------------------------------------------------------------------
    def _emit_until(self, limit: int) -> list[WindowSet]:
        out: list[WindowSet] = []
        live = [s for s in self._streams.values() if not s.off_timeline and len(s.ring)]
        if not live:
            return out
        oldest = min(s.ring.oldest_t_ns for s in live)
        newest = max(s.ring.newest_t_ns for s in live)
        # The first window end that any buffered sample can contribute to, on the hop grid.
        first = _grid_ceil(oldest - self.tol_ns, self.hop_ns)
        if self._next_end is None and first > limit:
            # Anchor only once the first window is due: by then samples delayed less than
            # lateness - tolerance have arrived, so the anchor does not depend on arrival order.
            return out
        if self._next_end is None or self._next_end < first:
            self._next_end = first
        reach = self.tol_ns + self.jitter_ns + _ns(max(self.window_s.values()))
        while self._next_end <= limit:
            end = self._next_end
            if end - reach > newest:    # nothing buffered reaches this far (now_ns far ahead)
                self._next_end = _grid_ceil(limit + 1, self.hop_ns)
                break
            if not any(s.ring.overlapping(end - reach, end + self.tol_ns + 1) for s in live):
                # A hole in every stream (all paused): jump towards the first window the next
                # data can reach instead of stepping through the hole hop by hop, but only
                # through windows already due (a sample within lateness may land in the rest).
                nxt = min(n for n in (s.ring.next_start(end) for s in live) if n is not None)
                skip_to = min(max(_grid_ceil(nxt - self.tol_ns, self.hop_ns), end + self.hop_ns),
                              _grid_ceil(limit + 1, self.hop_ns))
                self._stats["empty"] += (skip_to - end) // self.hop_ns
                self._next_end = skip_to
                continue
            ws = self._assemble(end)
            self._next_end = end + self.hop_ns
            self._last_end = end
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

    def _frame_window(self, st: _Stream, end: int) -> Window | tuple[str, str]:
        m = st.info.modality
        e = st.ring.nearest(end, self.tol_ns)
        if e is None:
            return ("no_frame", f"{st.info.stream}: no frame within "
                                f"{self.tol_ns / NS:g} s of the window end")
        w = _ns(self.window_s[m])
        return Window(m, end - w, end, e.item, (st.info.stream,), st.info.rate_hz,
                      meta={"frame_t_ns": e.t_ns, "frame_offset_ns": e.t_ns - end})

    def _audio_window(self, st: _Stream, end: int) -> Window | tuple[str, str]:
        rate = st.info.rate_hz
        n = int(round(self.window_s["audio"] * rate))
        frame_ns = NS / rate
        start = end - int(round(n * frame_ns))
        chunks = st.ring.overlapping(start - self.jitter_ns, end)
        if not chunks:
            return ("no_data", f"{st.info.stream}: no audio in the window")
        data, covered = _lay_audio(chunks, start, n, frame_ns, self.jitter_ns, st.channels or 1)
        missing = n - covered
        if missing > self.audio_max_missing * n:
            return ("too_much_missing", f"{st.info.stream}: {missing / n:.0%} of the audio "
                                        f"window is missing (max {self.audio_max_missing:.0%})")
        self._stats["audio_zero_filled_frames"] += missing
        return Window("audio", start, end, data, (st.info.stream,), rate,
                      meta={"zero_filled_frames": missing, "chunks": len(chunks)})

    def _imu_window(self, st: _Stream, end: int) -> Window | tuple[str, str]:
        n = self.imu_rows
        w = _ns(self.window_s["imu"])
        batches = st.ring.overlapping(end - w - self.imu_gap_ns, end + self.imu_gap_ns + 1)
        if not batches:
            return ("no_data", f"{st.info.stream}: no IMU rows in the window")
        t = np.concatenate([b.item[0] for b in batches])
        x = np.concatenate([b.item[1] for b in batches])
        if len(batches) > 1 or (np.diff(t) <= 0).any():
            t, idx = np.unique(t, return_index=True)   # sorted; repeated row times kept once
            x = x[idx]
        grid = end - np.round((n - 1 - np.arange(n)) * (w / n)).astype(np.int64)
        keep = (t >= grid[0] - self.imu_gap_ns) & (t <= end + self.imu_gap_ns)
        t, x = t[keep], x[keep]
        reason = _imu_coverage(t, int(grid[0]), end, self.imu_gap_ns)
        if reason:
            return ("imu_gap", f"{st.info.stream}: {reason}")
        rel = (t - end).astype(np.float64)
        g = (grid - end).astype(np.float64)
        out = np.empty((n, 6), dtype=np.float32)
        for c in range(6):
            out[:, c] = np.interp(g, rel, x[:, c])
        return Window("imu", end - w, end, out, (st.info.stream,), n / (w / NS),
                      timestamps_ns=grid, meta={"rows": int(t.size)})


# -- calibration ---------------------------------------------------------------------------------
def audio_gain(gain_db: float) -> Callable[[np.ndarray], np.ndarray]:
    """The correction for an audio input gain in dB: ``x · 10^(dB/20)``, clipped to [-1, 1]
    (what an ADC with that much more gain would have delivered). Pure."""
    db = float(gain_db)
    if not math.isfinite(db):
        raise ValueError(f"audio gain must be a finite number of dB, got {gain_db!r}")
    g = np.float32(10.0 ** (db / 20.0))

    def apply(x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=np.float32) * g, -1.0, 1.0)

    apply.gain_db = db  # type: ignore[attr-defined]   # for people inspecting a correction
    return apply


def assembler_kwargs_from_profile(profile: Any, stream_infos: Iterable[StreamInfo] = ()
                                  ) -> dict[str, Any]:
    """``time_offsets_ns``, ``imu_corrections`` and ``corrections`` (thermal gain/offset, audio
    gain) for :class:`WindowAssembler` from an ``edgebind.profile.Profile``.

    With ``stream_infos`` a calibration that cannot fit its stream is refused now, with a
    message naming the stream, instead of dropping every sample later: a thermal or audio
    section on a stream of another modality, or a per-pixel thermal map whose size differs
    from the stream's known frame size.
    """
    infos = {i.stream: i for i in stream_infos}
    streams = getattr(profile, "streams", None)
    if not isinstance(streams, Mapping):
        raise ValueError(f"expected an edgebind.profile.Profile, got {type(profile).__name__}")
    corrections: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for name, cal in streams.items():
        info = infos.get(name)
        thermal = profile.thermal_correction(name)
        gain_db = profile.audio_gain_db(name)
        if thermal is not None:
            _check_modality(info, name, "thermal", ("thermal",))
            _check_map_size(info, name, getattr(cal, "thermal", None))
            corrections[name] = thermal
        if gain_db is not None and gain_db != 0.0:
            _check_modality(info, name, "audio", ("audio",))
            if name in corrections:
                raise ValueError(f"profile stream {name!r} has both thermal and audio "
                                 "calibration; a stream is one or the other")
            corrections[name] = audio_gain(gain_db)
    imu = dict(profile.imu_corrections())
    for name in imu:
        _check_modality(infos.get(name), name, "imu", ("imu",))
    return {"time_offsets_ns": dict(profile.time_offsets_ns()), "imu_corrections": imu,
            "corrections": corrections}


def _check_modality(info: StreamInfo | None, name: str, section: str,
                    allowed: tuple[str, ...]) -> None:
    if info is not None and info.modality not in allowed:
        raise ValueError(f"calibration profile: stream {name!r} has {section} calibration, but "
                         f"the stream is {info.modality}; check the profile's stream names")


def _check_map_size(info: StreamInfo | None, name: str, cal: Any) -> None:
    if info is None or cal is None or len(info.shape) < 2 or min(info.shape[:2]) <= 0:
        return
    for key in ("gain", "offset"):
        v = getattr(cal, key, None)
        if isinstance(v, np.ndarray) and v.ndim == 2 and tuple(v.shape) != tuple(info.shape[:2]):
            raise ValueError(f"calibration profile: stream {name!r} thermal {key} map is "
                             f"{v.shape[0]}x{v.shape[1]} (H×W) but the stream's frames are "
                             f"{info.shape[0]}x{info.shape[1]}; recalibrate this camera")


def _corrected(st: _Stream, x: np.ndarray, dtype: Any, finite: bool) -> np.ndarray:
    """``st.correction(x)`` checked: same shape, the modality's dtype, finite if required."""
    assert st.correction is not None
    y = np.asarray(st.correction(x))
    if y.shape != x.shape:
        raise ValueError(f"correction of {st.info.stream!r} returned shape {y.shape}, "
                         f"expected {x.shape}")
    if y.dtype != dtype:
        if dtype == np.uint8:
            raise ValueError(f"correction of {st.info.stream!r} returned {y.dtype}, a vision "
                             "frame must stay uint8")
        y = y.astype(dtype)
    if finite and not np.isfinite(y).all():
        raise ValueError(f"correction of {st.info.stream!r} produced NaN or inf")
    return y


# -- pure helpers -------------------------------------------------------------------------------
def _ns(seconds: float) -> int:
    return int(round(float(seconds) * NS))


def _grid_ceil(t: int, step: int) -> int:
    """Smallest multiple of ``step`` >= ``t`` (absolute grid: same ends in every run)."""
    return -((-t) // step) * step


def _guess_rate(s: Sample) -> float:
    r = s.meta.get("rate_hz") if isinstance(s.meta, dict) else None
    if isinstance(r, (int, float)) and r > 0:
        return float(r)
    return {"audio": 16000.0, "imu": 400.0}.get(s.modality, 0.0)


def _lay_audio(chunks: list[Entry], start: int, n: int, frame_ns: float, jitter_ns: int,
               channels: int) -> tuple[np.ndarray, int]:
    """Place chunks on a frame grid starting at ``start``. Host timestamps of audio blocks
    jitter but the frames between them do not: chunks that start within ``jitter_ns`` of where
    the previous one ended form one seamless run, placed at the median of its chunks' implied
    start times (robust to the jitter of any single chunk); a later start opens a new run after
    a zero gap; a chunk overlapping its predecessor loses its overlapping head.
    Returns (frames × channels float32, number of frames covered).
    """
    runs: list[tuple[list[np.ndarray], list[float]]] = []   # (chunks, implied run starts)
    cursor = 0.0                                           # nominal end of the current run
    for e in chunks:
        x, t = e.item, float(e.t_ns)
        if runs and abs(t - cursor) <= jitter_ns:
            pass
        elif runs and t < cursor:                          # overlap: keep the new part only
            skip = int(math.ceil((cursor - t) / frame_ns - 1e-9))
            x, t = x[skip:], cursor
            if x.shape[0] == 0:
                continue
        else:
            runs.append(([], []))
            cursor = t
        parts, implied = runs[-1]
        done = sum(p.shape[0] for p in parts)
        implied.append(t - done * frame_ns)
        parts.append(x)
        cursor += x.shape[0] * frame_ns
    out = np.zeros((n, channels), dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    for parts, implied in runs:
        x = parts[0] if len(parts) == 1 else np.concatenate(parts)
        i0 = int(round((float(np.median(implied)) - start) / frame_ns))
        a, b = max(i0, 0), min(i0 + x.shape[0], n)
        if a < b:
            out[a:b] = x[a - i0:b - i0]
            mask[a:b] = True
    return out, int(mask.sum())


def _imu_coverage(t: np.ndarray, first: int, end: int, gap: int) -> str:
    """Why rows at ``t`` do not cover ``[first, end]`` (empty string when they do)."""
    if t.size < 2:
        return f"{t.size} IMU row(s) near the window, need at least 2"
    if t[0] > first + gap:
        return f"IMU rows start {(t[0] - first) / NS:.3f} s after the window start"
    if t[-1] < end - gap:
        return f"IMU rows end {(end - t[-1]) / NS:.3f} s before the window end"
    inside = (t[1:] > first) & (t[:-1] < end)
    d = np.diff(t)[inside]
    if d.size and d.max() > gap:
        return f"gap of {d.max() / NS:.3f} s between IMU rows inside the window"
    return ""
