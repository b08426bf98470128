"""``edgebind record``: capture sensor streams (or the simulated world) to an MCAP recording.

Live and simulated recording share one code path: stream configs -> sources
(``edgebind.sensors.config.open_source``) -> :class:`edgebind.record.Recorder`. Each source
delivers samples from its own thread; one lock serialises writes. Ctrl-C (or SIGTERM) stops the
sources and closes the file, so an interrupted recording is complete and valid.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from edgebind.record.writer import Recorder
from edgebind.sample import NS, Sample, require_unique_streams


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  edgebind record --config sensors.toml --out run.mcap --duration 60\n"
        "  edgebind record --sim demo --seed 1 --duration 30 --out demo.mcap\n\n"
        "The config is TOML with one [[streams]] table per source (the daemon's format), e.g.\n"
        "  [[streams]]\n  name = \"cam0\"\n  kind = \"camera\"\n  device = 0\n  fps = 30\n\n"
        "Relative paths in the config are relative to the config file (docs/sensors.md lists\n"
        "every kind and key).\n\n"
        "--duration counts sample time from the first sample; without it, record until Ctrl-C\n"
        "(or until every source ends). Ctrl-C always leaves a complete, valid file; a stream\n"
        "that cannot be opened is recorded empty and its error printed.")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", metavar="FILE", help="TOML file with [[streams]] tables")
    src.add_argument("--sim", nargs="?", const="default", metavar="SCENARIO",
                     help="record the simulated world (scenario, default 'default'); no hardware")
    parser.add_argument("--out", required=True, metavar="FILE.mcap", help="recording to write")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds of sample time to record (required with --sim)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (--sim)")
    parser.add_argument("--speed", type=float, default=0.0,
                        help="simulation pace (--sim): 1 = real time, 0 = as fast as possible "
                             "(default; timestamps are identical either way)")
    parser.add_argument("--profile", metavar="FILE",
                        help="calibration profile (JSON/TOML) to embed as edgebind.calibration "
                             "metadata (default: the config's own `profile = ...`, if any)")
    parser.add_argument("--compression", choices=("zstd", "lz4", "none"), default="zstd",
                        help="MCAP chunk compression (default zstd)")
    parser.add_argument("--chunk-size", type=int, default=1 << 20, metavar="BYTES",
                        help="MCAP chunk size: bounds what a power cut can lose (default 1 MiB)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--fsync", action="store_true", help="force every chunk to disk")
    parser.add_argument("--quiet", action="store_true", help="no status line")
    parser.add_argument("--json", action="store_true", help="print the final summary as JSON")


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


def capture(sources: Sequence[Any], out: str | Path, *, duration_s: float | None = None,
            calibration: dict[str, Any] | None = None, calibration_source: str = "",
            compression: str = "zstd", chunk_size: int = 1 << 20, overwrite: bool = False,
            fsync: bool = False, status: Callable[[str], None] | None = None,
            stop: threading.Event | None = None, status_every_s: float = 1.0) -> CaptureStats:
    """Record every stream of ``sources`` to ``out`` until ``duration_s`` of sample time has
    been written (from the first sample), every source ended, ``stop`` is set, or Ctrl-C.

    Samples at or after ``first + duration_s`` are not written. A stream that stops delivering
    does not block the end: once every other stream is done, a stream silent for 10 % of the
    duration (at least 2 s of wall time) is given up on.
    """
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"--duration must be > 0 seconds, got {duration_s}")
    infos = require_unique_streams(i for s in sources for i in s.streams)
    names = [i.stream for i in infos]
    stop = stop or threading.Event()
    stats = CaptureStats(path=str(out), messages={n: 0 for n in names})
    lock = threading.Lock()
    state: dict[str, Any] = {"first": None, "last": {}, "done": set(), "wall": {},
                             "closed": False}
    end_ns: list[int | None] = [None]

    rec = Recorder(out, compression=compression, chunk_size=chunk_size, overwrite=overwrite,
                   fsync=fsync)
    t_start = time.monotonic()
    try:
        # Channels are added at each stream's first sample: by then the source has opened its
        # device and knows the real rate and shape. Silent streams are added at the end.
        if calibration is not None:
            rec.add_calibration(calibration, source=calibration_source)

        def on_sample(s: Sample) -> None:
            with lock:
                state["wall"][s.stream] = time.monotonic()
                if stop.is_set() or state["closed"]:
                    stats.not_written += 1
                    return
                if state["first"] is None or s.t_ns < state["first"]:
                    # Earliest sample time, not first arrival: sources deliver from their own
                    # threads, so a slightly older sample can arrive second.
                    state["first"] = int(s.t_ns)
                    if duration_s is not None:
                        end_ns[0] = state["first"] + int(round(duration_s * NS))
                if end_ns[0] is not None and s.t_ns >= end_ns[0]:
                    stats.not_written += 1
                    state["done"].add(s.stream)
                    if state["done"] >= set(names):
                        stop.set()
                    return
                if s.stream not in stats.messages:
                    stats.write_errors.append(f"{s.stream}: not a declared stream of any source")
                    return
                try:
                    if s.stream not in rec.streams:
                        rec.add_stream(_current_info(sources, s.stream, infos))
                    rec.write(s)
                except (ValueError, OSError) as exc:   # bad sample: count, keep recording
                    stats.write_errors.append(f"{s.stream}: {exc}")
                    return
                stats.messages[s.stream] += 1
                state["last"][s.stream] = int(s.t_ns)

        started, workers = [], []
        try:
            for src in sources:
                if getattr(src, "kind", "") in _PACED_KINDS:
                    # Simulation and replay wait for us instead of dropping (lossless at any
                    # speed); live devices keep their own thread and count what they drop.
                    th = threading.Thread(target=_drain, args=(src, on_sample, stop, stats),
                                          name=f"record-{src.kind}", daemon=True)
                    th.start()
                    workers.append((src, th))
                else:
                    src.start(on_sample)
                started.append(src)
            last_status = 0.0
            while not stop.wait(0.05):
                now = time.monotonic()
                if all(_ended(src) for src in sources) or (
                        workers and len(workers) == len(sources)
                        and not any(th.is_alive() for _, th in workers)):
                    stats.stopped_by = "sources ended"
                    break
                if duration_s is not None and state["first"] is not None and _stalled(
                        names, state, now, max(2.0, 0.1 * duration_s)):
                    stats.stopped_by = "duration (some streams stopped delivering)"
                    break
                if status is not None and now - last_status >= status_every_s:
                    last_status = now
                    status(_status_line(stats, state, rec, now - t_start, sources))
            else:
                stats.stopped_by = stats.stopped_by or ("duration" if duration_s else "stop")
        except KeyboardInterrupt:
            stats.stopped_by = "interrupted"
        finally:
            stop.set()
            for src in started:
                try:
                    src.stop()
                    for w_src, th in workers:
                        if w_src is src:
                            th.join(5.0)
                except Exception as exc:  # noqa: BLE001 - keep closing the others and the file
                    stats.write_errors.append(f"stopping {src!r}: {exc}")
            for src in sources:
                try:
                    for name, h in src.health().items():
                        stats.source_dropped[name] = int(h.dropped)
                        if h.last_error:
                            stats.source_errors[name] = str(h.last_error)
                except Exception:  # noqa: BLE001 - health is informative only
                    pass
    finally:
        with lock:
            state["closed"] = True
            try:
                for info in infos:
                    if info.stream not in rec.streams:
                        rec.add_stream(_current_info(sources, info.stream, infos))
            finally:
                rec.close()
    stats.wall_s = time.monotonic() - t_start
    stats.bytes_written = Path(out).stat().st_size
    if state["first"] is not None and state["last"]:
        stats.span_s = (max(state["last"].values()) - state["first"]) / NS
    return stats


def run(args: argparse.Namespace) -> int:
    if args.sim is not None:
        if args.duration is None:
            raise ValueError("--sim needs --duration S (the simulated world is finite)")
        if args.speed < 0:
            raise ValueError("--speed must be >= 0")
        tables, config = stream_configs_for_sim(args.sim, args.seed, args.duration,
                                                args.speed), None
    else:
        tables, config = None, args.config
    calibration = None
    profile = args.profile or (_config_profile(args.config) if args.config else None)
    if profile:
        from edgebind.profile import Profile
        calibration = Profile.load(profile).to_dict()
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    sources = open_sources(tables, config)
    status = None if args.quiet else _StatusPrinter()
    stop = threading.Event()
    restore, interrupted = _signals_set(stop)
    try:
        stats = capture(sources, out, duration_s=args.duration, calibration=calibration,
                        calibration_source=str(profile or ""), compression=args.compression,
                        chunk_size=args.chunk_size, overwrite=args.overwrite, fsync=args.fsync,
                        status=status, stop=stop)
    finally:
        restore()
        if status is not None:
            status.close()
    if interrupted:
        stats.stopped_by = "interrupted"
    if args.json:
        print(json.dumps(stats.to_dict(), indent=2))
    else:
        d = stats.to_dict()
        print(f"wrote {d['path']}: {d['total_messages']} messages, {d['bytes'] / 1e6:.2f} MB, "
              f"{d['span_s']:.2f} s of data in {d['wall_s']:.2f} s ({d['stopped_by']})")
        for name, n in d["messages"].items():
            drop = d["source_dropped"].get(name, 0)
            print(f"  {name:<16} {n:>8} msgs" + (f"  ({drop} dropped by the source)" if drop else ""))
            if name in d["source_errors"]:   # why a stream is short or empty
                print(f"  {name}: {d['source_errors'][name]}", file=sys.stderr)
        for line in d["write_errors"]:
            print(f"  error: {line}", file=sys.stderr)
    return 0


# -- helpers ------------------------------------------------------------------------------------
_PACED_KINDS = ("sim", "replay")


def _config_profile(config: str) -> Path | None:
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
    p = Path(value).expanduser()
    p = p if p.is_absolute() else path.parent / p
    if not p.is_file():
        raise FileNotFoundError(f"{path}: key 'profile': calibration profile {p} does not exist")
    return p


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


def _stalled(names: list[str], state: dict[str, Any], now: float, grace_s: float) -> bool:
    """Every stream either reached the end of --duration or has been silent for ``grace_s``
    (a dead live stream must not keep the recording open forever)."""
    done, wall = state["done"], state["wall"]
    return all(n in done or now - wall.get(n, state.setdefault("t_first_wall", now)) > grace_s
               for n in names)


def _status_line(stats: CaptureStats, state: dict[str, Any], rec: Recorder, wall: float,
                 sources: Sequence[Any]) -> str:
    span = 0.0
    if state["first"] is not None and state["last"]:
        span = (max(state["last"].values()) - state["first"]) / NS
    try:
        size = rec.path.stat().st_size
    except OSError:
        size = 0
    per = "  ".join(f"{k} {v}" for k, v in stats.messages.items())
    bad = []
    for src in sources:
        try:
            bad += [f"{k}:{h.state}" for k, h in src.health().items() if h.state != "ok"]
        except Exception:  # noqa: BLE001
            pass
    tail = f"  [{', '.join(bad)}]" if bad else ""
    return f"rec {span:6.1f} s data / {wall:6.1f} s  {size / 1e6:7.1f} MB  {per}{tail}"


class _StatusPrinter:
    """One rewritten line on a terminal; a line every 10 s in logs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, line: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + line[:200].ljust(80))
            sys.stderr.flush()
            self._shown = True
        elif time.monotonic() - self._last >= 10.0:
            self._last = time.monotonic()
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _signals_set(stop: threading.Event) -> tuple[Callable[[], None], list[int]]:
    """Ctrl-C and SIGTERM (systemd, docker stop) end the recording by setting ``stop``: the file
    is closed and valid. Not by raising KeyboardInterrupt: an exception raised between a lock's
    acquire and its ``with`` block (a source's health() runs every 50 ms) would leave the lock
    held and hang the shutdown. A second Ctrl-C interrupts for real. Returns (restore,
    signals received)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        return (lambda: None), received

    def handler(signum, frame):  # noqa: ARG001
        received.append(signum)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    return (lambda: [signal.signal(s, h) for s, h in old.items()] and None), received
