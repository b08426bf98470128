"""Capture sensor streams (or the simulated world) to a recording (EdgeBind's MCAP layout, or a
ROS 2 bag with ``fmt="ros2"``): the library side of
``edgebind record`` (its command line: ``edgebind.record.cli``).

Live and simulated recording share one code path: stream configs -> sources
(``edgebind.sensors.config.open_source``) -> :class:`edgebind.record.Recorder`. Each source
delivers samples from its own thread; one lock serialises writes. Setting ``stop`` (the CLI does
on Ctrl-C or SIGTERM) stops the sources and closes the file, so an interrupted recording is
complete and valid.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from edgebind.record.writer import Recorder
from edgebind.sample import NS, Sample, require_unique_streams
from edgebind.validate import resolve_path

# Simulation and replay wait for the recorder instead of dropping (lossless at any speed); live
# devices keep their own thread and count what they drop.
_PACED_KINDS = ("sim", "replay")


@dataclass
class CaptureStats:
    """What a capture did: per-stream counts, drops reported by the sources, and why it ended."""

    path: str
    messages: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    wall_s: float = 0.0
    span_s: float = 0.0
    source_dropped: dict[str, int] = field(default_factory=dict)
    source_errors: dict[str, str] = field(default_factory=dict)   # last error per stream
    not_written: int = 0          # samples past --duration, or arriving after stop
    write_errors: list[str] = field(default_factory=list)
    stopped_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "messages": dict(self.messages),
                "total_messages": sum(self.messages.values()), "bytes": self.bytes_written,
                "wall_s": round(self.wall_s, 3), "span_s": round(self.span_s, 3),
                "mb_per_s": round(self.bytes_written / 1e6 / self.wall_s, 3) if self.wall_s else 0.0,
                "source_dropped": dict(self.source_dropped),
                "source_errors": dict(self.source_errors), "not_written": self.not_written,
                "write_errors": list(self.write_errors[:10]), "stopped_by": self.stopped_by}


def stream_configs_for_sim(scenario: str, seed: int, duration_s: float, speed: float
                           ) -> list[dict[str, Any]]:
    """The [[streams]] tables equivalent to ``--sim``: one multi-stream sim source."""
    return [{"name": "sim", "kind": "sim", "scenario": scenario, "seed": int(seed),
             "duration": float(duration_s), "speed": float(speed)}]


def open_sources(tables: list[dict[str, Any]] | None, config_path: str | None) -> list[Any]:
    """Sources from ``[[streams]]`` tables (``--sim``) or a TOML config file (``--config``)."""
    from edgebind.sensors.config import load_stream_configs, open_source, parse_stream_configs
    cfgs = (load_stream_configs(config_path) if config_path is not None
            else parse_stream_configs(tables, "--sim"))
    return [open_source(c) for c in cfgs]


FORMATS = ("edgebind", "ros2")


def open_writer(out: str | Path, fmt: str = "edgebind", **kw: Any) -> Any:
    """The writer of a recording format: EdgeBind's MCAP layout (``Recorder``) or a rosbag2
    folder (``edgebind.record.ros.writer.RosBagWriter``, needs ``rosbags``)."""
    if fmt == "ros2":
        from edgebind.record.ros.writer import RosBagWriter
        return RosBagWriter(out, overwrite=kw.get("overwrite", False))
    if fmt != "edgebind":
        raise ValueError(f"recording format must be one of {list(FORMATS)}, got {fmt!r}")
    return Recorder(out, **kw)


def size_on_disk(path: str | Path) -> int:
    """Bytes of a recording: one file, or every file of a rosbag2 folder."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


def capture(sources: Sequence[Any], out: str | Path, *, duration_s: float | None = None,
            calibration: dict[str, Any] | None = None, calibration_source: str = "",
            compression: str = "zstd", chunk_size: int = 1 << 20, overwrite: bool = False,
            fsync: bool = False, status: Callable[[str], None] | None = None,
            stop: threading.Event | None = None, status_every_s: float = 1.0,
            fmt: str = "edgebind") -> CaptureStats:
    """Record every stream of ``sources`` to ``out`` until ``duration_s`` of sample time has
    been written (from the first sample), every source ended, ``stop`` is set, or Ctrl-C.
    ``fmt``: ``edgebind`` (the MCAP layout, default) or ``ros2`` (a rosbag2 folder).

    Samples at or after ``first + duration_s`` are not written. A stream that stops delivering
    does not block the end: once every other stream is done, a stream silent for 10 % of the
    duration (at least 2 s of wall time) is given up on.
    """
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"--duration must be > 0 seconds, got {duration_s}")
    infos = require_unique_streams(i for s in sources for i in s.streams)
    rec = open_writer(out, fmt, compression=compression, chunk_size=chunk_size,
                      overwrite=overwrite, fsync=fsync)
    session = Capture(sources, infos, rec, out, duration_s, stop or threading.Event())
    try:
        if calibration is not None:
            rec.add_calibration(calibration, source=calibration_source)
        try:
            session.start()
            session.wait(status, status_every_s)
        except KeyboardInterrupt:
            session.stats.stopped_by = "interrupted"
        finally:
            session.stop_sources()
    finally:
        session.close()
    return session.finish()


