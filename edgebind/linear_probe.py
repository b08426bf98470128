"""The old home of ``edgebind.linear_probe``, which lives in :mod:`edgebind.evaluation.linear_probe` now; kept so that existing imports work
(for one release). The old name is the same module object, so patching either patches both."""
import sys

import edgebind.evaluation.linear_probe as _moved

sys.modules[__name__] = _moved
