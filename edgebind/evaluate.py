"""The old home of ``edgebind eval``; kept so that existing imports work. The evaluation is
``edgebind.evaluation``, its command line ``edgebind.tools.cli``."""
from edgebind.evaluation import *  # noqa: F401,F403
from edgebind.evaluation import __all__ as _evaluation_names
from edgebind.evaluation.linear_probe import LinearProbe, fit_linear_probe
from edgebind.tools.cli import add_eval_arguments as add_arguments
from edgebind.tools.cli import run_eval as run

__all__ = [*_evaluation_names, "LinearProbe", "add_arguments", "fit_linear_probe", "run"]
