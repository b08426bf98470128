"""TensorRT engines, where TensorRT and an NVIDIA GPU exist (never in CI: these skip cleanly
where ``import tensorrt`` fails). Engines are built from the bundle's ONNX files, loaded through
``load_bundle`` like any variant, and checked on the encoder's golden set."""
from __future__ import annotations

import numpy as np
import pytest

trt = pytest.importorskip("tensorrt")


@pytest.fixture(scope="module")
def engines(all_targets_bundle, tmp_path_factory):
    from edgebind.runtime.backends import tensorrt as backend
    if not backend.available():
        pytest.skip("TensorRT imports but no CUDA device is usable here")
    from edgebind.export.tensorrt import build_engine
    out = tmp_path_factory.mktemp("trt")
    built = {}
    for m, shape, low in (("imu", (6, 2000), None), ("audio", (3, 1, 128, 204), (1, 1, 128, 204))):
        engine = out / f"{m}.trt-fp16.engine"
        build_engine(all_targets_bundle / f"{m}.fp32.onnx", engine, m, shape, [1, 8], "fp16",
                     timing_cache=out / "cache", min_sample_shape=low)
        built[m] = engine
    return built


def test_engines_agree_with_the_golden_set(all_targets_bundle, engines):
    from edgebind.runtime.backends.tensorrt import TensorRTEncoder
    from edgebind.runtime.golden import GoldenSet
    from edgebind.runtime.manifest import Manifest
    manifest = Manifest.read(all_targets_bundle / "manifest.json")
    for m, engine in engines.items():
        entry = manifest.encoders[m]
        gold = GoldenSet.load(all_targets_bundle / entry.golden.file)
        enc = TensorRTEncoder(engine, m, "trt-fp16", entry.input, entry.output, manifest.space_id)
        try:
            agree = gold.agreement(enc.embed(gold.inputs))
        finally:
            enc.close()
        assert agree["min"] > 0.99, (m, agree)


def test_engine_rejects_a_batch_beyond_its_profile(all_targets_bundle, engines):
    from edgebind.runtime.backends.tensorrt import TensorRTEncoder
    from edgebind.runtime.manifest import Manifest
    manifest = Manifest.read(all_targets_bundle / "manifest.json")
    entry = manifest.encoders["imu"]
    enc = TensorRTEncoder(engines["imu"], "imu", "trt-fp16", entry.input, entry.output,
                          manifest.space_id)
    try:
        with pytest.raises(Exception):
            enc.embed(np.zeros((9, 6, 2000), np.float32))
    finally:
        enc.close()
