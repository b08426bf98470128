"""EdgeBind: ImageBind-compatible multi-sensor embeddings for edge devices.

The device side (this package without ``edgebind.models``/``edgebind.export``/``edgebind.train``)
never imports torch.
"""
from edgebind.modality import INPUT_SPECS, MODALITIES, InputSpec

__version__ = "0.1.0"

__all__ = ["INPUT_SPECS", "MODALITIES", "InputSpec", "__version__"]
