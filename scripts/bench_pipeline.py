"""Pipeline benchmark; prints one JSON object.

1. Overhead (synchronous mode, as fast as possible, ``--seconds`` of the simulated world): the
   pipeline's own time (window assembly, queueing, detection, sinks, bookkeeping) as a
   percentage of encoder time (preprocessing + model), and of model time alone; and the CPU
   seconds the whole pipeline spends per second of sensor data (five streams). Time spent
   generating the simulated samples is measured and excluded: a real sensor costs nothing here.
   ``--precision fp32 --reference-audio-clips`` measures what the pipeline cost before INT8
   sensor towers and one audio clip per window.
2. Live (``--minutes`` of real time; 30 for the flat-memory soak): a few seconds of the
   simulated world, rendered once, replayed in a loop in real time on the host monotonic
   clock through the threaded pipeline (capture thread →
   assembler → bounded queue → inference worker → JSONL sink). Reports event latency from the
   window's end to its events being handed to the sinks, p50/p99, with and without the model
   time of its batch, drops, and RSS sampled every second (start, max, end, slope over the
   second half in MiB/min).

    python scripts/bench_pipeline.py                       # ~1 minute
    python scripts/bench_pipeline.py --minutes 30          # the soak
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _proc import rss_mib  # noqa: E402  (scripts/ is on sys.path when a script runs)

from edgebind.sample import Sample  # noqa: E402


class RealTimeWorld:
    """A Source replaying ``loop_s`` seconds of a World, rendered once up front, over and over
    in real time, stamped on the host monotonic clock. Rendering in advance keeps the cost of
    simulating sensors out of both the latency and the memory figures."""

    kind = "bench-world"

    def __init__(self, scenario: str, seed: int, duration_s: float, loop_s: float = 8.0):
        from edgebind.sim import World
        world = World(scenario, seed=seed, duration_s=loop_s)
        self.streams = list(world.stream_infos)
        self.clip = list(world.samples())
        self.loop_ns = int(loop_s * 1e9)
        self.duration_ns = int(duration_s * 1e9)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0
        self.behind_s = 0.0

    def start(self, on_sample) -> None:
        def loop() -> None:
            t0 = time.monotonic_ns() + 50_000_000
            k = 0
            while k * self.loop_ns < self.duration_ns:
                for s in self.clip:
                    off = t0 + k * self.loop_ns
                    t = off + int(s.t_ns)
                    wait = (t - time.monotonic_ns()) / 1e9
                    if wait > 0:
                        if self._stop.wait(wait):
                            return
                    else:
                        self.behind_s = max(self.behind_s, -wait)
                    if self._stop.is_set():
                        return
                    row_t = None if s.row_t_ns is None else s.row_t_ns + off
                    on_sample(Sample(s.stream, s.modality, t, s.data, s.meta, row_t))
                    self.samples += 1
                k += 1
        self._thread = threading.Thread(target=loop, name="bench-world", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def health(self) -> dict:
        return {i.stream: {"state": "ok"} for i in self.streams}

    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()


def load(bundle: str | None, anchors: str | None, threads: int | None,
         precision: str | None = None, reference_clips: bool = False):
    from edgebind import assets
    from edgebind.anchors import AnchorSet
    from edgebind.embedder import Embedder
    b = Path(bundle) if bundle else assets.default_bundle_path()
    a = Path(anchors) if anchors else assets.default_anchors_path()
    kw = {"threads": threads} if threads else {}
    if precision:
        kw["precision"] = {m: precision if m != "text" else None for m in
                           ("vision", "audio", "depth", "thermal", "imu")}
    emb = Embedder.from_bundle(b, **kw)
    if reference_clips:
        emb.fold_audio_clips = False
    return emb, AnchorSet.load(a, space_id=emb.space_id), b


def overhead(args, emb, aset) -> dict:
    from edgebind.detect import Detector, DetectorConfig
    from edgebind.pipeline import Pipeline
    from edgebind.sim import World
    world = World(args.scenario, seed=args.seed, duration_s=args.seconds)
    pipe = Pipeline([], emb, aset, Detector(aset, DetectorConfig()), [],
                    stream_infos=world.stream_infos)
    gen_s = gen_cpu = 0.0
    per_modality: dict[str, float] = {}
    embed_batch = emb.embed_batch

    def timed_embed(m, x, *a, **kw):   # model time per tower (the audio-clip saving shows here)
        t = time.perf_counter()
        try:
            return embed_batch(m, x, *a, **kw)
        finally:
            per_modality[m] = per_modality.get(m, 0.0) + time.perf_counter() - t
    emb.embed_batch = timed_embed

    def timed(it):
        nonlocal gen_s, gen_cpu
        it = iter(it)
        while True:
            t, c = time.perf_counter(), time.process_time()
            try:
                s = next(it)
            except StopIteration:
                gen_s += time.perf_counter() - t
                gen_cpu += time.process_time() - c
                return
            gen_s += time.perf_counter() - t
            gen_cpu += time.process_time() - c
            yield s

    t0, c0 = time.perf_counter(), time.process_time()
    n_events = sum(1 for _ in pipe.run_sync(timed(world.samples())))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0 - gen_cpu
    lat = pipe.metrics()["latency"]
    pre, model = lat["preprocess"]["sum"], lat["model"]["sum"]
    own = wall - gen_s - pre - model
    return {"simulated_s": args.seconds, "windows": pipe.windows_done, "events": n_events,
            "wall_s": round(wall, 3), "sample_generation_s": round(gen_s, 3),
            "preprocess_s": round(pre, 3), "model_s": round(model, 3),
            "pipeline_own_s": round(own, 4),
            "overhead_pct_of_encoder": round(100 * own / max(pre + model, 1e-9), 2),
            "overhead_pct_of_model": round(100 * own / max(model, 1e-9), 2),
            "cpu_s_per_sensor_s": round(cpu / args.seconds, 4),
            "model_s_by_modality": {k: round(v, 3) for k, v in per_modality.items()},
            "windows_per_s": round(pipe.windows_done / max(wall - gen_s, 1e-9), 2)}


def live(args, emb, aset) -> dict:
    from edgebind.detect import Detector, DetectorConfig
    from edgebind.pipeline import Pipeline, PipelineConfig
    from edgebind.sinks import make_sink
    duration = args.minutes * 60.0
    src = RealTimeWorld(args.scenario, args.seed, duration + 1.0)
    rss_after_render = rss_mib()
    out = Path(tempfile.mkdtemp(prefix="bench-pipeline-")) / "events.jsonl"
    sink = make_sink({"kind": "jsonl", "path": str(out)}, "bench")
    pipe = Pipeline([src], emb, aset, Detector(aset, DetectorConfig()), [sink],
                    config=PipelineConfig(queue_size=args.queue, lateness_s=args.lateness))
    rss = []
    t_start = time.monotonic()
    pipe.start()
    try:
        while time.monotonic() - t_start < duration and not src.done():
            rss.append((time.monotonic() - t_start, rss_mib()))
            time.sleep(1.0)
    finally:
        pipe.close(drain=True)
    m = pipe.metrics()
    lat = m["latency"]
    t = np.array([r[0] for r in rss])
    v = np.array([r[1] for r in rss])
    half = t >= t[-1] / 2 if len(t) else t
    slope = float(np.polyfit(t[half] / 60.0, v[half], 1)[0]) if half.sum() >= 3 else None

    def ms(stage, q):
        x = lat[stage][q]
        return None if x is None else round(x * 1e3, 2)

    return {"minutes": args.minutes, "windows": m["windows_processed"],
            "windows_dropped": m["windows_dropped"], "events": sum(m["events"].values()),
            "source_behind_max_s": round(src.behind_s, 3),
            "latency_ms": {"window_end_to_emitted_p50": ms("end_to_end", "p50"),
                           "window_end_to_emitted_p99": ms("end_to_end", "p99"),
                           "excl_model_p50": ms("end_to_end_excl_model", "p50"),
                           "excl_model_p99": ms("end_to_end_excl_model", "p99"),
                           "excl_encoder_p50": ms("end_to_end_excl_encoder", "p50"),
                           "excl_encoder_p99": ms("end_to_end_excl_encoder", "p99"),
                           "model_per_batch_p50": ms("model", "p50"),
                           "queue_wait_p50": ms("queue_wait", "p50"),
                           "queue_wait_p99": ms("queue_wait", "p99")},
            "lateness_s": pipe.config.lateness_s,
            "note": "window end -> emitted includes the assembler's lateness wait "
                    "(lateness_s) and waiting for the newest sample past the window end; "
                    "excl_model subtracts the model time of the window's batch, excl_encoder "
                    "also its preprocessing",
            "rss_mib": {"after_rendering_the_clip": round(rss_after_render, 1),
                        "start": round(float(v[0]), 1) if len(v) else None,
                        "max": round(float(v.max()), 1) if len(v) else None,
                        "end": round(float(v[-1]), 1) if len(v) else None,
                        "slope_second_half_mib_per_min": None if slope is None else round(slope, 3),
                        "samples": len(v)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle")
    ap.add_argument("--anchors")
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="simulated seconds for the overhead run (default 30)")
    ap.add_argument("--minutes", type=float, default=0.5,
                    help="real-time minutes for the live run (default 0.5; 30 for the soak)")
    ap.add_argument("--queue", type=int, default=16, help="window queue size")
    ap.add_argument("--lateness", type=float, default=0.1,
                    help="lateness_s of the window assembler (default 0.1, the daemon's)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--precision", default=None,
                    help="sensor towers' precision (default: what load_bundle picks; fp32 = before "
                         "INT8 sensor towers)")
    ap.add_argument("--reference-audio-clips", action="store_true",
                    help="feed the audio tower the reference's 3 clips per window (before)")
    args = ap.parse_args()
    from edgebind.runtime.cpu import detect
    emb, aset, bundle = load(args.bundle, args.anchors, args.threads, args.precision,
                             args.reference_audio_clips)
    res = {"bundle": str(bundle), "cpu_count": os.cpu_count(), "cpu": detect().to_dict(),
           "scenario": args.scenario,
           "encoders": {m: c.variant for m, c in emb.bundle.choices.items()},
           "audio_clips_per_window": "reference (3)" if args.reference_audio_clips else
           ("1 when the window is one clip" if emb.fold_audio_clips else "reference (3)"),
           "overhead": overhead(args, emb, aset)}
    if not args.skip_live:
        res["live"] = live(args, emb, aset)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
