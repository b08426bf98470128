from __future__ import annotations

# The daemon tests use the pipeline tests' session fixtures (bundle, embedder, anchors).
from tests.pipeline.conftest import anchor_set, assets_paths, embedder  # noqa: F401
