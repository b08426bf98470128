from __future__ import annotations

import pytest

from tests.pipeline.assets_helper import bundle_and_anchors


@pytest.fixture(scope="session")
def assets_paths():
    return bundle_and_anchors()


@pytest.fixture(scope="session")
def embedder(assets_paths):
    from edgebind.embedder import Embedder
    return Embedder.from_bundle(assets_paths[0], threads=1)


@pytest.fixture(scope="session")
def anchor_set(assets_paths, embedder):
    from edgebind.anchors import AnchorSet
    return AnchorSet.load(assets_paths[1], space_id=embedder.space_id)
