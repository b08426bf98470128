"""Bad bundles get one clear error naming the file and key, never a traceback from deep inside
ONNX Runtime or a TypeError; ``edgebind bundle check`` reports what runs on this machine."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from edgebind.runtime import BundleError, load_bundle
from edgebind.runtime.bundle import sha256_file
from tests.conftest import REPO


def _edit(bundle, fn):
    manifest = json.loads((bundle / "manifest.json").read_text())
    fn(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage,match", [
    (lambda m: m["encoders"]["imu"]["output"].update(shape=[]), r"encoders.imu.output.shape"),
    (lambda m: m.update(model=["not", "a", "dict"]), r"key 'model': expected an object"),
    (lambda m: m.update(preprocess="fast"), r"key 'preprocess': expected an object"),
    (lambda m: m["encoders"]["imu"]["variants"]["int8"].update(targets="x86-vnni"),
     r"variants.int8.targets"),
    (lambda m: m["encoders"]["imu"]["variants"]["int8"].update(check={"threshold": 1e308}),
     r"variants.int8.check.threshold"),
    (lambda m: m["encoders"]["imu"].update(golden={"file": "../x.npz", "sha256": "0" * 64,
                                                   "bytes": 1}), r"encoders.imu.golden.file"),
])
def test_manifest_errors_name_the_key(all_targets_bundle, tmp_path, damage, match):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    _edit(copy, damage)
    with pytest.raises(BundleError, match=match):
        load_bundle(copy)


def test_deeply_nested_manifest_is_one_error(tmp_path):
    (tmp_path / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="nested too deeply|not valid JSON"):
        load_bundle(tmp_path)


def _replace(bundle, data: bytes):
    bad = bundle / "imu.fp32.onnx"
    bad.write_bytes(data)                # hashes updated: not 'tampered', just broken

    def rehash(m):
        v = m["encoders"]["imu"]["variants"]["fp32"]
        v["sha256"], v["bytes"] = sha256_file(bad), bad.stat().st_size
    _edit(bundle, rehash)


def test_a_file_that_is_not_onnx_is_a_bundle_error(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    _replace(copy, b"\x08\x07" + b"not a model" * 100)
    with pytest.raises(BundleError, match=r"imu.fp32.onnx is not a readable ONNX file"):
        load_bundle(copy, modalities=["imu"])


def test_a_model_onnx_runtime_refuses_is_a_bundle_error(all_targets_bundle, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    g = helper.make_graph([helper.make_node("NoSuchOp", ["imu"], ["embedding"])], "g",
                          [helper.make_tensor_value_info("imu", TensorProto.FLOAT, ["b", 6, 2000])],
                          [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["b", 128])])
    _replace(copy, helper.make_model(g).SerializeToString())
    del onnx
    with pytest.raises(BundleError, match=r"imu fp32 could not be opened"):
        load_bundle(copy, modalities=["imu"], precision="fp32", fallback=False)
    # With fallback, the INT8 variant still runs, and the report says what failed.
    with load_bundle(copy, modalities=["imu"], precision="fp32") as b:
        c = b.choices["imu"]
        assert c.variant != "fp32" and c.status == "fallback" and "fp32" == c.tried[0]["variant"]


def test_bundle_check_cli(all_targets_bundle):
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "bundle", "check",
                        str(all_targets_bundle), "--json", "--threads", "1", "--repeat", "1"],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["cpu"]["isa"] and report["cpu"]["target"]
    for m in ("audio", "imu"):
        e = report["encoders"][m]
        assert e["golden_n"] >= 4
        rows = {row["variant"]: row for row in e["variants"]}
        assert rows["fp32"]["check"]["passed"] and rows["fp32"]["speed"]["batch1_ms"] > 0
        mine = [row for row in rows.values() if row["for_this_cpu"] and row["precision"] == "int8"]
        assert len(mine) == 1 and mine[0]["check"]["passed"]
        assert e["picked"]["variant"] == mine[0]["variant"] and e["picked"]["status"] == "verified"
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "bundle", "check",
                        str(all_targets_bundle), "--target", "x86-avx2", "--modalities", "imu",
                        "--repeat", "1"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "INT8 target x86-avx2 (overridden)" in r.stdout and "not for this CPU" in r.stdout


def test_bundle_check_exit_status_when_nothing_passes(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)

    def impossible(m):
        for v in m["encoders"]["imu"]["variants"].values():
            v["check"]["threshold"] = 1.0      # nothing is that exact after a round trip
    _edit(copy, impossible)
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "bundle", "check", str(copy),
                        "--modalities", "imu", "--repeat", "1"], capture_output=True, text=True,
                       cwd=REPO, timeout=600)
    assert r.returncode == 1 and "NONE:" in r.stdout and "FAIL" in r.stdout
