"""A bundle loads only the bytes its manifest hashes: no symbolic links out of the bundle, no
ONNX external data it does not list (checked by EdgeBind, not left to ONNX Runtime)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgebind.runtime import BundleError, load_bundle
from edgebind.runtime.bundle import sha256_file
from edgebind.runtime.onnx_refs import external_locations, external_locations_of

onnx = pytest.importorskip("onnx")


def _rehash(bundle, modality, key):
    manifest = json.loads((bundle / "manifest.json").read_text())
    v = manifest["encoders"][modality]["variants"][key]
    path = bundle / v["file"]
    v["sha256"], v["bytes"] = sha256_file(path), path.stat().st_size
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_symlinked_file_is_refused(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    outside = tmp_path / "elsewhere.onnx"
    shutil.move(copy / "imu.fp32.onnx", outside)
    (copy / "imu.fp32.onnx").symlink_to(outside)     # same bytes, same hash: still refused
    with pytest.raises(BundleError, match="imu.fp32.onnx is a symbolic link"):
        load_bundle(copy, modalities=["imu"])


@pytest.mark.parametrize("location", ["evil.bin", "../evil.bin"])
def test_unlisted_external_data_is_refused(all_targets_bundle, tmp_path, location):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    path = copy / "imu.fp32.onnx"
    onnx.save_model(onnx.load(str(path)), str(path), save_as_external_data=True,
                    location="evil.bin", size_threshold=1024)
    if location != "evil.bin":   # onnx will not write "../"; an attacker's file would
        shutil.move(copy / "evil.bin", tmp_path / "evil.bin")
        proto = onnx.load(str(path), load_external_data=False)
        for t in proto.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    e.value = location
        path.write_bytes(proto.SerializeToString())
    assert location in external_locations(path)
    _rehash(copy, "imu", "fp32")
    for verify in (True, False):   # never left to ONNX Runtime, hashes checked or not
        with pytest.raises(BundleError, match=f"loads external data from '{location}'"):
            load_bundle(copy, modalities=["imu"], precision="fp32", fallback=False, verify=verify)


def test_listed_external_data_loads(all_targets_bundle, tmp_path):
    from edgebind.runtime.sample_inputs import example_input
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    path = copy / "imu.fp32.onnx"
    x = example_input("imu", 2, seed=4)
    with load_bundle(copy, modalities=["imu"], precision="fp32") as b:
        want = b.encoders["imu"].embed(x)
    onnx.save_model(onnx.load(str(path)), str(path), save_as_external_data=True,
                    location="imu.fp32.onnx.data", size_threshold=1024)
    _rehash(copy, "imu", "fp32")
    manifest = json.loads((copy / "manifest.json").read_text())
    data = copy / "imu.fp32.onnx.data"
    manifest["encoders"]["imu"]["variants"]["fp32"]["external_data"] = [
        {"file": data.name, "sha256": sha256_file(data), "bytes": data.stat().st_size}]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with load_bundle(copy, modalities=["imu"], precision="fp32", fallback=False) as b:
        np.testing.assert_allclose(b.encoders["imu"].embed(x), want, rtol=0, atol=1e-6)


def test_wire_reader_finds_locations_in_subgraphs_and_constants():
    from onnx import TensorProto, helper
    t = helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "inner.bin"
    inner = helper.make_graph([helper.make_node("Constant", [], ["y"], value=t)], "inner", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    node = helper.make_node("If", ["cond"], ["out"], then_branch=inner, else_branch=inner)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])])
    model = helper.make_model(g)
    assert external_locations_of(model.SerializeToString()) == {"inner.bin"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_wire_reader_never_crashes_on_garbage(data):
    try:
        out = external_locations_of(data)
    except ValueError:
        return
    assert isinstance(out, set)
