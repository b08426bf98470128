"""Moved into the ``edgebind.pipeline`` package (``config``, ``metrics``, ``queue``,
``stages``, ``health``); this module keeps the old import path working."""
from edgebind.pipeline.config import (INTEGER_KEYS, LIMITS, PipelineConfig,  # noqa: F401
                                      expected, model_windows, within)
from edgebind.pipeline.core import merge_samples  # noqa: F401
from edgebind.pipeline.health import as_dict as _as_dict  # noqa: F401
from edgebind.pipeline.metrics import LATENCY_BUCKETS_S, STAGES, Histogram  # noqa: F401
from edgebind.pipeline.queue import DropOldestQueue  # noqa: F401
from edgebind.pipeline.stages import Job as _Job  # noqa: F401
from edgebind.pipeline.stages import WindowResult  # noqa: F401
from edgebind.pipeline.stages import scores_dict as _scores_dict  # noqa: F401
