"""The old home of ``edgebind demo``; kept so that existing imports work. The demo is
``edgebind.tools.demo`` (its timeline picture ``edgebind.tools.timeline``), its command line
``edgebind.tools.cli``."""
from edgebind.detect.matching import match_events
from edgebind.tools.cli import add_demo_arguments as add_arguments
from edgebind.tools.cli import run_demo as run
from edgebind.tools.demo import NOT_EVENTS, DemoOptions, run_demo
from edgebind.tools.timeline import write_html, write_png

__all__ = ["NOT_EVENTS", "DemoOptions", "add_arguments", "match_events", "run", "run_demo",
           "write_html", "write_png"]
