"""Old home of the ``edgebind anchors`` command; it lives in :mod:`edgebind.anchors.cli`."""
from edgebind.anchors.cli import EPILOG, PROMPTS_EXAMPLE, add_arguments, run

__all__ = ["EPILOG", "PROMPTS_EXAMPLE", "add_arguments", "run"]
