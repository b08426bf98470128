#!/usr/bin/env python
"""Benchmark: load one tower out of a huge-sized ImageBind checkpoint; prints JSON.

Writes a checkpoint with random weights in the ``imagebind_huge`` layout (the full 4.8 GB state
dict with ``--full``, or only ``--towers``), then for each ``--load`` tower runs a fresh
subprocess that calls ``edgebind.models.load_checkpoint(path, modalities=[tower])`` and reports
wall time and peak RSS (``ru_maxrss``) before and after loading, and after touching every weight
(which pages the mapped tensors in).

    python scripts/bench_checkpoint_load.py --full --load imu vision
    python scripts/bench_checkpoint_load.py --towers depth imu --load imu
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgebind.modality import MODALITIES

HEADROOM = 2 << 30  # bytes of disk to leave free beyond the file


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_checkpoint(path: Path, config: str, towers: list[str]) -> dict:
    import torch

    from edgebind.models import build
    from edgebind.models.heads import FIXED_LOGIT_SCALES

    meta = build(config, modalities=towers, device="meta").state_dict()
    nbytes = sum(t.numel() * t.element_size() for t in meta.values())
    free = shutil.disk_usage(path.parent).free
    if nbytes + HEADROOM > free:
        raise SystemExit(f"need {nbytes / 1e9:.1f} GB + headroom on {path.parent}, only "
                         f"{free / 1e9:.1f} GB free; choose fewer --towers")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    sd = {}
    for key, t in meta.items():
        if key.endswith("text.mask"):
            sd[key] = torch.full(t.shape, -math.inf).triu_(1)
        elif key.endswith("log_logit_scale") and ".text." not in key:
            sd[key] = torch.tensor(math.log(FIXED_LOGIT_SCALES[key.split(".")[1]]))
        else:
            sd[key] = torch.empty(t.shape, dtype=t.dtype).uniform_(-0.02, 0.02, generator=gen)
    torch.save(sd, path)
    return {"file": str(path), "file_bytes": path.stat().st_size, "towers_in_file": towers,
            "write_s": round(time.perf_counter() - t0, 2)}


def child(path: str, tower: str, touch: bool) -> None:
    """Runs in a fresh interpreter: import, then measure one load."""
    import torch

    from edgebind.models import load_checkpoint

    torch.set_num_threads(1)
    before, before_now = _rss_mb(), _current_rss_mb()
    t0 = time.perf_counter()
    model = load_checkpoint(path, config="imagebind_huge", modalities=[tower])
    load_s = time.perf_counter() - t0
    after, after_now = _rss_mb(), _current_rss_mb()
    result = {"tower": tower, "load_s": round(load_s, 3),
              "peak_rss_before_load_mb": round(before, 1),
              "peak_rss_after_load_mb": round(after, 1),
              "rss_before_load_mb": round(before_now, 1),
              "rss_after_load_mb": round(after_now, 1),
              "tower_param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
              "tower_state_bytes": sum(t.numel() * t.element_size()
                                       for t in model.state_dict().values())}
    if touch:
        t0 = time.perf_counter()
        with torch.no_grad():
            float(sum(p.double().sum() for p in model.parameters()))
        result["touch_all_weights_s"] = round(time.perf_counter() - t0, 3)
        result["peak_rss_after_touch_mb"] = round(_rss_mb(), 1)
        result["rss_after_touch_mb"] = round(_current_rss_mb(), 1)
    print(json.dumps(result))


def _run_json(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="write every tower (~4.8 GB)")
    ap.add_argument("--towers", nargs="+", choices=MODALITIES, default=None,
                    help="towers to write (default: all with --full, else depth imu)")
    ap.add_argument("--load", nargs="+", choices=MODALITIES, default=["imu"],
                    help="towers to load, each in its own fresh process")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="use this existing checkpoint instead of writing one")
    ap.add_argument("--keep", action="store_true", help="keep the written checkpoint")
    ap.add_argument("--no-touch", action="store_true", help="skip paging in the loaded weights")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "TOWER"), help=argparse.SUPPRESS)
    ap.add_argument("--write-to", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], not args.no_touch)
        return 0
    if args.write_to:
        print(json.dumps(write_checkpoint(args.write_to, "imagebind_huge", args.towers)))
        return 0

    towers = args.towers or (list(MODALITIES) if args.full else ["depth", "imu"])
    missing = sorted(set(args.load) - set(towers))
    if args.checkpoint is None and missing:
        ap.error(f"--load {missing} not among the written towers {towers}")
    workdir = Path(tempfile.mkdtemp(prefix="edgebind-bench-", dir=args.dir))
    try:
        if args.checkpoint is not None:
            report = {"file": str(args.checkpoint), "file_bytes": args.checkpoint.stat().st_size}
        else:
            # Write in a child too: a child's ru_maxrss starts at its parent's RSS at fork time,
            # so this process must never hold the multi-GB state dict.
            cmd = [sys.executable, __file__, "--write-to",
                   str(workdir / "imagebind_huge_random.pth"), "--towers", *towers]
            report = _run_json(cmd)
        report["loads"] = []
        for tower in args.load:
            cmd = [sys.executable, __file__, "--child", report["file"], tower]
            if args.no_touch:
                cmd.append("--no-touch")
            report["loads"].append(_run_json(cmd))
        print(json.dumps(report, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
