"""Small synthetic binding problems: depth maps whose bright square sits in one of four places
(the class), paired with frozen 'vision' embeddings near one prototype per class."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

CLASSES = 4


def tiny_config():
    from edgebind import models
    # One block, 32-px depth patches (49 tokens): a forward/backward takes milliseconds.
    return models.PRESETS["tiny"].replace(depth_kernel_size=32, depth_num_blocks=1,
                                          vision_num_blocks=1, text_num_blocks=1)


def tiny_model(seed: int = 0, modalities=("vision", "depth")):
    from edgebind import models
    torch.manual_seed(seed)
    return models.build(tiny_config(), list(modalities))


def synthetic(n: int, seed: int = 0, dim: int = 128) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = np.arange(n) % CLASSES
    rng.shuffle(label)
    depth = rng.normal(0, 0.5, size=(n, 1, 224, 224)).astype(np.float32)
    for i, c in enumerate(label):
        r, q = divmod(int(c), 2)
        depth[i, 0, r * 112 + 16:r * 112 + 96, q * 112 + 16:q * 112 + 96] += 2.0
    proto_rng = np.random.default_rng(1234)  # the same prototypes for every split
    proto = proto_rng.normal(size=(CLASSES, dim))
    emb = proto[label] + 0.3 * rng.normal(size=(n, dim)) / np.sqrt(dim) * np.sqrt(dim) / 4
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return {"depth": depth, "vision_embedding": emb.astype(np.float32),
            "label": label.astype(np.int64)}


def class_retrieval(model, data: dict[str, np.ndarray]) -> float:
    """Fraction of depth queries whose nearest vision embedding has the same class."""
    model.eval()
    with torch.no_grad():
        d = model.embed("depth", torch.from_numpy(data["depth"])).numpy()
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    best = (d @ data["vision_embedding"].T).argmax(axis=1)
    return float((data["label"][best] == data["label"]).mean())


@pytest.fixture(scope="session")
def train_data():
    return synthetic(128, seed=0)


@pytest.fixture(scope="session")
def test_data():
    return synthetic(64, seed=1)
