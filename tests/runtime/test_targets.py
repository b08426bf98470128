"""INT8 variants per CPU target: what an ``--target all`` export writes, which variant each CPU
gets, and what happens when a variant does not compute what the exporter measured."""
from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from edgebind.runtime import BundleError, load_bundle
from edgebind.runtime.bundle import sha256_file
from edgebind.runtime.cpu import TARGETS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def test_export_writes_a_variant_per_weight_form(all_targets_bundle):
    m = _manifest(all_targets_bundle)
    assert m["export"]["int8_targets"] == list(TARGETS)
    for mod in ("audio", "imu"):
        variants = m["encoders"][mod]["variants"]
        covered = [t for v in variants.values() for t in v.get("targets", [])]
        assert sorted(covered) == sorted(TARGETS)          # each target exactly once
        assert set(variants["int8"]["targets"]) == {"x86-vnni", "arm64"}
        avx2 = next(v for v in variants.values() if "x86-avx2" in v.get("targets", []))
        # AVX2 without VNNI gets weights whose u8 x s8 pairs cannot saturate int16.
        assert avx2["quantization"]["weight_form"] in ("s7", "u8")
        assert avx2["precision"] == "int8"
        # The IMU's input stem stays FP32 (raw sensor ranges); SmoothQuant was measured.
        if mod == "imu":
            assert any("stem" in op for op in avx2["quantization"]["float_ops"])
        measured = variants["int8"]["int8_forms_measured"]
        assert {"s8", "s8+smoothquant"} <= set(measured)


@pytest.mark.parametrize("target", TARGETS)
def test_each_cpu_gets_the_variant_made_for_it(all_targets_bundle, target):
    with load_bundle(all_targets_bundle, target=target, threads=2) as b:
        for mod, choice in b.choices.items():
            v = b.manifest.encoders[mod].variants[choice.variant]
            assert v.family == "int8" and target in v.targets
            assert choice.status == "verified"
            assert choice.check.agreement_min >= choice.check.threshold
            assert any("not" not in s for s in choice.skipped)   # the other form, reported
        assert b.cpu.target == target and b.cpu.overridden


def test_environment_override_selects_the_form(all_targets_bundle, monkeypatch):
    monkeypatch.setenv("EDGEBIND_CPU_TARGET", "x86-avx2")
    with load_bundle(all_targets_bundle, modalities=["imu"], threads=2) as b:
        assert b.choices["imu"].variant != "int8"
        assert "x86-avx2" in b.manifest.encoders["imu"].variants[b.choices["imu"].variant].targets


def _break_variant(bundle, mod, key):
    """Rewrite a variant's weights (hash updated, so the bundle is not 'tampered'): a stand-in
    for a CPU whose kernels compute something else than the exporter's."""
    import onnx
    from onnx import numpy_helper
    manifest = _manifest(bundle)
    entry = manifest["encoders"][mod]["variants"][key]
    path = bundle / entry["file"]
    proto = onnx.load(str(path))
    for t in proto.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype in (np.int8, np.uint8) and a.size > 1000:
            flipped = np.ascontiguousarray(a[..., ::-1])
            t.CopyFrom(numpy_helper.from_array(flipped, t.name))
    onnx.save_model(proto, str(path))
    entry["sha256"], entry["bytes"] = sha256_file(path), path.stat().st_size
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_a_variant_that_fails_its_check_falls_back_and_says_so(all_targets_bundle, tmp_path,
                                                             caplog):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    _break_variant(copy, "imu", "int8")
    with caplog.at_level(logging.WARNING, logger="edgebind.runtime"):
        b = load_bundle(copy, target="x86-vnni", threads=2)
    choice = b.choices["imu"]
    assert choice.variant == "fp32" and choice.status == "fallback"
    assert choice.tried[0]["variant"] == "int8" and not choice.tried[0]["passed"]
    assert choice.tried[0]["agreement_min"] < choice.tried[0]["threshold"]
    assert b.choices["audio"].status == "verified"          # the other tower is untouched
    assert set(b.fallbacks) == {"imu"}
    assert "imu runs fp32" in caplog.text and "below its threshold" in caplog.text
    report = b.report()
    assert report["encoders"]["imu"]["status"] == "fallback" and report["cpu"]["target"] == "x86-vnni"
    b.close()
    # Asked for exactly this variant without fallback: an error, never a silent wrong answer.
    with pytest.raises(BundleError, match="imu int8 failed its golden-set check"):
        load_bundle(copy, target="x86-vnni", precision="int8", fallback=False, modalities=["imu"])


