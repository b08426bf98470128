"""``edgebind anchors``: build an anchor set from a prompts file with a bundle's text tower, or
show what an anchor-set file holds. ONNX Runtime only; torch is not needed."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


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


def _example(args: argparse.Namespace) -> int:
    from pathlib import Path

    from edgebind.anchors import AnchorSet, example_anchor, recording_examples
    from edgebind.embedder import Embedder

    if args.bundle is None:
        from edgebind.assets import default_bundle_path
        args.bundle = str(default_bundle_path())
    mods = [m.strip() for m in args.modalities.split(",") if m.strip()] if args.modalities else None
    if not Path(args.recording).is_file():
        raise FileNotFoundError(f"recording {args.recording} does not exist")
    embedder = Embedder.from_bundle(args.bundle)
    out = Path(args.out)
    if out.exists():
        aset = AnchorSet.load(out, space_id=embedder.space_id, dim=embedder.embed_dim)
    else:
        aset = AnchorSet(space_id=embedder.space_id, dim=embedder.embed_dim)
    if args.name in aset and not args.replace:
        raise ValueError(f"{out} already has an anchor named {args.name!r}; pass --replace")
    examples = recording_examples(embedder, args.recording, args.start, args.end, modalities=mods)
    anchor = example_anchor(args.name, examples, threshold=args.threshold, background=args.background)
    anchor.meta.update({"recording": str(args.recording), "start_s": args.start, "end_s": args.end})
    if args.name in aset:
        aset.anchors = [a for a in aset.anchors if a.name != args.name]
    aset.add(anchor)
    aset.save(out)
    counts = ", ".join(f"{n} {m}" for m, n in anchor.meta["examples"].items())
    print(f"wrote {out}: anchor {args.name!r} from {counts} window(s) of {args.recording} "
          f"({args.start:g}-{args.end:g} s); {len(aset)} anchors in the set")
    return 0


def _build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from edgebind.anchor_report import CLOSE_COSINE, build_report, format_report
    from edgebind.anchors import build_anchor_set, embedder_text_encoder, load_prompts
    from edgebind.embedder import Embedder

    if args.bundle is None:
        from edgebind.assets import default_bundle_path
        args.bundle = str(default_bundle_path())
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} already exists; pass --force to overwrite it")
    prompts = load_prompts(args.prompts)
    kwargs = {"modalities": ["text"]}
    if args.precision:
        kwargs["precision"] = args.precision
    embedder = Embedder.from_bundle(args.bundle, **kwargs)
    if embedder.space_id is None:
        raise ValueError(f"bundle {args.bundle} names no embedding space")
    encode = embedder_text_encoder(embedder)
    tower = (embedder.bundle.manifest.extra.get("text_tower") or {}).get("hub") or \
        "ImageBind CLIP text tower"
    meta = {"bundle": str(args.bundle), "prompts_file": str(args.prompts), "text_tower": tower}
    aset = build_anchor_set(prompts, encode, embedder.space_id, embedder.embed_dim, meta=meta,
                            progress=lambda name: print(f"  anchor {name}", file=sys.stderr))
    aset.save(out)
    report = build_report(aset, prompts, embedder.text_tokenizer.encode,
                          CLOSE_COSINE if args.close is None else args.close, tower)
    bg = len(aset.background)
    if args.json:
        print(json.dumps({"out": str(out), "space_id": aset.space_id, "dim": aset.dim,
                          "events": len(aset) - bg, "background": bg, **report}, indent=1))
        return 0
    print(f"wrote {out}: {len(aset)} anchors ({len(aset) - bg} events, {bg} background) "
          f"in space {aset.space_id}, dim {aset.dim} (text tower: {tower})")
    for line in format_report(report):
        print(line)
    return 0


def _show(args: argparse.Namespace) -> int:
    from edgebind.anchors import AnchorSet

    space = None
    if args.bundle:
        from pathlib import Path

        from edgebind.runtime.bundle import MANIFEST
        from edgebind.runtime.manifest import Manifest
        space = Manifest.read(Path(args.bundle) / MANIFEST).space_id
    aset = AnchorSet.load(args.file, space_id=space)
    rows = [{"name": a.name, "source": a.source, "background": a.background,
             "threshold": a.threshold, "embeddings": sorted(a.embeddings), "prompts": list(a.prompts)}
            for a in aset]
    if args.json:
        print(json.dumps({"space_id": aset.space_id, "dim": aset.dim, "anchors": rows}, indent=1))
        return 0
    print(f"{args.file}: space {aset.space_id}, dim {aset.dim}, {len(aset)} anchors")
    for r in rows:
        kind = "background" if r["background"] else "event"
        thr = "-" if r["threshold"] is None else f"{r['threshold']:.3f}"
        print(f"  {r['name']:<24} {kind:<10} {r['source']:<9} thr {thr:<6} "
              f"{','.join(r['embeddings'])}  {'; '.join(r['prompts'])[:60]}")
    if len(aset) > 1:
        m = aset.matrix()
        sim = m @ m.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
        print(f"closest pair: {aset.anchors[i].name} ~ {aset.anchors[j].name} (cosine {sim[i, j]:.3f}); "
              "anchors closer than ~0.9 are hard to tell apart")
    return 0
