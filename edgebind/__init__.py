"""EdgeBind: ImageBind-compatible multi-sensor embeddings for edge devices.

The device side (this package without ``edgebind.models``/``edgebind.export``/``edgebind.train``)
never imports torch.
"""
from edgebind.modality import INPUT_SPECS, MODALITIES, InputSpec
from edgebind.space import SpaceMismatchError, check_same_space

__version__ = "0.1.0"

__all__ = ["INPUT_SPECS", "MODALITIES", "Embedder", "InputSpec", "SpaceMismatchError",
           "check_same_space", "cosine", "__version__"]


def __getattr__(name: str):
    # Lazy: importing edgebind stays cheap; Embedder pulls in preprocessing (and torch only when
    # built from a model rather than a bundle).
    if name in ("Embedder", "cosine"):
        from edgebind import embedder
        return getattr(embedder, name)
    raise AttributeError(f"module 'edgebind' has no attribute {name!r}")
