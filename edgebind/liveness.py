"""The old home of ``edgebind.liveness``, which lives in :mod:`edgebind.pipeline.liveness` now; kept so that existing imports work
(for one release). The old name is the same module object, so patching either patches both."""
import sys

import edgebind.pipeline.liveness as _moved

sys.modules[__name__] = _moved
