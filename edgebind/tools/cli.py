"""The tool commands: ``edgebind quickstart``, ``bench``, ``eval`` and ``demo``. Argument
definitions and a ``run_<command>`` each; the work is done by ``edgebind.tools.quickstart``,
``edgebind.tools.bench``, ``edgebind.evaluation`` and ``edgebind.tools.demo`` (the heavy ones
imported when a command runs, so ``edgebind --help`` stays fast)."""
from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from edgebind.evaluation.bundle import DEFAULT_SEED as DEFAULT_EVAL_SEED
from edgebind.tools.quickstart import PROMPTS as QUICKSTART_PROMPTS


# -- edgebind quickstart ------------------------------------------------------------------------
def add_quickstart_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ("examples:\n  edgebind quickstart                  # random tiny weights: runs "
                "anywhere, numbers meaningless\n  edgebind quickstart --bundle bundles/tiny "
                "--text \"a dog barking\" --json")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="tiny",
                     help="preset with random weights: tiny, small, imagebind_huge (default tiny)")
    src.add_argument("--checkpoint", type=Path, help="an ImageBind-layout checkpoint, e.g. imagebind_huge.pth")
    src.add_argument("--bundle", type=Path, help="an exported bundle directory (runs without torch)")
    p.add_argument("--preset", default=None, help="architecture of --checkpoint if not inferable")
    p.add_argument("--image", type=Path, action="append", help="image file(s) to embed (default: generated)")
    p.add_argument("--audio", type=Path, help="a 16-bit PCM WAV file to embed (default: generated)")
    p.add_argument("--text", action="append", help=f"prompt(s) (default: {', '.join(QUICKSTART_PROMPTS)})")
    p.add_argument("--seed", type=int, default=0, help="seed for generated inputs and preset weights")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (norms, similarities, timings) instead")


def run_quickstart(args: argparse.Namespace) -> int:
    from edgebind.tools.quickstart import quickstart
    quickstart(model=args.model, checkpoint=args.checkpoint, bundle=args.bundle,
               preset=args.preset, images=args.image, audio=args.audio, prompts=args.text,
               seed=args.seed, as_json=args.json)
    return 0


# -- edgebind bench -----------------------------------------------------------------------------
def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", type=Path, required=True, help="bundle directory to measure")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "tensorrt", "torch"],
                   help="backend for the bundle's variants (default: best available)")
    p.add_argument("--modalities", default=None, help="comma-separated subset (default: all in the bundle)")
    p.add_argument("--precision", default=None, help="comma-separated subset (default: all runnable)")
    p.add_argument("--batch", default="1,8", help="batch sizes to time (default 1,8)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seconds", type=float, default=3.0, help="timing budget per batch size (default 3)")
    p.add_argument("--compare-torch", action="store_true",
                   help="also time the eager torch tower in a separate process on the same inputs")
    p.add_argument("--gemm", action="store_true",
                   help="also measure ONNX Runtime's FP32 GEMM rate (2048^3 MatMul) as a roofline")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run_bench(args: argparse.Namespace) -> int:
    from edgebind.tools.bench import measure_bundle, print_summary
    report = measure_bundle(
        args.bundle, backend=args.backend,
        modalities=args.modalities.split(",") if args.modalities else None,
        precisions=args.precision.split(",") if args.precision else None,
        batches=[int(b) for b in args.batch.split(",")], threads=args.threads,
        seconds=args.seconds, compare_torch=args.compare_torch, gemm=args.gemm,
        show=not args.json)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_summary(report)
    return 0


# -- edgebind eval ------------------------------------------------------------------------------
def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = (
        "Evaluate a bundle on held-out simulated data (ImageBind's emergent zero-shot table):\n"
        "per sensor modality, zero-shot top-1 by text prompts it never trained with, chance,\n"
        "a linear-probe reference (a supervised linear classifier on the same frozen embeddings,\n"
        "trained to convergence), and retrieval R@1/R@10 to vision; vision -> text top-1;\n"
        "vision + audio embedding arithmetic.\n\n"
        "examples:\n  edgebind eval                       # the shipped default model\n"
        "  edgebind eval --bundle bundles/mine --seed 11 --json")
    p.add_argument("--bundle", type=Path, default=None,
                   help="bundle folder (default: the default tiny model shipped in the package)")
    p.add_argument("--seed", type=int, default=DEFAULT_EVAL_SEED,
                   help=f"held-out set seed (default {DEFAULT_EVAL_SEED}; the default model "
                        "trained on seeds >= 1000); the probe trains on seed + 1")
    p.add_argument("--n", type=int, default=400, help="held-out windows (default 400)")
    p.add_argument("--probe-n", type=int, default=800,
                   help="windows to train the linear-probe reference on (default 800; 0 skips "
                        "it)")
    p.add_argument("--difficulty", type=float, default=None,
                   help="sim difficulty 0..3 (default: the one the bundle was trained at, as its "
                        "manifest records, else 1.0)")
    p.add_argument("--anchors", type=Path, default=None,
                   help="anchor set JSON (default: the shipped one with the default bundle, else "
                        "each event's captions through the bundle's text tower)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for ONNX Runtime")
    p.add_argument("--precision", default=None,
                   help="run every tower that has it at this precision (e.g. fp32: the model's "
                        "own numbers on any CPU; default: what the device picks here)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes rendering the simulated windows (default 2)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", action="store_true", help="print a markdown table (default)")


