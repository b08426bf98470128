"""The old home of ``edgebind.quant_eval``, which lives in :mod:`edgebind.evaluation.quant` now; kept so that existing imports work
(for one release). The old name is the same module object, so patching either patches both."""
import sys

import edgebind.evaluation.quant as _moved

sys.modules[__name__] = _moved
