"""``edgebind replay FILE.mcap``: print a recording's summary, or replay its samples."""
from __future__ import annotations

import argparse
import json
import sys

from edgebind.record.limits import MiB, ReadLimits
from edgebind.record.reader import open_recording


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.mcap", help="recording to read")
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


def run(args: argparse.Namespace) -> int:
    if args.speed < 0:
        raise ValueError("--speed must be >= 0")
    limits = ReadLimits(max_chunk_bytes=max(1, int(args.max_chunk_mib * MiB)),
                        max_ratio=args.max_ratio)
    with open_recording(args.file, limits) as rec:
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
