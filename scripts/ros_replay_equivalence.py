"""Does a ROS 2 bag of the simulated robot replay to the same events as EdgeBind's own
recording of the same world? And how fast does a bag replay? Prints one JSON object.

Writes the world's samples (camera 30 fps, depth, thermal, audio, IMU 400 Hz) once as an
EdgeBind recording and once as a rosbag2 MCAP bag (rosbags' writer, through
``edgebind.record.ros.writer``), then runs the pipeline over each and compares the events
(name, state, start/end/decision times, score to 1e-4). With ``--foreign`` the bag carries no
EdgeBind metadata, as a third party's bag would: streams are named by a topic map and times are
offsets from its first message, so event times are compared relative to each file's first
sample.

    python scripts/ros_replay_equivalence.py [--seconds 60] [--scenario default] [--seed 0]
                                             [--foreign] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

TOPIC_MAP = {"streams": [
    {"topic": "/camera/image_raw", "name": "camera"},
    {"topic": "/depth/image_raw", "name": "depth", "modality": "depth"},
    {"topic": "/thermal/image_raw", "name": "thermal", "modality": "thermal"},
    {"topic": "/mic/audio", "name": "mic"}, {"topic": "/imu/imu", "name": "imu"}]}


def write_both(scenario: str, seed: int, seconds: float, out: Path, foreign: bool) -> dict:
    from edgebind.record import Recorder
    from edgebind.record.ros.writer import RosBagWriter
    from edgebind.sim import World
    world = World(scenario, seed=seed, duration_s=seconds)
    t = time.perf_counter()
    with Recorder(out / "native.mcap") as nat, \
            RosBagWriter(out / "bag", edgebind_metadata=not foreign) as bag:
        for info in world.stream_infos:
            nat.add_stream(info)
            bag.add_stream(info)
        for s in world.samples():
            nat.write(s)
            bag.write(s)
    return {"write_s": round(time.perf_counter() - t, 2)}


def events(path: Path, emb, aset, topics=None) -> tuple[list[dict], dict]:
    from edgebind.detect import Detector, DetectorConfig
    from edgebind.pipeline import Pipeline
    from edgebind.record import open_recording
    t_open = time.perf_counter()
    with open_recording(path, topics=topics) as rec:
        t0 = time.perf_counter()
        open_s = t0 - t_open   # the opening pass over the whole file
        first = None
        n = 0
        for s in rec.samples():          # reading alone: the replay speed of the file
            first = s.t_ns if first is None else min(first, s.t_ns)
            n += 1
        read_s = time.perf_counter() - t0
        infos = list(rec.streams.values())
        pipe = Pipeline([], emb, aset, Detector(aset, DetectorConfig()), [], stream_infos=infos)
        t0, c0 = time.perf_counter(), time.process_time()
        evs = list(pipe.run_sync(rec.samples()))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = [{"name": e.name, "state": e.state, "start": e.start_ns - first,
            "end": None if e.end_ns is None else e.end_ns - first, "t": e.t_ns - first,
            "score": round(float(e.score), 4)} for e in evs]
    return out, {"samples": n, "open_s": round(open_s, 2), "read_s": round(read_s, 2), "pipeline_wall_s": round(wall, 2),
                 "pipeline_cpu_s": round(cpu, 2), "windows": pipe.windows_done}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--foreign", action="store_true",
                    help="bag without EdgeBind metadata, read through a topic map")
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    ap.add_argument("--bundle")
    ap.add_argument("--anchors")
    args = ap.parse_args()
    from edgebind import assets
    from edgebind.anchors import AnchorSet
    from edgebind.embedder import Embedder
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="edgebind-ros-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        res: dict = {"seconds": args.seconds, "scenario": args.scenario, "seed": args.seed,
                     "foreign": args.foreign, "cpu_count": os.cpu_count()}
        res.update(write_both(args.scenario, args.seed, args.seconds, out, args.foreign))
        emb = Embedder.from_bundle(Path(args.bundle) if args.bundle
                                   else assets.default_bundle_path())
        aset = AnchorSet.load(Path(args.anchors) if args.anchors
                              else assets.default_anchors_path(), space_id=emb.space_id)
        native, res["native"] = events(out / "native.mcap", emb, aset)
        bag, res["bag"] = events(out / "bag", emb, aset, TOPIC_MAP if args.foreign else None)
        for k in ("native", "bag"):
            res[k]["read_x_realtime"] = round(   # opening pass + one reading, no pipeline
                args.seconds / max(res[k]["open_s"] + res[k]["read_s"], 1e-9), 1)
            res[k]["pipeline_x_realtime"] = round(
                args.seconds / max(res[k]["pipeline_wall_s"], 1e-9), 1)
        res["events"] = {"native": len(native), "bag": len(bag)}
        res["same_events"] = native == bag
        if native != bag:
            res["first_difference"] = next(
                ({"native": a, "bag": b} for a, b in zip(native, bag) if a != b),
                {"native_count": len(native), "bag_count": len(bag)})
        res["bag_mb"] = round(sum(f.stat().st_size for f in (out / "bag").iterdir()) / 1e6, 1)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(res, indent=2))
    return 0 if res.get("same_events") else 1


if __name__ == "__main__":
    raise SystemExit(main())
