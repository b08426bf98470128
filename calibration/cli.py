"""``edgebind-calibrate SUBCOMMAND --recording FILE.mcap [--stream NAME] --profile PROFILE``
(also ``edgebind calibrate ...``): one command per calibration job; each reads recordings made
by ``edgebind record``, updates its part of the profile and keeps the rest."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# name -> module (each has HELP, add_arguments(parser), run(args, profile) -> Result).
JOBS: dict[str, str] = {
    "imu": "edgebind.calibration.imu",
    "camera": "edgebind.calibration.camera",
    "sync": "edgebind.calibration.sync",
    "thermal": "edgebind.calibration.thermal",
    "audio": "edgebind.calibration.audio",
    "thresholds": "edgebind.calibration.thresholds",
    "quant": "edgebind.calibration.quant",
}

DESCRIPTION = """Calibrate one robot from recordings made with `edgebind record`; each command
updates its part of the calibration profile (JSON, or TOML by suffix) and keeps the rest. The
daemon applies the profile (IMU correction, time offsets, thresholds). Prints a summary with
PASS/FAIL against recommended limits (--json: machine-readable) and writes PNG plots."""

EXAMPLES = """examples:
  edgebind-calibrate thresholds --recording background.mcap --anchors anchors.json --profile robot.json
  edgebind-calibrate thresholds --recording background.mcap --anchors anchors.json --profile robot.json --dry-run --json"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recording", nargs="+", action="extend", type=Path, metavar="FILE.mcap",
                   help="recording(s) to calibrate from (some commands take several)")
    p.add_argument("--stream", help="stream to calibrate (default: the only one that fits)")
    p.add_argument("--profile", type=Path, required=True,
                   help="calibration profile to create or update (.json or .toml)")
    p.add_argument("--device", help="robot id; must match the profile's (default: the profile's, "
                                    "else the recording's host)")
    p.add_argument("--json", action="store_true", help="print what was estimated as JSON")
    p.add_argument("--plots", type=Path, dest="plot_dir_arg", metavar="DIR",
                   help="where PNG plots go (default: <profile stem>_plots beside the profile)")
    p.add_argument("--no-plots", action="store_true", help="write no plots")
    p.add_argument("--dry-run", action="store_true", help="estimate and report; leave the profile")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 3 when a check fails (for scripts)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    sub = parser.add_subparsers(dest="calibrate_command", metavar="JOB", required=True)
    for name, module in JOBS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=mod.HELP, description=(mod.__doc__ or mod.HELP).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _common(p)
        mod.add_arguments(p)
        p.set_defaults(_job=module)


def run(args: argparse.Namespace) -> int:
    from edgebind.profile import Profile
    job = importlib.import_module(args._job)
    path = Path(args.profile)
    profile = Profile.load_or_new(path, device=args.device)
    host = _recording_host(args.recording[0]) if args.recording else None
    if args.device is None and host and profile.device and host != profile.device:
        raise ValueError(f"profile {path} is for device {profile.device!r} but recording "
                         f"{args.recording[0]} was made on {host!r}; pass --device to say which "
                         "robot this is, or use that robot's profile")
    if not profile.device:
        profile.device = args.device or host or ""
    args.plot_dir = None if args.no_plots else (
        args.plot_dir_arg or path.with_name(path.stem + "_plots"))
    args.progress = not (args.quiet or args.json)
    result = job.run(args, profile)
    if not args.dry_run:
        profile.note(args.calibrate_command, stream=result.stream,
                     recordings=[str(r) for r in args.recording or []] or None)
        profile.save(path)
        result.profile = str(path)
    print(result.to_json() if args.json else result.summary())
    return 3 if args.strict and not result.passed else 0


def _recording_host(path: Path) -> str | None:
    from edgebind.record import open_recording
    with open_recording(path) as rep:
        host = rep.metadata.get("host")
    return str(host) if host else None


def build_parser() -> argparse.ArgumentParser:
    """``edgebind-calibrate``; its conventions are ``edgebind``'s (see :mod:`edgebind.cli`)."""
    from edgebind import __version__
    from edgebind.command_line import name_commands
    parser = argparse.ArgumentParser(prog="edgebind-calibrate",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"edgebind-calibrate {__version__}")
    add_arguments(parser)
    name_commands(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    from edgebind.command_line import parse_command_line, run_reporting_errors
    args = parse_command_line(parser, argv)
    return run_reporting_errors(args._prog, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
