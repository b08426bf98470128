"""A tiny random bundle with only a text tower (exported once per session), and a fake encoder."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest


@pytest.fixture(scope="session")
def text_bundle(tmp_path_factory):
    """(bundle dir, space id) of the tiny preset's text tower, FP32 ONNX."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import resolve_model

    model, space, info = resolve_model("tiny", seed=11)
    out = tmp_path_factory.mktemp("anchor-bundles") / "tiny-text"
    export_bundle(model, out, ExportOptions(modalities=["text"], precisions=["fp32"], threads=1,
                                            progress=False), space_id=space, model_info=info)
    return out, space


def fake_encoder(dim: int = 24):
    """A deterministic text encoder: each string maps to a fixed random vector (scaled, as
    ImageBind's text tower is), so tests can recompute expected anchors by hand."""
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(dim) * 7.0)
        return np.stack(rows)

    encode.calls = calls
    return encode


@pytest.fixture(scope="session")
def sensor_bundle(tmp_path_factory):
    """(bundle dir, space id) with audio and IMU towers of the tiny preset, FP32 ONNX."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import resolve_model

    model, space, info = resolve_model("tiny", seed=12)
    out = tmp_path_factory.mktemp("anchor-bundles") / "tiny-sensors"
    export_bundle(model, out, ExportOptions(modalities=["audio", "imu"], precisions=["fp32"], threads=1,
                                            progress=False), space_id=space, model_info=info)
    return out, space


@pytest.fixture(scope="session")
def sim_recording(tmp_path_factory):
    """A 7-second MCAP recording of the simulated world (all five sensor streams)."""
    from edgebind.cli import main
    out = tmp_path_factory.mktemp("recordings") / "sim.mcap"
    assert main(["record", "--sim", "default", "--seed", "1", "--duration", "7", "--out", str(out),
                 "--quiet"]) == 0
    return out
