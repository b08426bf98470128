"""Files shipped inside the package: the default tiny model (a bundle trained on the simulated
world) and its anchor set for the eight simulated events. Torch-free."""
from __future__ import annotations

from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
_REBUILD = ("rebuild it with `python -m edgebind.train.default` (about 30 minutes on 2 CPU "
            "cores; needs the train and export extras)")


def default_bundle_path() -> Path:
    """The default bundle folder (manifest.json + ONNX files)."""
    path = DEFAULT_DIR / "bundle"
    if not (path / "manifest.json").is_file():
        raise FileNotFoundError(f"the default bundle is missing from this installation ({path}); "
                                + _REBUILD)
    return path


def default_anchors_path() -> Path:
    """The anchor set (``edgebind.anchors/1`` JSON) of the default bundle's space."""
    path = DEFAULT_DIR / "anchors.json"
    if not path.is_file():
        raise FileNotFoundError(f"the default anchor set is missing from this installation "
                                f"({path}); " + _REBUILD)
    return path


def default_detector_path() -> Path | None:
    """The detector settings and per-anchor levels tuned for the default anchors on simulated
    streams (``edgebind.detect.tune``), beside them, where ``edgebind.detect.tuned`` finds it
    for ``edgebind run``, ``Pipeline.from_files`` and ``edgebind demo``; None when this
    installation has none."""
    path = DEFAULT_DIR / "detector.json"
    return path if path.is_file() else None


__all__ = ["DEFAULT_DIR", "default_bundle_path", "default_anchors_path", "default_detector_path"]