def test_a_cpu_without_a_variant_runs_fp32_and_reports_why(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    manifest = _manifest(copy)
    for v in manifest["encoders"]["imu"]["variants"].values():
        if "targets" in v:
            v["targets"] = ["riscv-v"]      # a target this EdgeBind does not know
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with load_bundle(copy, modalities=["imu"], threads=2) as b:
        choice = b.choices["imu"]
        assert choice.variant == "fp32" and choice.status == "verified"
        assert choice.skipped and all("made for riscv-v" in s for s in choice.skipped)
    with pytest.raises(BundleError, match="no 'int8' variant made for this CPU"):
        load_bundle(copy, modalities=["imu"], precision="int8", fallback=False)


def test_golden_set_problems(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    golden = copy / _manifest(copy)["encoders"]["imu"]["golden"]["file"]
    golden.write_bytes(golden.read_bytes()[:-200])
    with pytest.raises(BundleError, match="imu.golden.npz has .* bytes"):
        load_bundle(copy, modalities=["imu"])
    with pytest.raises(BundleError, match="imu golden set: .*not a readable golden set"):
        load_bundle(copy, modalities=["imu"], verify=False)
    # A bundle without golden sets (made before them) still loads, marked unverified.
    manifest = _manifest(copy)
    for e in manifest["encoders"].values():
        e.pop("golden")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with load_bundle(copy, modalities=["imu"], threads=2) as b:
        assert b.choices["imu"].status == "unverified" and b.choices["imu"].check is None


def test_output_that_does_not_fit_the_manifest_fails_at_load(all_targets_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    manifest = _manifest(copy)
    manifest["embed_dim"] = 7
    for e in manifest["encoders"].values():
        e["output"]["shape"] = ["batch", 7]
        e.pop("golden")          # even without a golden set, warm-up checks the shape
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"backend returned shape \(1, 128\), expected \(1, 7\)"):
        load_bundle(copy, modalities=["imu"], precision="fp32", fallback=False)
    with pytest.raises(BundleError, match=r"no imu variant computes correctly.*expected \(1, 7\)"):
        load_bundle(copy, modalities=["imu"])


def test_pipeline_health_and_metrics_report_the_fallback(all_targets_bundle, tmp_path):
    from edgebind.anchors import Anchor, AnchorSet, normalize
    from edgebind.daemon.health import prometheus_text
    from edgebind.embedder import Embedder
    from edgebind.pipeline import Pipeline
    copy = tmp_path / "b"
    shutil.copytree(all_targets_bundle, copy)
    _break_variant(copy, "imu", "int8")
    emb = Embedder.from_bundle(copy, target="x86-vnni", threads=2)
    rng = np.random.default_rng(0)
    aset = AnchorSet(emb.space_id, emb.embed_dim, [
        Anchor(f"a{i}", {"default": normalize(rng.normal(size=emb.embed_dim))}) for i in range(2)])
    from edgebind.sample import StreamInfo
    infos = [StreamInfo("mic", "audio", 16000.0, (-1, 1), "1"),
             StreamInfo("imu", "imu", 1000.0, (-1, 6), "SI")]
    pipe = Pipeline([], emb, aset, stream_infos=infos)
    health = pipe.health()
    assert health["encoders"]["imu"]["status"] == "fallback"
    assert health["encoders"]["imu"]["variant"] == "fp32"
    assert health["encoders"]["audio"]["status"] == "verified"
    assert health["cpu"]["target"] == "x86-vnni"
    text = prometheus_text(pipe.metrics(), health)
    assert 'edgebind_encoder_fallback{modality="imu"} 1' in text
    assert 'edgebind_encoder_fallback{modality="audio"} 0' in text
    assert 'edgebind_encoder_info{modality="imu",variant="fp32"' in text
    assert "edgebind_encoder_check_agreement{modality=\"audio\"" in text


def test_one_uint8_variant_can_serve_every_target(tmp_path):
    pytest.importorskip("torch")
    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import resolve_model
    model, space, info = resolve_model("tiny", seed=5)
    opts = ExportOptions(modalities=["imu"], precisions=["int8"], int8_form="dynamic",
                         targets=["all"], int8_weights=("u8",), threads=2, progress=False)
    manifest = export_bundle(model, tmp_path / "b", opts, space_id=space, model_info=info)
    variants = manifest.encoders["imu"].variants
    assert list(variants) == ["int8-u8"]
    assert sorted(variants["int8-u8"].targets) == sorted(TARGETS)   # exact on each of them
    for target in TARGETS:
        with load_bundle(tmp_path / "b", target=target, threads=2) as b:
            assert b.choices["imu"].variant == "int8-u8" and b.choices["imu"].status == "verified"
    with pytest.raises(ValueError, match="int8 weights"):
        ExportOptions(modalities=["imu"], int8_weights=("s9",)).validate()