def run_eval(args: argparse.Namespace) -> int:
    from edgebind.evaluation import evaluate_bundle, markdown
    if args.n < 8:
        raise ValueError(f"--n must be at least 8 (one window per event), got {args.n}")
    if args.probe_n < 0:
        raise ValueError(f"--probe-n must be >= 0, got {args.probe_n}")
    if args.bundle is not None and not args.bundle.is_dir():
        raise FileNotFoundError(f"bundle folder {args.bundle} does not exist")
    report = evaluate_bundle(args.bundle, seed=args.seed, n=args.n, n_probe=args.probe_n,
                             difficulty=args.difficulty, anchors=args.anchors,
                             threads=args.threads, workers=max(1, args.workers),
                             progress=not args.json, precision=args.precision)
    if args.json:
        print(json.dumps(report, indent=2))
    if args.markdown or not args.json:
        print(markdown(report))
    return 0


# -- edgebind demo ------------------------------------------------------------------------------
def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ("examples:\n  edgebind demo                        # writes ./edgebind-demo\n"
                "  edgebind demo --seed 3 --duration 20 --out demo3 --json")
    p.description = textwrap.fill(
        "Detect events zero-shot in a simulated multi-sensor scene with the default tiny bundle "
        "and anchors: prints the events beside the ground truth, writes a timeline picture, "
        "prints precision and recall, then how to use your own prompts, sensors and the real "
        "ImageBind checkpoint.", 90)
    p.add_argument("--seed", type=int, default=0, help="scenario seed (default 0)")
    p.add_argument("--duration", type=float, default=60.0, metavar="S",
                   help="simulated seconds (default 60, the whole demo scenario)")
    p.add_argument("--out", default="edgebind-demo", metavar="DIR",
                   help="where to write timeline.png/.html, events.jsonl, summary.json "
                        "(default ./edgebind-demo)")
    p.add_argument("--scenario", default="demo", help="simulated scenario (default: demo)")
    p.add_argument("--difficulty", type=float, default=None, metavar="D",
                   help="simulated world difficulty 0-3 (default: the difficulty the bundle was "
                        "trained at, as recorded in its manifest, else 1.0)")
    p.add_argument("--bundle", default=None, metavar="DIR",
                   help="bundle to use instead of the shipped default")
    p.add_argument("--anchors", default=None, metavar="FILE",
                   help="anchor set to use instead of the shipped default")
    p.add_argument("--detector", default=None, metavar="FILE",
                   help="tuned detector settings and per-anchor levels (edgebind.detector/1 "
                        "JSON), or 'none' for the detector defaults; default: the detector.json "
                        "beside the anchors when there is one (as edgebind run and "
                        "Pipeline.from_files do; the shipped anchors have theirs)")
    p.add_argument("--tolerance", type=float, default=2.0, metavar="S",
                   help="event matching tolerance in seconds (default 2.0; see the docs)")
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument("--no-picture", action="store_true", help="skip the PNG/HTML timeline")
    from edgebind.foxglove.address import add_option
    add_option(p, "the simulated robot (the demo then runs in real time and waits up to "
                  "60 s for a client first)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (the summary, the log of truth and detections, "
                        "the files written) instead of the text report")


def run_demo(args: argparse.Namespace) -> int:
    from edgebind.tools.demo import DemoOptions, run_demo as demo
    demo(DemoOptions(seed=args.seed, duration=args.duration, out=args.out,
                     scenario=args.scenario, difficulty=args.difficulty, bundle=args.bundle,
                     anchors=args.anchors, detector=args.detector, tolerance=args.tolerance,
                     threads=args.threads, picture=not args.no_picture, json=args.json,
                     foxglove=getattr(args, "foxglove", None)))
    return 0