class Capture:
    """One recording in progress: the sample callback every source thread calls, the wait for
    its end, and the closing. Used through :func:`capture`."""

    def __init__(self, sources: Sequence[Any], infos: list[Any], rec: Any,
                 out: str | Path, duration_s: float | None, stop: threading.Event) -> None:
        self.sources, self.infos, self.rec = sources, infos, rec
        self.duration_s, self.stop = duration_s, stop
        self.names = [i.stream for i in infos]
        self.stats = CaptureStats(path=str(out), messages={n: 0 for n in self.names})
        self.lock = threading.Lock()
        self.first: int | None = None           # earliest sample time written
        self.end_ns: int | None = None          # first + duration
        self.last: dict[str, int] = {}          # last sample time written, per stream
        self.done: set[str] = set()             # streams that reached the end of the duration
        self.wall: dict[str, float] = {}        # when each stream last delivered (monotonic)
        self.t_first_check: float | None = None
        self.closed = False
        self.started: list[Any] = []
        self.workers: list[tuple[Any, threading.Thread]] = []
        self.t_start = time.monotonic()

    def on_sample(self, s: Sample) -> None:
        with self.lock:
            self.wall[s.stream] = time.monotonic()
            if self.stop.is_set() or self.closed:
                self.stats.not_written += 1
                return
            if self.first is None or s.t_ns < self.first:
                # Earliest sample time, not first arrival: sources deliver from their own
                # threads, so a slightly older sample can arrive second.
                self.first = int(s.t_ns)
                if self.duration_s is not None:
                    self.end_ns = self.first + int(round(self.duration_s * NS))
            if self.end_ns is not None and s.t_ns >= self.end_ns:
                self.stats.not_written += 1
                self.done.add(s.stream)
                if self.done >= set(self.names):
                    self.stop.set()
                return
            self._write(s)

    def _write(self, s: Sample) -> None:
        if s.stream not in self.stats.messages:
            self.stats.write_errors.append(f"{s.stream}: not a declared stream of any source")
            return
        try:
            # Channels are added at each stream's first sample: by then the source has opened
            # its device and knows the real rate and shape. Silent streams are added at close.
            if s.stream not in self.rec.streams:
                self.rec.add_stream(_current_info(self.sources, s.stream, self.infos))
            self.rec.write(s)
        except (ValueError, OSError) as exc:   # bad sample: count, keep recording
            self.stats.write_errors.append(f"{s.stream}: {exc}")
            return
        self.stats.messages[s.stream] += 1
        self.last[s.stream] = int(s.t_ns)

    def start(self) -> None:
        for src in self.sources:
            if getattr(src, "kind", "") in _PACED_KINDS:
                th = threading.Thread(target=_drain, args=(src, self.on_sample, self.stop,
                                                           self.stats),
                                      name=f"record-{src.kind}", daemon=True)
                th.start()
                self.workers.append((src, th))
            else:
                src.start(self.on_sample)
            self.started.append(src)

    def wait(self, status: Callable[[str], None] | None, status_every_s: float) -> None:
        """Until the duration is written, every source ended, or ``stop`` is set."""
        last_status = 0.0
        while not self.stop.wait(0.05):
            now = time.monotonic()
            if self._sources_ended():
                self.stats.stopped_by = "sources ended"
                return
            if self.duration_s is not None and self.first is not None and self._stalled(
                    now, max(2.0, 0.1 * self.duration_s)):
                self.stats.stopped_by = "duration (some streams stopped delivering)"
                return
            if status is not None and now - last_status >= status_every_s:
                last_status = now
                status(self.status_line(now - self.t_start))
        self.stats.stopped_by = self.stats.stopped_by or ("duration" if self.duration_s
                                                          else "stop")

    def _sources_ended(self) -> bool:
        if all(_ended(src) for src in self.sources):
            return True
        return bool(self.workers) and len(self.workers) == len(self.sources) and not any(
            th.is_alive() for _, th in self.workers)

    def _stalled(self, now: float, grace_s: float) -> bool:
        """Every stream either reached the end of the duration or has been silent for
        ``grace_s`` (a dead live stream must not keep the recording open forever)."""
        if self.t_first_check is None:
            self.t_first_check = now
        return all(n in self.done or now - self.wall.get(n, self.t_first_check) > grace_s
                   for n in self.names)

    def stop_sources(self) -> None:
        """Stop what was started and collect the sources' drop counts and last errors."""
        self.stop.set()
        for src in self.started:
            try:
                src.stop()
                for w_src, th in self.workers:
                    if w_src is src:
                        th.join(5.0)
            except Exception as exc:  # noqa: BLE001 - keep closing the others and the file
                self.stats.write_errors.append(f"stopping {src!r}: {exc}")
        for src in self.sources:
            try:
                for name, h in src.health().items():
                    self.stats.source_dropped[name] = int(h.dropped)
                    if h.last_error:
                        self.stats.source_errors[name] = str(h.last_error)
            except Exception:  # noqa: BLE001 - health is informative only
                pass

    def close(self) -> None:
        """Close the file, with a channel for every declared stream (silent ones included)."""
        with self.lock:
            self.closed = True
            try:
                for info in self.infos:
                    if info.stream not in self.rec.streams:
                        self.rec.add_stream(_current_info(self.sources, info.stream, self.infos))
            finally:
                self.rec.close()

    def finish(self) -> CaptureStats:
        self.stats.wall_s = time.monotonic() - self.t_start
        self.stats.bytes_written = size_on_disk(self.stats.path)
        self.stats.span_s = self._span_s()
        return self.stats

    def _span_s(self) -> float:
        if self.first is None or not self.last:
            return 0.0
        return (max(self.last.values()) - self.first) / NS

    def status_line(self, wall: float) -> str:
        try:
            size = size_on_disk(self.rec.path)
        except OSError:
            size = 0
        per = "  ".join(f"{k} {v}" for k, v in self.stats.messages.items())
        bad = []
        for src in self.sources:
            try:
                bad += [f"{k}:{h.state}" for k, h in src.health().items() if h.state != "ok"]
            except Exception:  # noqa: BLE001
                pass
        tail = f"  [{', '.join(bad)}]" if bad else ""
        return (f"rec {self._span_s():6.1f} s data / {wall:6.1f} s  {size / 1e6:7.1f} MB  "
                f"{per}{tail}")


