"""Memory of long simulated runs; prints one JSON object.

1. ``world``: ``World.samples()`` at speed 0 (as fast as possible) over ``--sim-minutes`` of
   simulated time: RSS every ``--every`` simulated seconds, the slope over the second half
   (MiB per simulated hour and per wall minute), and the largest number of audio/IMU tracks
   and room-cache entries held.
2. ``source``: a :class:`SimSource` without a duration (endless, chained worlds) at speed 0
   through its capture and delivery threads for ``--wall-s`` seconds, the consumer keeping the
   last 400 samples like a window assembler: RSS slope over the second half, MiB/min.

    nice -n 10 python scripts/bench_sim_memory.py --sim-minutes 30 --wall-s 240
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _proc import rss_mib  # noqa: E402  (scripts/ is on sys.path when a script runs)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of the second half of (x, rss) points."""
    x = np.array(points[len(points) // 2:], dtype=np.float64)
    return float(np.polyfit(x[:, 0], x[:, 1], 1)[0]) if len(x) >= 3 else float("nan")


def world_run(args) -> dict:
    from edgebind.sim import World

    world = World(args.scenario, seed=args.seed, duration_s=args.sim_minutes * 60.0)
    it = world.samples(args.streams.split(",") if args.streams else None)
    pts, wall, most_tracks = [], [], 0
    t0, last = time.monotonic(), -1e18
    for s in it:
        sec = (s.t_ns - world.start_ns) / 1e9
        tracks = it.gi_frame.f_locals.get("tracks") if it.gi_frame else None
        if tracks is not None:
            most_tracks = max(most_tracks, len(tracks._audio), len(tracks._imu))
        if sec - last >= args.every:
            last = sec
            pts.append((sec / 3600.0, rss_mib()))
            wall.append((( time.monotonic() - t0) / 60.0, pts[-1][1]))
    return {"sim_s": args.sim_minutes * 60.0, "wall_s": round(time.monotonic() - t0, 1),
            "rss_start_mib": round(pts[0][1], 1), "rss_max_mib": round(max(p[1] for p in pts), 1),
            "rss_end_mib": round(pts[-1][1], 1),
            "slope_mib_per_sim_hour": round(slope(pts), 2),
            "slope_mib_per_wall_min": round(slope(wall), 3),
            "max_tracks_held": most_tracks, "room_cache_entries": len(world.scene.room._cache)}


def source_run(args) -> dict:
    from edgebind.sensors import SimSource

    src = SimSource(scenario=args.scenario, seed=args.seed, duration_s=args.duration, speed=0)
    keep: collections.deque = collections.deque(maxlen=400)
    src.start(keep.append)
    t0 = time.monotonic()
    pts = []
    try:
        while time.monotonic() - t0 < args.wall_s:
            time.sleep(2.0)
            pts.append(((time.monotonic() - t0) / 60.0, rss_mib()))
    finally:
        src.stop()
    h = src.health()
    return {"wall_s": args.wall_s, "samples": sum(v.samples for v in h.values()),
            "dropped": sum(v.dropped for v in h.values()),
            "sim_s": round(h["camera"].samples / 15.0, 1), "worlds": src._run + 1,
            "rss_start_mib": round(pts[0][1], 1), "rss_max_mib": round(max(p[1] for p in pts), 1),
            "rss_end_mib": round(pts[-1][1], 1), "slope_mib_per_wall_min": round(slope(pts), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sim-minutes", type=float, default=10.0, help="world: simulated minutes")
    ap.add_argument("--streams", default="", help="world: comma-separated streams (default all)")
    ap.add_argument("--every", type=float, default=10.0, help="world: RSS every N sim seconds")
    ap.add_argument("--wall-s", type=float, default=120.0, help="source: wall seconds (0: skip)")
    ap.add_argument("--duration", type=float, default=None,
                    help="source: duration_s (default none: endless)")
    args = ap.parse_args()
    out = {"world": world_run(args) if args.sim_minutes > 0 else None}
    out["source"] = source_run(args) if args.wall_s > 0 else None
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
