"""INT8 vs FP32 on the held-out evaluation, per tower and per CPU target; prints one JSON object.

    python scripts/int8_accuracy.py                        # the shipped default bundle, 400 windows
    python scripts/int8_accuracy.py --qemu-avx2 48         # + the AVX2 kernels, emulated

For every tower with an FP32 variant and every quantized variant: zero-shot top-1 agreement with
FP32 over the anchors, both variants' zero-shot top-1, centred cosine (edgebind.evaluation.quant), on
this machine's CPU (named in the output). ``--qemu-avx2 N`` repeats it on N of the windows
inside ``qemu-x86_64 -cpu Haswell`` (Debian's qemu-user), where ONNX Runtime runs its AVX2
(no VNNI) kernels: each variant's golden-set check there, and what each computes, including the
s8 variant a real AVX2 device refuses. Also: the golden sets' size and the time
``load_bundle`` spends checking the variants it picks here.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_check(bundle: Path, threads: int | None) -> dict:
    from edgebind.runtime import load_bundle
    t0 = time.perf_counter()
    with load_bundle(bundle, threads=threads) as b:
        total = time.perf_counter() - t0
        checks = {m: c.to_dict() for m, c in b.choices.items()}
    golden = sum(e.golden.bytes for e in b.manifest.encoders.values() if e.golden)
    return {"load_seconds": round(total, 3), "golden_bytes": golden,
            "check_seconds": round(sum((c["check"] or {}).get("seconds", 0) for c in checks.values()), 3),
            "picked": {m: {"variant": c["variant"], "status": c["status"]} for m, c in checks.items()}}


def emulated(bundle: Path, anchors: Path, data: dict, n: int, threads: int | None) -> dict:
    """The AVX2 half: this script's worker inside qemu-x86_64 -cpu Haswell."""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        return {"error": "qemu-x86_64 not installed (apt-get install qemu-user)"}
    with tempfile.TemporaryDirectory() as tmp:
        arrays = Path(tmp) / "heldout.npz"
        np.savez(arrays, **{k: v[:n] for k, v in data.items()})
        r = subprocess.run([qemu, "-cpu", "Haswell", sys.executable, __file__, "--worker",
                            str(bundle), str(anchors), str(arrays), str(threads or 0)],
                           capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def worker(bundle: str, anchors: str, arrays: str, threads: int) -> dict:
    """Inside the emulator: golden-set checks and faithfulness of every variant."""
    from edgebind.evaluation import quant as Q
    from edgebind.evaluation import anchors_from_file
    from edgebind.runtime.cpu import detect
    from edgebind.runtime.manifest import Manifest
    from edgebind.sim import EVENTS
    manifest = Manifest.read(Path(bundle) / "manifest.json")
    data = dict(np.load(arrays))
    anchor_emb = anchors_from_file(anchors, EVENTS, manifest.space_id)
    out = {"cpu": detect().to_dict(), "n": int(len(data["events"])), "towers": {}}
    for m in Q.TOWERS:
        if m not in data or m not in manifest.encoders:
            continue
        x = Q.model_input(manifest, m, data[m])
        ref = Q.embed(bundle, m, "fp32", x, threads or None)
        rows = {}
        for key in Q.quantized_variants(manifest, m):
            got = Q.embed(bundle, m, key, x, threads or None, check=False)
            row = Q.faithfulness(ref, got, anchor_emb, data["events"])
            try:
                Q.embed(bundle, m, key, x[:1], threads or None)
                row["golden_check"] = "passed"
            except Exception as exc:
                row["golden_check"] = f"refused: {exc}"[-200:]
            rows[key] = {"targets": manifest.encoders[m].variants[key].targets, **row}
        out["towers"][m] = rows
    return out


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        print(json.dumps(worker(*sys.argv[2:5], int(sys.argv[5]))))
        return 0
    from edgebind.evaluation import quant as Q
    from edgebind.assets import default_anchors_path, default_bundle_path
    from edgebind.runtime.cpu import detect
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=None, help="default: the shipped default bundle")
    p.add_argument("--anchors", type=Path, default=None, help="default: the shipped anchors")
    p.add_argument("--seed", type=int, default=7, help="held-out seed (edgebind eval's default)")
    p.add_argument("--n", type=int, default=400, help="held-out windows (default 400)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--qemu-avx2", type=int, default=0, metavar="N",
                   help="also run N of the windows under qemu-x86_64 -cpu Haswell (AVX2 kernels)")
    args = p.parse_args()
    bundle = args.bundle or default_bundle_path()
    anchors = args.anchors or default_anchors_path()
    report = {"bundle": str(bundle), "cpu": detect().to_dict(),
              **Q.evaluate_variants(bundle, anchors, seed=args.seed, n=args.n, threads=args.threads)}
    report["load"] = load_check(bundle, args.threads)
    if args.qemu_avx2:
        data, _ = Q.heldout(bundle, args.seed, args.qemu_avx2)
        report["emulated_avx2"] = emulated(bundle, anchors, dict(data.arrays), args.qemu_avx2,
                                           args.threads)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
