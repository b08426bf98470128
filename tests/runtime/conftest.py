"""A small bundle with INT8 variants for every CPU target, exported once per session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def all_targets_bundle(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import resolve_model

    model, space, info = resolve_model("tiny", seed=5)
    out = tmp_path_factory.mktemp("targets") / "tiny"
    opts = ExportOptions(modalities=["audio", "imu"], precisions=["fp32", "int8"],
                         int8_form="dynamic", targets=["all"], threads=2, progress=False)
    export_bundle(model, out, opts, space_id=space, model_info=info)
    return out
