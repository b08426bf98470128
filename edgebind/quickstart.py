"""The old home of ``edgebind quickstart``; kept so that existing imports work. The quick start
is ``edgebind.tools.quickstart``, its command line ``edgebind.tools.cli``."""
from edgebind.tools.cli import add_quickstart_arguments as add_arguments
from edgebind.tools.cli import run_quickstart as run
from edgebind.tools.quickstart import PROMPTS, generated_inputs, quickstart, read_wav

__all__ = ["PROMPTS", "add_arguments", "generated_inputs", "quickstart", "read_wav", "run"]
