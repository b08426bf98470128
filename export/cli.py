"""``edgebind export``: model -> verified bundle of ONNX / INT8 / FP16 / TensorRT encoders."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgebind.modality import MODALITIES


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = ("Export ImageBind towers to a bundle: ONNX files per modality and precision, "
                     "parity and accuracy reports, a manifest with hashes.\n\nexample:\n"
                     "  edgebind export --model small --modalities vision,audio,imu "
                     "--precision fp32,int8 --target all --out bundles/small\n\n"
                     "INT8 variants are made per CPU target (--target) and each encoder gets a "
                     "golden set,\nso that `load_bundle` on the device checks the variant it "
                     "picks and falls back\n(INT8 -> FP32) when the device computes something "
                     "else. See docs/export.md.")
    p.add_argument("--model", required=True,
                   help="a preset (imagebind_huge, small, tiny: random weights) or a checkpoint "
                        "file such as imagebind_huge.pth")
    p.add_argument("--preset", default=None,
                   help="the architecture of a checkpoint file, if not inferable from its shapes")
    p.add_argument("--modalities", type=_csv, default=list(MODALITIES),
                   help=f"comma-separated towers to export (default: all: {','.join(MODALITIES)})")
    p.add_argument("--precision", type=_csv, default=["fp32"],
                   help="comma-separated: fp32, fp16, int8 (ONNX Runtime CPU), trt-fp16, trt-int8 "
                        "(TensorRT engines: GPU only), torch (state dict for the reference backend)")
    p.add_argument("--out", required=True, type=Path, help="bundle folder to create (must not exist)")
    p.add_argument("--calibration", default=None,
                   help="INT8 calibration and held-out data: a folder of model-ready .npy/.npz "
                        "samples, or generated[:SEED] (default: generated)")
    p.add_argument("--batch", type=lambda s: [int(x) for x in _csv(s)], default=[1, 8],
                   help="batch sizes TensorRT engines must serve (default 1,8)")
    p.add_argument("--int8-form", default="auto", choices=["auto", "dynamic", "qdq", "qoperator"],
                   help="ONNX Runtime CPU INT8 form; auto measures all three and keeps the fastest "
                        "that meets --min-cosine")
    p.add_argument("--target", type=_csv, default=["auto"],
                   help="CPU targets of the INT8 variants, comma-separated: auto (this machine's), "
                        "all, x86-vnni (AVX-512 VNNI / AVX-VNNI), x86-avx2 (x86 without VNNI: "
                        "7-bit or uint8 weights, which cannot saturate), arm64 (default auto); "
                        "the device picks the variant made for its CPU")
    p.add_argument("--no-smoothquant", action="store_true",
                   help="quantize without trying SmoothQuant (by default it is tried per INT8 "
                        "form and kept where it measurably helps)")
    p.add_argument("--no-golden", action="store_true",
                   help="no golden sets: devices then cannot check the variant they pick")
    p.add_argument("--min-cosine", type=float, default=None,
                   help="fail the export if a quantized tower's mean centred cosine to FP32 on "
                        "held-out inputs falls below this (e.g. 0.99)")
    p.add_argument("--anchors", type=Path, default=None,
                   help=".npy of anchor embeddings: the accuracy report adds top-1 agreement")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="seed for preset weights and generated data")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON when done")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from edgebind.export.source import resolve_model
    from edgebind.export.writer import ExportOptions, export_bundle

    options = ExportOptions(
        modalities=args.modalities, precisions=args.precision, calibration=args.calibration,
        batches=args.batch, int8_form=args.int8_form, targets=args.target,
        smoothquant=None if args.no_smoothquant else 0.5, golden=not args.no_golden,
        min_cosine=args.min_cosine,
        anchors=np.load(args.anchors) if args.anchors else None, threads=args.threads,
        seed=args.seed, progress=not args.quiet)
    options.validate()
    if args.out.exists():
        raise FileExistsError(f"{args.out} already exists; choose a new folder or remove it first")
    model, space_id, info = resolve_model(args.model, args.modalities, args.preset, args.seed)
    manifest = export_bundle(model, args.out, options, space_id=space_id, model_info=info)
    if args.json:
        print(json.dumps(manifest.to_dict(), indent=2))
    else:
        print(f"wrote {args.out} (space {manifest.space_id})", file=sys.stderr)
        for m, e in manifest.encoders.items():
            for p, v in e.variants.items():
                acc = v.info.get("accuracy") or v.info.get("parity") or {}
                cos = acc.get("centred_cosine_mean")
                tgt = f"  for {', '.join(v.targets)}" if v.targets else ""
                print(f"  {m:8s} {p:9s} {v.file.file:28s} {v.file.bytes / 1e6:8.1f} MB"
                      + (f"  centred cosine {cos:.5f}" if cos is not None else "") + tgt)
    return 0
