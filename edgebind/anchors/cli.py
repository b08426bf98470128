"""``edgebind anchors``: build an anchor set from a prompts file with a bundle's text tower, or
show what an anchor-set file holds. ONNX Runtime only; torch is not needed."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = (
    "A prompts file is TOML: one [[anchor]] table per event with a name and prompts\n"
    "(or compose = [{anchor = NAME, weight = W}], or examples = {audio = \"clips.npy\"}),\n"
    "optional threshold, background = true for negatives, and optional [templates]\n"
    "per modality (\"the sound of {}.\"). See docs/detection.md.\n\n"
    "example:\n  edgebind anchors build --bundle bundles/tiny --prompts prompts.toml --out anchors.json\n"
    "  edgebind anchors example --bundle bundles/tiny --recording falls.mcap --start 12 --end 15 \\\n"
    "      --name robot_fall --out anchors.json     # few-shot: windows of a recording\n"
    "  edgebind anchors show anchors.json --bundle bundles/tiny")
PROMPTS_EXAMPLE = """

prompts file example:
  [[anchor]]
  name = "glass_breaking"
  prompts = ["glass breaking", "a window shattering"]
  threshold = 0.3                  # optional

  [[anchor]]
  name = "quiet"
  prompts = ["a quiet room"]
  background = true                # a negative: scored, never an event

  [[anchor]]
  name = "loud_glass"               # embedding arithmetic on the anchors above
  compose = [{anchor = "glass_breaking", weight = 1.0}, {anchor = "quiet", weight = -0.5}]
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="embed the prompts of a prompts file into an anchor-set file",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG + PROMPTS_EXAMPLE,
                       description="Embed every anchor of a prompts file with the bundle's text "
                                   "tower (prompt-template ensembles per modality) and write an "
                                   "anchor-set JSON file in the bundle's embedding space.")

    b.add_argument("--bundle", default=None,
                   help="bundle directory with a text tower (default: the tiny default bundle shipped "
                        "with EdgeBind, trained on plain captions: use `modalities = []` with it)")
    b.add_argument("--prompts", required=True, help="prompts file (TOML, see docs/detection.md)")
    b.add_argument("--out", required=True, help="anchor-set JSON file to write")
    b.add_argument("--precision", default=None,
                   help="bundle variant to run the text tower in (default: the bundle's best on this machine)")
    b.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    b.add_argument("--close", type=float, default=None, metavar="COSINE",
                   help="warn when two anchors are at least this close (default 0.9: closer, the "
                        "best margin a window can give one over the other is below the "
                        "detector's; see docs/text.md)")
    b.add_argument("--json", action="store_true",
                   help="print the report (nearest anchors, prompt problems, warnings) as JSON")
    x = sub.add_parser("example", help="add a few-shot anchor from a stretch of an MCAP recording",
                       description="Embed every window of a recording that ends between --start and "
                                   "--end seconds (from its first sample) with the bundle's towers, "
                                   "and add their mean as an anchor to an anchor-set file (created if "
                                   "absent, else it must be in the bundle's space).")
    x.add_argument("--bundle", default=None, help="bundle directory (default: the shipped tiny bundle)")
    x.add_argument("--recording", required=True, help="MCAP recording (edgebind record)")
    x.add_argument("--start", type=float, required=True, help="seconds from the recording's start")
    x.add_argument("--end", type=float, required=True, help="seconds from the recording's start")
    x.add_argument("--name", required=True, help="anchor name")
    x.add_argument("--out", required=True, help="anchor-set JSON file to add to (or create)")
    x.add_argument("--modalities", default=None,
                   help="comma-separated modalities to embed (default: every tower but text)")
    x.add_argument("--threshold", type=float, default=None, help="the anchor's threshold")
    x.add_argument("--background", action="store_true", help="a background (negative) anchor")
    x.add_argument("--replace", action="store_true", help="replace an anchor of that name")
    s = sub.add_parser("show", help="list the anchors of an anchor-set file (and check it against a bundle)")
    s.add_argument("file", help="anchor-set JSON file")
    s.add_argument("--bundle", default=None, help="also check the set is in this bundle's space and "
                                                  "print cosine similarities between anchors")
    s.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args: argparse.Namespace) -> int:
    return {"build": _build, "example": _example, "show": _show}[args.action](args)


def _build(args: argparse.Namespace) -> int:
    from edgebind.anchors.report import format_report
    from edgebind.anchors.with_bundle import build_with_bundle

    aset, report = build_with_bundle(
        args.bundle, args.prompts, args.out, force=args.force, precision=args.precision,
        close=args.close, progress=lambda name: print(f"  anchor {name}", file=sys.stderr))
    bg = len(aset.background)
    if args.json:
        print(json.dumps({"out": str(Path(args.out)), "space_id": aset.space_id, "dim": aset.dim,
                          "events": len(aset) - bg, "background": bg, **report}, indent=1))
        return 0
    print(f"wrote {Path(args.out)}: {len(aset)} anchors ({len(aset) - bg} events, {bg} background) "
          f"in space {aset.space_id}, dim {aset.dim} (text tower: {report['text_tower']})")
    for line in format_report(report):
        print(line)
    return 0


def _example(args: argparse.Namespace) -> int:
    from edgebind.anchors.with_bundle import add_recording_anchor

    mods = [m.strip() for m in args.modalities.split(",") if m.strip()] if args.modalities else None
    aset, anchor = add_recording_anchor(
        args.bundle, args.out, args.name, args.recording, args.start, args.end, modalities=mods,
        threshold=args.threshold, background=args.background, replace=args.replace)
    counts = ", ".join(f"{n} {m}" for m, n in anchor.meta["examples"].items())
    print(f"wrote {Path(args.out)}: anchor {args.name!r} from {counts} window(s) of {args.recording} "
          f"({args.start:g}-{args.end:g} s); {len(aset)} anchors in the set")
    return 0


def _show(args: argparse.Namespace) -> int:
    from edgebind.anchors.report import format_set, set_rows
    from edgebind.anchors.with_bundle import load_for_bundle

    aset = load_for_bundle(args.file, args.bundle)
    if args.json:
        print(json.dumps({"space_id": aset.space_id, "dim": aset.dim, "anchors": set_rows(aset)},
                         indent=1))
        return 0
    for line in format_set(args.file, aset):
        print(line)
    return 0
