"""The old home of ``edgebind record``; kept so that existing imports work. The command line is
``edgebind.record.cli``, the capture itself ``edgebind.record.capture``."""
from edgebind.record.capture import (Capture, CaptureStats, capture, config_profile,
                                     open_sources, stream_configs_for_sim)
from edgebind.record.cli import add_record_arguments as add_arguments
from edgebind.record.cli import run_record as run
from edgebind.record.console import StatusPrinter as _StatusPrinter  # noqa: F401
from edgebind.record.console import stop_on_signals as _signals_set  # noqa: F401

_config_profile = config_profile

__all__ = ["Capture", "CaptureStats", "add_arguments", "capture", "open_sources", "run",
           "stream_configs_for_sim"]
