"""The bundle and anchors the pipeline/daemon/demo tests run on: the shipped default
(edgebind.assets) when present, else a tiny random model exported here (needs torch)."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

_CACHE: dict[str, tuple[Path, Path]] = {}
EVENTS = ("glass_breaking", "dog_barking", "smoke_alarm", "footsteps", "door_slamming",
          "person_falling", "machine_running")


def default_assets() -> tuple[Path, Path] | None:
    try:
        from edgebind import assets
        return assets.default_bundle_path(), assets.default_anchors_path()
    except (ImportError, FileNotFoundError):
        return None


def bundle_and_anchors() -> tuple[Path, Path]:
    """(bundle dir, anchors file), built once per test session if the defaults are absent."""
    if "x" in _CACHE:
        return _CACHE["x"]
    found = default_assets()
    if found is None:
        pytest.importorskip("torch")
        pytest.importorskip("onnx")
        from edgebind.anchors import AnchorSet, embedder_text_encoder, text_anchor
        from edgebind.embedder import Embedder
        from edgebind.export import ExportOptions, export_bundle
        from edgebind.export.source import resolve_model
        from edgebind.modality import MODALITIES
        root = Path(tempfile.mkdtemp(prefix="edgebind-test-assets-"))
        atexit.register(shutil.rmtree, root, True)
        model, space, info = resolve_model("tiny", seed=3)
        export_bundle(model, root / "bundle", ExportOptions(
            modalities=list(MODALITIES), precisions=["fp32"], threads=2, progress=False),
            space_id=space, model_info=info)
        emb = Embedder.from_bundle(root / "bundle")
        enc = embedder_text_encoder(emb)
        aset = AnchorSet(space_id=emb.space_id, dim=emb.embed_dim)
        for n in EVENTS:
            aset.add(text_anchor(n, [n.replace("_", " ")], enc))
        aset.add(text_anchor("quiet_room", ["a quiet room"], enc, background=True))
        aset.save(root / "anchors.json")
        found = (root / "bundle", root / "anchors.json")
    _CACHE["x"] = found
    return found
