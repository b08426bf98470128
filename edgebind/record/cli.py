"""``edgebind record`` and ``edgebind replay``: capture sensor streams (or the simulated world) to
an MCAP recording (``edgebind.record.capture``); print a recording's summary, or replay its
samples (``edgebind.record.reader``)."""
from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from edgebind.record.capture import (FORMATS, CaptureStats, capture, config_profile,
                                     open_sources, stream_configs_for_sim)
from edgebind.record.console import StatusPrinter, stop_on_signals
from edgebind.record.limits import MiB, ReadLimits
from edgebind.record.reader import open_recording


# -- edgebind record ---------------------------------------------------------------------------
def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  edgebind record --config sensors.toml --out run.mcap --duration 60\n"
        "  edgebind record --sim demo --seed 1 --duration 30 --out demo.mcap\n"
        "  edgebind record --sim default --duration 10 --format ros2 --out sim_bag\n\n"
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
    parser.add_argument("--out", required=True, metavar="FILE.mcap",
                        help="recording to write (a folder with --format ros2)")
    parser.add_argument("--format", choices=FORMATS, default="edgebind", dest="fmt",
                        help="edgebind: EdgeBind's MCAP layout (default); ros2: a rosbag2 "
                             "folder (MCAP storage, CDR, standard messages; needs rosbags; "
                             "--compression, --chunk-size and --fsync apply to edgebind only)")
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


def run_record(args: argparse.Namespace) -> int:
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
    profile = args.profile or (config_profile(args.config) if args.config else None)
    if profile:
        from edgebind.profile import Profile
        calibration = Profile.load(profile).to_dict()
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    sources = open_sources(tables, config)
    status = None if args.quiet else StatusPrinter()
    stop = threading.Event()
    restore, interrupted = stop_on_signals(stop)
    try:
        stats = capture(sources, out, duration_s=args.duration, calibration=calibration,
                        calibration_source=str(profile or ""), compression=args.compression,
                        chunk_size=args.chunk_size, overwrite=args.overwrite, fsync=args.fsync,
                        status=status, stop=stop, fmt=getattr(args, "fmt", "edgebind"))
    finally:
        restore()
        if status is not None:
            status.close()
    if interrupted:
        stats.stopped_by = "interrupted"
    _print_capture(stats, args.json)
    return 0


def _print_capture(stats: CaptureStats, as_json: bool) -> None:
    d = stats.to_dict()
    if as_json:
        print(json.dumps(d, indent=2))
        return
    print(f"wrote {d['path']}: {d['total_messages']} messages, {d['bytes'] / 1e6:.2f} MB, "
          f"{d['span_s']:.2f} s of data in {d['wall_s']:.2f} s ({d['stopped_by']})")
    for name, n in d["messages"].items():
        drop = d["source_dropped"].get(name, 0)
        print(f"  {name:<16} {n:>8} msgs" + (f"  ({drop} dropped by the source)" if drop else ""))
        if name in d["source_errors"]:   # why a stream is short or empty
            print(f"  {name}: {d['source_errors'][name]}", file=sys.stderr)
    for line in d["write_errors"]:
        print(f"  error: {line}", file=sys.stderr)


# -- edgebind replay ---------------------------------------------------------------------------
def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="RECORDING",
                        help="recording to read: EdgeBind .mcap, a rosbag2 folder, a ROS 2 "
                             ".mcap/.db3 or a ROS 1 .bag")
    parser.add_argument("--topics", metavar="FILE.toml", default=None,
                        help="ROS bags: topic map ([[streams]] tables: topic, name, modality, "
                             "scale, ...; default <bag>.topics.toml if present)")
    parser.add_argument("--summary", action="store_true",
                        help="print per-channel counts, first/last t_ns and what was skipped")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="replay speed factor: 1 = real time (default), 0 = as fast as "
                             "possible")
    parser.add_argument("--stream", action="append", default=None,
                        help="replay only this stream (repeatable)")
    d = ReadLimits()
    parser.add_argument("--max-chunk-mib", type=float, default=d.max_chunk_bytes / MiB,
                        help="refuse chunks larger than this uncompressed (default "
                             f"{d.max_chunk_bytes // MiB})")
    parser.add_argument("--max-ratio", type=float, default=d.max_ratio,
                        help=f"refuse chunks over {d.ratio_floor_bytes // MiB} MiB that expand "
                             f"more than this many times (default {d.max_ratio:g})")


def run_replay(args: argparse.Namespace) -> int:
    if args.speed < 0:
        raise ValueError("--speed must be >= 0")
    limits = ReadLimits(max_chunk_bytes=max(1, int(args.max_chunk_mib * MiB)),
                        max_ratio=args.max_ratio)
    with open_recording(args.file, limits, topics=getattr(args, "topics", None)) as rec:
        if args.summary:
            s = rec.summary()
            if args.json:
                print(json.dumps(s.to_dict(), indent=2))
            else:
                _print_summary(s)
            return 0
        for sample in rec.samples(streams=args.stream, speed=args.speed or None):
            if args.json:
                print(json.dumps({"stream": sample.stream, "modality": sample.modality,
                                  "t_ns": sample.t_ns, "shape": list(sample.data.shape),
                                  "dtype": str(sample.data.dtype)}), flush=True)
            else:
                print(f"{sample.t_ns:>20d}  {sample.stream:<16} {sample.modality:<8} "
                      f"{sample.data.dtype}{list(sample.data.shape)}", flush=True)
        skipped = rec.summary().skipped
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    return 0


def _print_summary(s) -> None:
    state = "complete" if s.complete else "INCOMPLETE"
    of = (f" of {s.messages_expected} written" if s.messages_expected is not None
          and s.messages_expected != s.message_count else "")
    print(f"{s.path}: {s.file_size} bytes, {s.chunk_count} chunks, {s.message_count} messages"
          f"{of} ({state})")
    if s.metadata.get("wall_time_start"):
        print(f"started {s.metadata['wall_time_start']} (wall clock)")
    for name, c in s.channels.items():
        if not c.message_count:
            print(f"  {name:<16} {c.modality:<8} {c.schema:<20} {0:>8} msgs  (no messages)")
            continue
        span = (c.last_t_ns - c.first_t_ns) / 1e9
        print(f"  {name:<16} {c.modality:<8} {c.schema:<20} {c.message_count:>8} msgs  "
              f"t_ns {c.first_t_ns} .. {c.last_t_ns} ({span:.3f} s)")
    for line in s.skipped:
        print(f"  skipped: {line}")
