"""``edgebind run --config FILE``: the command line of the on-device service
(``edgebind.daemon.service``)."""
from __future__ import annotations

import argparse
import json
import logging
import textwrap

from edgebind.daemon.checking import check_report
from edgebind.daemon.config import load_config
from edgebind.daemon.service import Control, Daemon, check


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Run the on-device detection service from a TOML config: sensors → windows "
                     "→ bundle encoders → detector → sinks, with /healthz and /metrics over HTTP "
                     "(127.0.0.1:9108 by default) and systemd notifications. SIGHUP reloads "
                     "anchors, thresholds, detector settings and sinks; SIGTERM drains and exits. "
                     "See docs/daemon.md and examples/edgebind.toml.")
    # Raw, so that the examples keep their lines; the description is wrapped here instead.
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = textwrap.fill(p.description, 90)
    p.epilog = ("examples:\n"
                "  edgebind run --config examples/edgebind.toml --check --json\n"
                "  edgebind run --config examples/edgebind.toml --check --log-level warning")
    p.add_argument("--config", required=True, metavar="FILE", help="daemon config (TOML)")
    p.add_argument("--check", action="store_true",
                   help="validate the config (and open the bundle and anchors), then exit")
    p.add_argument("--json", action="store_true",
                   help="with --check: print what was checked as one JSON document")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None,
                   help="override the config's log_level")
    from edgebind.foxglove.address import add_option
    add_option(p, "the sensors, anchor scores, detections and health")


def run(args: argparse.Namespace) -> int:
    # Signals first: a SIGHUP or SIGTERM while the bundle loads must not kill the process.
    # (--check keeps the defaults: Ctrl-C interrupts it at once.)
    control = Control() if args.check else Control().install()
    cfg = load_config(args.config)
    logging.basicConfig(level=(args.log_level or cfg.log_level).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    as_json = getattr(args, "json", False)   # callers may build a Namespace of the older options
    if args.check:
        print(json.dumps(check_report(cfg), indent=1) if as_json else check(cfg))
        return 0
    if as_json:
        raise ValueError("--json goes with --check (the service itself logs to stderr)")
    return Daemon(cfg, control=control, foxglove=getattr(args, "foxglove", None)).serve()
