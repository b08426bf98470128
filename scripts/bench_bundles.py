"""The README's bundle speed table: torch eager vs ONNX Runtime FP32 vs INT8 (the variant made for
this CPU), batch 1 and 8, every variant in its own process (``edgebind bench``); prints JSON and
writes it to ``--out``.

    python scripts/bench_bundles.py --out docs/bench/bundles-x86-vnni.json

Bundles: the ``small`` preset (random weights; exported here with INT8 for every CPU target and
the torch state dict for the eager comparison) and the shipped default bundle (its INT8 and FP32
variants; no torch tower ships with it). The report names the CPU: figures from another CPU are
other figures, so keep one file per machine (the name carries its INT8 target).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL_TOWERS = "vision,audio,imu,text"


def bench(bundle: Path, modalities: str, batches: str, seconds: float, threads: int | None,
          torch: bool) -> dict:
    cmd = [sys.executable, "-m", "edgebind.cli", "bench", "--bundle", str(bundle),
           "--modalities", modalities, "--batch", batches, "--seconds", str(seconds), "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    if torch:
        cmd.append("--compare-torch")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"edgebind bench failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def table(report: dict) -> dict:
    """Per tower: throughput per precision at the largest batch, and the ratios."""
    out = {}
    for row in report["results"]:
        if "batches" not in row or row.get("for_this_cpu") is False:
            continue
        p = "int8" if row["precision"].startswith("int8") else row["precision"]
        big = max(row["batches"], key=int)
        t = out.setdefault(row["modality"], {"batch": int(big)})
        t[p] = round(row["batches"][big]["throughput_per_s"], 2)
        t[f"{p}_batch1_p50_ms"] = round(row["batches"]["1"]["p50_ms"], 2) if "1" in row["batches"] else None
        if p == "int8":
            t["int8_variant"] = row["precision"]
            t["int8_centred_cosine"] = round(row.get("vs_fp32", {}).get("centred_cosine_mean", float("nan")), 5)
    for t in out.values():
        if "int8" in t and "fp32" in t:
            t["int8_over_fp32"] = round(t["int8"] / t["fp32"], 2)
        if "int8" in t and "torch-eager" in t:
            t["int8_over_torch"] = round(t["int8"] / t["torch-eager"], 2)
        if "fp32" in t and "torch-eager" in t:
            t["fp32_over_torch"] = round(t["fp32"] / t["torch-eager"], 2)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--batch", default="1,8")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--skip-small", action="store_true")
    args = p.parse_args()
    from edgebind.assets import default_bundle_path
    from edgebind.runtime.cpu import detect
    result = {"cpu": detect().to_dict(), "batch": args.batch, "threads": args.threads, "bundles": {}}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_small:
            small = Path(tmp) / "small"
            subprocess.run([sys.executable, "-m", "edgebind.cli", "export", "--model", "small",
                            "--modalities", SMALL_TOWERS, "--precision", "fp32,int8,torch",
                            "--int8-form", "dynamic", "--target", "all", "--out", str(small),
                            "--quiet"], check=True)
            rep = bench(small, SMALL_TOWERS, args.batch, args.seconds, args.threads, torch=True)
            result["bundles"]["small"] = {"table": table(rep), "bench": rep}
        default = default_bundle_path()
        rep = bench(default, "vision,audio,depth,thermal,imu", args.batch, args.seconds,
                    args.threads, torch=False)
        result["bundles"]["default"] = {"table": table(rep), "bench": rep}
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
