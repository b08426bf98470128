"""``edgebind sim``: look at the simulated world: its events and scenarios, a scenario's
ground-truth timeline, and example clips written as PNG / WAV / CSV files."""
from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np


EXAMPLES = """examples:
  edgebind sim scenarios --json
  edgebind sim timeline demo --seed 1
  edgebind sim clip glass_breaking --out clip"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    sub = parser.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    for name, what in (("events", "list the events and their captions"),
                       ("scenarios", "list the scenarios")):
        p = sub.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        p.add_argument("--json", action="store_true", help="print JSON (one object) instead")
    p = sub.add_parser("timeline", help="print a scenario's ground-truth timeline")
    p.add_argument("scenario", nargs="?", default="default", help="scenario name (default: default)")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("--difficulty", type=float, default=1.0, help="nuisance level (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON (one object) instead of a table")
    p = sub.add_parser("clip", help="write one example window of an event to a folder: vision.png, "
                                    "depth.png, thermal.png, audio.wav, imu.csv, clip.json")
    p.add_argument("event", nargs="?", default=None, help="event name (default: a random one)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--window", type=float, default=2.0, help="window length, seconds (default 2)")
    p.add_argument("--difficulty", type=float, default=1.0, help="nuisance level 0..3 (default 1)")


def _gray_png(a: np.ndarray, lo: float, hi: float, path: Path) -> None:
    from PIL import Image
    v = np.clip((a - lo) / (hi - lo), 0.0, 1.0)
    Image.fromarray((v * 255 + 0.5).astype(np.uint8)).save(path)


def write_clip(clip, out: Path) -> list[Path]:
    """Write a Clip as viewable files; returns the paths written."""
    from PIL import Image
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / n for n in ("vision.png", "depth.png", "thermal.png", "audio.wav", "imu.csv", "clip.json")]
    Image.fromarray(clip.vision).save(paths[0])
    # Depth as inverse depth (near = bright), no return = black.
    inv = np.where(clip.depth > 0, 1.0 / np.maximum(clip.depth, 0.2), 0.0)
    _gray_png(inv, 0.0, 1.0, paths[1])
    _gray_png(clip.thermal, 253.15, 323.15, paths[2])
    with wave.open(str(paths[3]), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(clip.audio, -1, 1) * 32767).astype("<i2").tobytes())
    rows = np.column_stack([clip.imu_t_ns.astype(np.float64), clip.imu.astype(np.float64)])
    np.savetxt(paths[4], rows, delimiter=",", fmt=["%d"] + ["%.6f"] * 6,
               header="t_ns,ax,ay,az,gx,gy,gz", comments="")
    paths[5].write_text(json.dumps({"event": clip.event, "events": list(clip.events), "caption": clip.caption,
                                    "window_s": clip.window_s, **clip.meta}, indent=1))
    return paths


def run(args: argparse.Namespace) -> int:
    from edgebind.sim import CAPTIONS, EVENTS, SCENARIOS, World, sample_clip
    if args.sim_command in ("events", "scenarios"):
        table = ({e: list(CAPTIONS[e]) for e in EVENTS} if args.sim_command == "events"
                 else dict(SCENARIOS))
        if args.json:
            print(json.dumps({args.sim_command: table}))
        else:
            for name, what in table.items():
                print(f"{name:16s} {' | '.join(what) if isinstance(what, list) else what}")
    elif args.sim_command == "timeline":
        w = World(args.scenario, seed=args.seed, duration_s=args.duration, difficulty=args.difficulty)
        items = [{"event": o.event, "t_start_s": o.t_start_ns / 1e9, "t_end_s": o.t_end_ns / 1e9,
                  "caption": o.caption} for o in w.timeline]
        if args.json:
            json.dump({"scenario": args.scenario, "seed": args.seed, "duration_s": args.duration,
                       "timeline": items}, sys.stdout)
            print()
        else:
            for it in items:
                print(f"{it['t_start_s']:8.2f} {it['t_end_s']:8.2f}  {it['event']:16s} {it['caption']}")
    else:
        clip = sample_clip(np.random.default_rng(args.seed), args.event, args.window, args.difficulty)
        paths = write_clip(clip, args.out)
        print(f"{clip.event} ({', '.join(clip.events)}): \"{clip.caption}\" -> "
              + ", ".join(str(p) for p in paths))
    return 0
