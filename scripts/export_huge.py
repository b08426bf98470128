#!/usr/bin/env python3
"""Exercise the huge-size export path (ONNX external data for towers over 2 GB) and print JSON:
wall time, peak RSS of the export process, files and sizes, and parity to torch.

Not run in CI (it needs ~15 GB of memory and minutes of CPU). Example:
    python scripts/export_huge.py --modalities vision --precision fp32 --out /tmp/huge-bundle
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modalities", default="vision")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--out", type=Path, default=Path("/tmp/edgebind-huge-bundle"))
    p.add_argument("--keep", action="store_true", help="keep the bundle afterwards")
    args = p.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    cmd = [sys.executable, "-m", "edgebind.cli", "export", "--model", "imagebind_huge",
           "--modalities", args.modalities, "--precision", args.precision, "--out", str(args.out),
           "--int8-form", "dynamic", "--quiet", "--json"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if r.returncode != 0:
        print(json.dumps({"error": r.stderr[-2000:], "wall_s": wall}))
        return 1
    manifest = json.loads(r.stdout)
    files = {f.name: f.stat().st_size for f in sorted(args.out.iterdir())}
    result = {"modalities": args.modalities, "precision": args.precision, "wall_s": round(wall, 1),
              "peak_rss_mb": round(peak_mb), "files_bytes": files,
              "parity_vs_torch": {m: {p: v.get("parity_vs_torch", {}).get("max_abs_diff")
                                      for p, v in e["variants"].items()}
                                  for m, e in manifest["encoders"].items()},
              "external_data": {m: {p: [x["file"] for x in v["external_data"]]
                                    for p, v in e["variants"].items()}
                                for m, e in manifest["encoders"].items()}}
    t0 = time.perf_counter()
    code = ("import json,sys,resource,time; sys.modules['torch']=None\n"
            "from edgebind.runtime import load_bundle\n"
            "t=time.perf_counter(); b=load_bundle(sys.argv[1], warmup=True)\n"
            "print(json.dumps({'load_s': time.perf_counter()-t, "
            "'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))")
    r = subprocess.run([sys.executable, "-c", code, str(args.out)], capture_output=True, text=True)
    result["runtime_load"] = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-500:]}
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
