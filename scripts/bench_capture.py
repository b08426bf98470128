"""Capture benchmark: prints one JSON object.

1. ``capture_windowing``: CPU use (process CPU seconds / wall seconds; 1.0 = one core busy) of
   sustained capture + window assembly of camera 30 fps 640×480 (OpenCV decoding a generated
   MJPG video, paced in real time, like a USB webcam's MJPG stream), audio 16 kHz, IMU 400 Hz
   and thermal 8 Hz 160×120 (replayed from an MCAP recording of the simulated world, paced in
   real time), all through real sources in their capture threads.
2. ``windowing_only``: the assembler alone on the same sample mix (CPU per second of data).
3. ``capture_recording``: the same sources recorded with ``edgebind record``'s code path.
4. ``recording``: RecordingWriter throughput writing that mix as fast as possible (MB/s of sensor data
   in, MB/s of file out, × real time).
5. ``replay``: reading it back as fast as possible (× real time, MB/s).

    .venv/bin/python scripts/bench_capture.py [--seconds 10] [--compression zstd]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgebind.record import RecordingWriter, open_recording  # noqa: E402
from edgebind.sample import Sample, StreamInfo  # noqa: E402
from edgebind.sensors.windows import WindowAssembler  # noqa: E402

NS = 1_000_000_000


def make_video(path: Path, seconds: float = 4.0, fps: int = 30) -> None:
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    if not w.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 6)
    for i in range(int(seconds * fps)):
        f = np.roll(base, i * 7, axis=1)
        cv2.circle(f, (50 + i * 15 % 540, 240), 40, (255, 200, 0), -1)
        w.write(f)
    w.release()


def make_sensor_recording(path: Path, seconds: float) -> list[StreamInfo]:
    """mic 16 kHz, imu 400 Hz, thermal 8 Hz from the simulated world, into an MCAP file."""
    from edgebind.sim import World
    world = World("default", seed=0, duration_s=seconds, start_ns=NS)
    want = ["thermal", "mic", "imu"]
    infos = [i for i in world.stream_infos if i.stream in want]
    with RecordingWriter(path, overwrite=True) as rec:
        for info in infos:
            rec.add_stream(info)
        for s in world.samples(want):
            rec.write(s)
    return infos


def cpu_run(fn, *args) -> dict:
    t0, c0 = time.monotonic(), time.process_time()
    extra = fn(*args) or {}
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "cpu_fraction": round(cpu / wall, 3), **extra}


def live_sources(video: Path, sensors: Path):
    from edgebind.sensors.sources.camera import CameraSource
    from edgebind.sensors.sources.replay import ReplaySource
    cam = CameraSource("camera", path=video, rate_hz=30.0, realtime=True, loop=True)
    rep = ReplaySource(sensors, name="sensors", speed=1.0, rebase=True, loop=True)
    return [cam, rep]


def capture_windowing(video: Path, sensors: Path, seconds: float) -> dict:
    sources = live_sources(video, sensors)
    infos = [i for s in sources for i in s.streams]
    wa = WindowAssembler(infos, window_s=2.0, hop_s=0.5, imu_rows=2000)
    lock = threading.Lock()
    sets: list = []
    counts: dict[str, int] = {}
    lat: list[float] = []

    def on_sample(s: Sample) -> None:
        wa.push(s)
        counts[s.stream] = counts.get(s.stream, 0) + 1

    def consumer(stop: threading.Event) -> None:
        while not stop.wait(0.05):
            t = time.perf_counter()
            with lock:
                got = wa.poll()
            if got:
                lat.append(time.perf_counter() - t)
                sets.extend(got)

    stop = threading.Event()
    th = threading.Thread(target=consumer, args=(stop,), daemon=True)
    for s in sources:
        s.start(on_sample)
    th.start()
    time.sleep(seconds)
    stop.set()
    th.join()
    for s in sources:
        s.stop()
    dropped = {k: h.dropped for s in sources for k, h in s.health().items()}
    full = sum(1 for ws in sets if len(ws.windows) == 4)
    return {"samples": counts, "source_dropped": dropped, "window_sets": len(sets),
            "complete_window_sets": full,
            "poll_ms_p50": round(1000 * float(np.median(lat)), 3) if lat else None,
            "assembler": {k: wa.stats[k] for k in ("late", "out_of_order", "clock_jumps",
                                                    "invalid", "skipped")}}


def synthetic_mix(seconds: float, sensors: Path, video: Path) -> list[Sample]:
    """The same mix as the live run, in memory (frames decoded once from the video)."""
    import cv2
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    cap.release()
    out = [Sample("camera", "vision", NS + int(i * NS / 30), frames[i % len(frames)])
           for i in range(int(seconds * 30))]
    with open_recording(sensors) as rec:
        out += [s for s in rec.samples(speed=None) if s.t_ns < NS + seconds * NS]
    out.sort(key=lambda s: s.t_ns)
    return out


def windowing_only(samples: list[Sample], infos: list[StreamInfo], seconds: float) -> dict:
    wa = WindowAssembler(infos, window_s=2.0, hop_s=0.5, imu_rows=2000)
    n = 0
    for s in samples:
        wa.push(s)
        n += len(wa.poll())
    n += len(wa.flush())
    return {"window_sets": n, "data_s": seconds}


def capture_recording(video: Path, sensors: Path, seconds: float, out: Path, comp: str) -> dict:
    from edgebind.record.capture import capture
    stats = capture(live_sources(video, sensors), out, duration_s=seconds, compression=comp,
                    overwrite=True)
    d = stats.to_dict()
    return {"messages": d["total_messages"], "file_mb": round(d["bytes"] / 1e6, 2),
            "source_dropped": d["source_dropped"], "stopped_by": d["stopped_by"]}


def record_throughput(samples: list[Sample], infos: list[StreamInfo], out: Path, comp: str,
                      seconds: float) -> dict:
    raw = sum(s.data.nbytes + (0 if s.row_t_ns is None else s.row_t_ns.nbytes) for s in samples)
    t0 = time.perf_counter()
    with RecordingWriter(out, compression=comp, overwrite=True) as rec:
        for info in infos:
            rec.add_stream(info)
        for s in samples:
            rec.write(s)
    wall = time.perf_counter() - t0
    size = out.stat().st_size
    return {"data_s": seconds, "wall_s": round(wall, 3), "raw_mb": round(raw / 1e6, 2),
            "file_mb": round(size / 1e6, 2), "raw_mb_per_s": round(raw / 1e6 / wall, 2),
            "file_mb_per_s": round(size / 1e6 / wall, 2),
            "x_real_time": round(seconds / wall, 2)}


def replay_speed(path: Path, seconds: float) -> dict:
    t0 = time.perf_counter()
    n = raw = 0
    with open_recording(path) as rec:
        for s in rec.samples(speed=None):
            n += 1
            raw += s.data.nbytes
    wall = time.perf_counter() - t0
    return {"messages": n, "wall_s": round(wall, 3), "raw_mb_per_s": round(raw / 1e6 / wall, 2),
            "x_real_time": round(seconds / wall, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="live phases, each (default 10)")
    ap.add_argument("--data-seconds", type=float, default=6.0,
                    help="seconds of data for the offline phases (default 6)")
    ap.add_argument("--compression", default="zstd", choices=("zstd", "lz4", "none"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        video, sensors = d / "cam.avi", d / "sensors.mcap"
        make_video(video)
        sensor_infos = make_sensor_recording(sensors, max(args.data_seconds, 8.0))
        cam_info = StreamInfo("camera", "vision", 30.0, (480, 640, 3), "RGB uint8")
        infos = [cam_info, *sensor_infos]
        mix = synthetic_mix(args.data_seconds, sensors, video)
        result = {
            "benchmark": "capture", "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in os.getloadavg()],
            "streams": "camera 30 fps 640x480 (MJPG file, OpenCV), mic 16 kHz mono, imu 400 Hz "
                       "(20-row batches), thermal 8 Hz 160x120 (MCAP replay of the sim world)",
            "window": {"window_s": 2.0, "hop_s": 0.5, "imu_rows": 2000},
            "capture_windowing": cpu_run(capture_windowing, video, sensors, args.seconds),
            "windowing_only": cpu_run(windowing_only, mix, infos, args.data_seconds),
            "capture_recording": cpu_run(capture_recording, video, sensors, args.seconds,
                                         d / "live.mcap", args.compression),
            "recording": record_throughput(mix, infos, d / "rec.mcap", args.compression,
                                           args.data_seconds),
        }
        result["windowing_only"]["cpu_per_data_s"] = round(
            result["windowing_only"]["cpu_s"] / args.data_seconds, 4)
        result["replay"] = replay_speed(d / "rec.mcap", args.data_seconds)
        result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
