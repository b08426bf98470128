"""The command line of the default model's recipe: ``edgebind train default`` (through
``edgebind.train.cli``) and ``python -m edgebind.train.default``."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from edgebind.command_line import run_reporting_errors
from edgebind.train.default.config import DEFAULT_WORK, Recipe


def add_arguments(p: argparse.ArgumentParser) -> None:
    from edgebind.assets import DEFAULT_DIR
    p.add_argument("--work", type=Path, default=DEFAULT_WORK,
                   help=f"work folder: sim cache, checkpoints, metrics and curves (default "
                        f"{DEFAULT_WORK}; rerunning resumes, delete it to start over)")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR,
                   help=f"where the bundle, anchors.json and eval.json go (default {DEFAULT_DIR})")
    p.add_argument("--scale", type=float, default=1.0,
                   help="shrink windows and steps by this factor (e.g. 0.05 for a smoke run)")
    p.add_argument("--n-train", type=int, default=None, help="simulated training windows")
    p.add_argument("--difficulty", type=float, default=None, help="sim difficulty")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if not args.scale > 0:
        raise ValueError(f"--scale must be > 0, got {args.scale}")
    recipe = Recipe(threads=args.threads)
    if args.scale != 1.0:
        recipe = recipe.scaled(args.scale)
    if args.n_train is not None:
        recipe = dataclasses.replace(recipe, n_train=args.n_train)
    if args.difficulty is not None:
        recipe = dataclasses.replace(recipe, difficulty=args.difficulty)
    from edgebind.evaluation import markdown
    from edgebind.train.default.recipe import run_recipe
    report = run_recipe(recipe, args.work, args.out, progress=not args.quiet)
    print(markdown(report))
    print(f"\nseconds per step: {json.dumps(report['training_seconds'])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import edgebind.train.default as package
    p = argparse.ArgumentParser(prog="python -m edgebind.train.default",
                                description=package.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    args = p.parse_args(argv)
    return run_reporting_errors(p.prog, lambda: run(args))
