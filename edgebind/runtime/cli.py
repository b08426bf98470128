"""``edgebind bundle``: what a bundle computes on this machine.

    edgebind bundle check BUNDLE [--json]

Runs every variant of every encoder that can run here on the encoder's golden set (inputs and
FP32 reference embeddings shipped in the bundle), and prints its agreement with the reference,
its threshold, its speed here, and which variant ``load_bundle`` picks for this CPU (with any
fallback). Exit status 0 when every encoder has a variant that computes correctly here, 1 when
one has none, 3 with ``--strict`` when any encoder had to fall back.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from edgebind.runtime import bundle as B
from edgebind.runtime import cpu as cpu_info
from edgebind.runtime import golden as golden_set
from edgebind.runtime.manifest import BundleError, Manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = __doc__.split("\n\n", 1)[1] + (
        "\nexamples:\n  edgebind bundle check bundles/small\n"
        "  EDGEBIND_CPU_TARGET=x86-avx2 edgebind bundle check bundles/small --json")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="each variant's golden-set agreement and speed on this machine",
                       description="Each variant's golden-set agreement and speed on this "
                                   "machine, and the variant picked for this CPU.")
    c.add_argument("bundle", type=Path, help="bundle directory")
    c.add_argument("--modalities", default=None, help="comma-separated subset (default: all)")
    c.add_argument("--target", default=None, choices=cpu_info.TARGETS,
                   help="pick INT8 variants as if this CPU were this target (default: detected)")
    c.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    c.add_argument("--repeat", type=int, default=3, help="timed runs per variant (default 3)")
    c.add_argument("--strict", action="store_true", help="exit 3 when any encoder falls back")
    c.add_argument("--json", action="store_true", help="print one JSON document")


def check_bundle(path: Path, modalities: list[str] | None = None, target: str | None = None,
                 threads: int | None = None, repeat: int = 3) -> dict[str, Any]:
    """The report ``edgebind bundle check`` prints (see the module docstring)."""
    machine = cpu_info.detect()
    if target is not None:
        machine = cpu_info.CpuInfo(machine.machine, machine.model, machine.flags, target, True)
    manifest = Manifest.read(Path(path) / B.MANIFEST)
    mods = modalities or list(manifest.encoders)
    report: dict[str, Any] = {"bundle": str(path), "space_id": manifest.space_id,
                              "cpu": machine.to_dict(), "encoders": {}}
    for m in mods:
        if m not in manifest.encoders:
            raise BundleError(f"{path}: has no {m!r} encoder; it has {', '.join(manifest.encoders)}")
        entry = manifest.encoders[m]
        gold = B._golden(Path(path), entry)
        rows = [_variant_row(Path(path), manifest, m, key, gold, machine.target, threads, repeat)
                for key in entry.variants]
        try:
            with B.load_bundle(path, modalities=[m], threads=threads, target=machine.target,
                               verify=False) as b:
                picked: dict[str, Any] = b.choices[m].to_dict()
        except BundleError as exc:
            picked = {"error": str(exc)}
        report["encoders"][m] = {"golden_n": len(gold) if gold else 0, "variants": rows,
                                 "picked": picked}
    return report


def _variant_row(root: Path, manifest: Manifest, m: str, key: str, gold, target: str | None,
                 threads: int | None, repeat: int) -> dict[str, Any]:
    v = manifest.encoders[m].variants[key]
    row: dict[str, Any] = {"variant": key, "precision": v.family, "targets": v.targets,
                           "for_this_cpu": B._for_target(v, target)}
    be = B._natural_backend(v)
    if not B._backend_usable(be):
        return {**row, "runs_here": False, "why": f"needs the {be} backend"}
    try:
        enc = B._open(root, manifest, m, be, v, threads)
    except Exception as exc:
        return {**row, "runs_here": False, "why": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        if gold is None:
            return {**row, "runs_here": True, "check": None, "why": "no golden set in the bundle"}
        result = golden_set.check(enc, gold, B._threshold(v), key)
        row.update(runs_here=result.error is None, check=result.to_dict())
        if result.error is None:
            row["speed"] = _speed(enc, gold, repeat)
        return row
    finally:
        enc.close()


def _speed(enc, gold, repeat: int) -> dict[str, float]:
    def median_ms(x) -> float:
        times = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            enc.embed(x)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)
    one = median_ms(gold.inputs[:1])
    all_ = median_ms(gold.inputs)
    return {"batch1_ms": round(one, 3), f"batch{len(gold)}_ms_per_input": round(all_ / len(gold), 3)}


def _print(report: dict[str, Any]) -> None:
    cpu = report["cpu"]
    print(f"bundle {report['bundle']}  (space {report['space_id']})")
    print(f"cpu    {cpu['model'] or cpu['machine']}: {cpu['isa']}, INT8 target {cpu['target']}"
          f"{' (overridden)' if cpu['target_overridden'] else ''}, {cpu['cores']} cores")
    for m, e in report["encoders"].items():
        picked = e["picked"]
        head = (f"-> {picked['variant']} ({picked['status']})" if "variant" in picked
                else f"-> NONE: {picked['error']}")
        print(f"\n{m}  golden set: {e['golden_n']} inputs  {head}")
        for r in e["variants"]:
            tgt = "any CPU" if not r["targets"] else ", ".join(r["targets"])
            mark = "" if r["for_this_cpu"] else "  (not for this CPU)"
            if not r.get("runs_here"):
                print(f"  {r['variant']:10s} {tgt:18s} does not run here: {r.get('why') or r['check']['error']}")
                continue
            c = r.get("check")
            if c is None:
                print(f"  {r['variant']:10s} {tgt:18s} unverified ({r['why']}){mark}")
                continue
            sp = r["speed"]
            per = next(v for k, v in sp.items() if k.endswith("per_input"))
            print(f"  {r['variant']:10s} {tgt:18s} agreement {c['agreement_min']:.5f} "
                  f"(threshold {c['threshold']:.4f}) {'ok  ' if c['passed'] else 'FAIL'}  "
                  f"batch 1 {sp['batch1_ms']:.2f} ms, {per:.2f} ms/input batched{mark}")


def run(args: argparse.Namespace) -> int:
    mods = [x.strip() for x in args.modalities.split(",")] if args.modalities else None
    report = check_bundle(args.bundle, mods, args.target, args.threads, args.repeat)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    picked = [e["picked"] for e in report["encoders"].values()]
    if any("error" in p for p in picked):
        return 1
    if args.strict and any(p.get("status") == "fallback" for p in picked):
        return 3
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="edgebind bundle")
    add_arguments(p)
    sys.exit(run(p.parse_args()))