def _current_info(sources: Sequence[Any], stream: str, fallback: list[Any]) -> Any:
    for src in sources:
        try:
            for info in src.streams:
                if info.stream == stream:
                    return info
        except Exception:  # noqa: BLE001 - use what was known at start
            break
    return next(i for i in fallback if i.stream == stream)


def _drain(src: Any, on_sample: Callable[[Sample], None], stop: threading.Event,
           stats: CaptureStats) -> None:
    try:
        for s in src.iter_samples():
            on_sample(s)
            if stop.is_set():
                break
    except Exception as exc:  # noqa: BLE001 - reported in the summary; the file stays valid
        stats.write_errors.append(f"{src!r}: {exc}")


def _ended(src: Any) -> bool:
    try:
        h = src.health()
    except Exception:  # noqa: BLE001
        return False
    return bool(h) and all(getattr(v, "ended", False) for v in h.values())


def config_profile(config: str) -> Path | None:
    """The ``profile = "..."`` of a daemon config used as ``--config`` (relative to the file),
    so a recording made with the robot's own config carries its calibration."""
    from edgebind.fileio import parse_toml
    path = Path(config)
    try:
        doc = parse_toml(path.read_bytes(), str(path))
    except (OSError, ValueError):   # hostile nesting included (parse_toml turns it into one)
        return None   # load_stream_configs reports a bad config with its own message
    value = doc.get("profile")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}: key 'profile' expected the path of a calibration profile, "
                         f"got {value!r}")
    try:
        p = resolve_path(value, path.parent)
    except ValueError as exc:
        raise ValueError(f"{path}: key 'profile' expected {exc}, got {value!r:.80}") from None
    if not p.is_file():
        raise FileNotFoundError(f"{path}: key 'profile': calibration profile {p} does not exist")
    return p
