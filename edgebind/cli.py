"""The ``edgebind`` command. Each subcommand's command line is a ``cli.py`` (argument definitions
and a ``run`` that calls library code, imported when the command runs), so ``edgebind --help`` is
fast and device-side subcommands never import torch. Errors a command raises on purpose
(:class:`~edgebind.errors.EdgeBindError`) are reported in one line, the same for every one.

Conventions (argparse's, shared with ``edgebind-calibrate``): help asked for (``--help``) goes
to stdout with exit status 0, as does ``--version``; a command line that cannot run, including
one with no command at all, gets the usage and one ``PROG: error: ...`` line on stderr and exit
status 2; an error while running, one such line on stderr and status 1. ``--json`` options
print one JSON document on stdout and nothing else there."""
from __future__ import annotations

import argparse
import importlib
import sys

from edgebind.command_line import name_commands, parse_command_line
from edgebind.command_line import run_reporting_errors  # noqa: F401  (also importable from here)

# name -> (command, one-line help). Every command line lives in a ``cli.py`` that holds only its
# argument definitions and a ``run`` calling library code. A command "pkg.cli" provides
# ``add_arguments(parser)`` and ``run(args)``; "pkg.cli:NAME", one of several commands sharing a
# cli.py, provides ``add_NAME_arguments(parser)`` and ``run_NAME(args)``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("edgebind.tools.cli:quickstart",
                   "embed sample inputs of every modality and print cross-modal similarities"),
    "export": ("edgebind.export.cli",
               "export towers to a bundle: ONNX FP32/FP16/INT8, TensorRT engines, manifest"),
    "bundle": ("edgebind.runtime.cli",
               "check a bundle on this machine: each variant's golden-set agreement and speed"),
    "bench": ("edgebind.tools.cli:bench",
              "measure a bundle: latency p50/p90/p99, throughput, peak memory, accuracy vs FP32"),
    "anchors": ("edgebind.anchors.cli",
                "build an anchor set from text prompts with a bundle's text tower, or show one"),
    "record": ("edgebind.record.cli:record",
               "record sensor streams (from a config, or the simulated world) to MCAP"),
    "replay": ("edgebind.record.cli:replay",
               "summarise or replay an MCAP recording (also one cut off by a power loss)"),
    "calibrate": ("edgebind.calibration.cli",
                  "calibrate a robot from recordings: imu, camera, sync, thermal, audio, "
                  "thresholds, quant"),
    "train": ("edgebind.train.cli",
              "train towers: bind a sensor to the space, distil, retrain the default model"),
    "eval": ("edgebind.tools.cli:eval",
             "emergent zero-shot table of a bundle on held-out simulated data"),
    "run": ("edgebind.daemon.cli",
            "run the on-device detection service from a TOML config (health, metrics, systemd)"),
    "sim": ("edgebind.sim.cli",
            "the simulated world: events, scenarios, a timeline, example clips as PNG/WAV/CSV"),
    "demo": ("edgebind.tools.cli:demo",
             "detect events zero-shot in a simulated scene with the default model; timeline, "
             "precision/recall"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgebind",
        description="EdgeBind: ImageBind-compatible embeddings and zero-shot event detection "
                    "for edge devices.",
    )
    from edgebind import __version__
    parser.add_argument("--version", action="version", version=f"edgebind {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (command, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_command=command)
        command_function(command, "add_arguments")(p)
    name_commands(parser)
    return parser


def command_function(command: str, what: str):
    """``what`` ("add_arguments" or "run") of a :data:`SUBCOMMANDS` command, imported now."""
    module, _, name = command.partition(":")
    if name:
        what = f"add_{name}_arguments" if what == "add_arguments" else f"run_{name}"
    return getattr(importlib.import_module(module), what)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_command_line(parser, argv)   # no command: usage, error on stderr, exit 2
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; its errors are reported as every subcommand's are, under the
    name argparse gives the innermost command (``edgebind anchors build``)."""
    run = command_function(args._command, "run")
    prog = getattr(args, "_prog", None) or f"edgebind {args.command}"
    return run_reporting_errors(prog, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
