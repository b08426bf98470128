"""Export -> load -> embed round trips on the tiny preset, with the real ONNX Runtime."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgebind import models  # noqa: E402
from edgebind.export import ExportError, ExportOptions, export_bundle  # noqa: E402
from edgebind.runtime.accuracy import compare  # noqa: E402
from edgebind.runtime.sample_inputs import example_input  # noqa: E402
from edgebind.export.source import resolve_model  # noqa: E402
from edgebind.modality import MODALITIES  # noqa: E402
from edgebind.runtime import BundleError, InputError, load_bundle  # noqa: E402
from edgebind.runtime.cpu import detect  # noqa: E402
from edgebind.export.quantize import TARGET_WEIGHTS  # noqa: E402
from tests.conftest import REPO  # noqa: E402

CPU_PRECISIONS = ["fp32", "fp16", "int8", "torch"]


def int8_key(variants: dict) -> str:
    """The INT8 variant an export for this machine's CPU target made (its key names the weight
    form: int8 on VNNI/ARM64, int8-s7 or int8-u8 on AVX2)."""
    keys = [k for k, v in variants.items() if v.get("precision", k) == "int8"]
    assert len(keys) == 1, keys
    return keys[0]


@pytest.fixture(scope="module")
def tiny():
    return resolve_model("tiny", seed=3)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory, tiny):
    model, space, info = tiny
    out = tmp_path_factory.mktemp("bundles") / "tiny"
    opts = ExportOptions(modalities=list(MODALITIES), precisions=CPU_PRECISIONS,
                         int8_form="dynamic", threads=2, progress=False)
    export_bundle(model, out, opts, space_id=space, model_info=info)
    return out


def torch_embed(model, m, x):
    with torch.inference_mode():
        return model({m: torch.from_numpy(x)})[m].numpy()


@pytest.mark.parametrize("precision", CPU_PRECISIONS)
def test_round_trip_every_modality(bundle_dir, tiny, precision):
    model = tiny[0]
    bundle = load_bundle(bundle_dir, precision=precision, backend="auto", threads=2)
    assert set(bundle.encoders) == set(MODALITIES)
    for m, enc in bundle.encoders.items():
        x = example_input(m, 5, seed=123)          # held out: a seed the export never used
        assert enc.input_shape[0] == "batch"
        assert all(isinstance(w, str) or w == g for w, g in zip(enc.input_shape[1:], x.shape[1:]))
        got = enc.embed(x)
        want = torch_embed(model, m, x)
        assert got.dtype == np.float32 and got.shape == want.shape
        report = compare(want, got)
        if precision in ("fp32", "torch"):
            assert report["max_abs_diff"] < 1e-3 * max(1.0, np.abs(want).max()), (m, report)
            assert report["centred_cosine_min"] > 0.99999, (m, report)
        elif precision == "fp16":
            assert report["centred_cosine_mean"] > 0.999, (m, report)
        else:
            assert report["centred_cosine_mean"] > 0.95, (m, report)
    bundle.close()


def test_manifest_records_reports_and_hashes(bundle_dir, tiny):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["format"] == "edgebind.bundle" and manifest["format_version"] == 1
    assert manifest["space_id"] == tiny[1]
    assert manifest["embed_dim"] == 128
    here = detect().target
    for m in MODALITIES:
        variants = manifest["encoders"][m]["variants"]
        assert {v.get("precision", k) for k, v in variants.items()} == set(CPU_PRECISIONS)
        assert variants["fp32"]["parity"]["max_abs_diff"] < 1e-3
        int8 = variants[int8_key(variants)]
        assert int8["quantization"]["form"] == "dynamic"
        assert int8["targets"] == [here]                 # --target auto: this machine's
        assert int8["quantization"]["weight_form"] in TARGET_WEIGHTS[here]
        assert 0.9 < int8["accuracy"]["centred_cosine_mean"] <= 1.0
        assert len(int8["sha256"]) == 64
        # Every variant carries the agreement it must keep on the encoder's golden set.
        golden = manifest["encoders"][m]["golden"]
        assert golden["n"] >= 4 and (bundle_dir / golden["file"]).is_file()
        for v in variants.values():
            assert v["check"]["threshold"] <= v["check"]["export"]["agreement_min"] <= 1.0 + 1e-9
    assert set(manifest["preprocess"]) >= {"vision", "audio", "imu"}
    assert not list(bundle_dir.parent.glob(".*partial*")), "temporary export folder left behind"


def test_space_id_depends_on_weights_only(tiny):
    _, space_a, _ = tiny
    _, space_b, _ = resolve_model("tiny", seed=3)
    _, space_c, _ = resolve_model("tiny", seed=4)
    assert space_a == space_b != space_c


def test_runtime_checks_inputs(bundle_dir):
    enc = load_bundle(bundle_dir, modalities=["imu"], precision="fp32").encoders["imu"]
    with pytest.raises(InputError, match=r"imu input of shape \(batch, 6, 2000\)"):
        enc.embed(np.zeros((1, 6, 1999), np.float32))
    with pytest.raises(InputError, match="dtype float32"):
        enc.embed(np.zeros((1, 6, 2000), np.float64))
    bad = np.zeros((2, 6, 2000), np.float32)
    bad[1, 3, 7] = np.nan
    with pytest.raises(InputError, match="NaN"):
        enc.embed(bad)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_bundle_is_refused(bundle_dir, tmp_path, damage):
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    variants = json.loads((copy / "manifest.json").read_text())["encoders"]["audio"]["variants"]
    victim = copy / variants[int8_key(variants)]["file"]
    data = bytearray(victim.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
        msg = "sha256"
    elif damage == "truncate":
        victim.write_bytes(bytes(data[:-100]))
        msg = "truncated"
    else:
        victim.unlink()
        msg = "missing"
    with pytest.raises(BundleError, match=msg):
        load_bundle(copy, modalities=["vision"])  # every file is verified, not only those used


def test_manifest_errors_name_the_key(bundle_dir, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["encoders"]["vision"]["variants"]["fp32"]["file"] = "../escape.onnx"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"encoders.vision.variants.fp32.file"):
        load_bundle(copy)
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format_version"):
        load_bundle(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(copy)


def test_missing_modality_and_precision(bundle_dir, tmp_path):
    with pytest.raises(BundleError, match="no 'trt-fp16' model"):
        load_bundle(bundle_dir, precision="trt-fp16", modalities=["vision"])
    with pytest.raises(BundleError, match="not a directory"):
        load_bundle(tmp_path / "nope")


def test_export_refuses_bad_requests(tiny, tmp_path):
    model, space, info = tiny
    vision_only = models.build("tiny", ["vision"])
    opts = ExportOptions(modalities=["audio"], progress=False)
    with pytest.raises(ValueError, match="no audio tower"):
        export_bundle(vision_only, tmp_path / "x", opts, space_id=space, model_info=info)
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        export_bundle(model, tmp_path / "exists", ExportOptions(modalities=["imu"], progress=False),
                      space_id=space, model_info=info)
    empty = tmp_path / "calib"
    empty.mkdir()
    with pytest.raises(ValueError, match="no imu samples"):
        export_bundle(model, tmp_path / "y", ExportOptions(modalities=["imu"], calibration=str(empty),
                                                           progress=False),
                      space_id=space, model_info=info)
    with pytest.raises(ValueError, match="precision 'int4'"):
        ExportOptions(modalities=["imu"], precisions=["int4"]).validate()
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_min_cosine_fails_loudly_and_leaves_nothing(tiny, tmp_path):
    model, space, info = tiny
    opts = ExportOptions(modalities=["imu"], precisions=["fp32", "int8"], int8_form="dynamic",
                         min_cosine=1.0001, progress=False)
    with pytest.raises(ExportError, match="below --min-cosine"):
        export_bundle(model, tmp_path / "b", opts, space_id=space, model_info=info)
    assert list(tmp_path.iterdir()) == []


def test_calibration_folder_is_used(tiny, tmp_path):
    model, space, info = tiny
    calib = tmp_path / "calib"
    (calib / "imu").mkdir(parents=True)
    for i in range(3):
        np.save(calib / "imu" / f"s{i}.npy", example_input("imu", 4, seed=50 + i))
    opts = ExportOptions(modalities=["imu"], precisions=["int8"], int8_form="qdq",
                         calibration=str(calib), progress=False)
    manifest = export_bundle(model, tmp_path / "b", opts, space_id=space, model_info=info)
    variants = manifest.encoders["imu"].variants
    v = variants[int8_key({k: x.info for k, x in variants.items()})]
    assert v.info["calibration_source"] == f"folder:{calib}"
    assert v.info["quantization"]["form"] == "qdq"
    assert v.info["quantization"]["calibration_batches"] >= 1
    assert "fp32" not in manifest.encoders["imu"].variants
    assert not (tmp_path / "b" / "imu.fp32.onnx").exists()


def test_bundle_runs_without_torch(bundle_dir):
    code = textwrap.dedent(f"""
        import sys; sys.modules['torch'] = None
        import numpy as np
        from edgebind.runtime import load_bundle
        from edgebind.runtime.sample_inputs import example_input
        b = load_bundle({str(bundle_dir)!r})
        assert b.encoders['audio'].backend == 'onnxruntime'
        assert b.encoders['audio'].precision.startswith('int8')   # CPU default: the fastest form
        assert b.choices['audio'].status == 'verified'            # checked on its golden set
        y = b.encoders['text'].embed(example_input('text', 3))
        assert y.shape == (3, 128), y.shape
        print('ok', b.space_id)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok ebs1-")


def test_cli_export_and_help(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "export", "--help"],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0 and "--min-cosine" in r.stdout and "--calibration" in r.stdout
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "export", "--model", "tiny",
                        "--modalities", "depth", "--precision", "fp32", "--out", str(out),
                        "--quiet", "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["encoders"]["depth"]["variants"]["fp32"]["file"] == "depth.fp32.onnx"
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "export", "--model", "tiny",
                        "--modalities", "depth", "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 1 and "already exists" in r.stderr


def test_bench_reports_every_precision_and_torch(bundle_dir):
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "bench", "--bundle", str(bundle_dir),
                        "--modalities", "imu", "--batch", "1,2", "--seconds", "0.2",
                        "--threads", "1", "--compare-torch", "--json"],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["cpu"]["target"] == detect().target and report["cpu"]["isa"]
    rows = {("int8" if row["precision"].startswith("int8") else row["precision"]): row
            for row in report["results"]}
    assert set(rows) == {"fp32", "fp16", "int8", "torch-eager"}, rows
    assert rows["int8"]["for_this_cpu"] is True
    for p, row in rows.items():
        assert "error" not in row, row
        assert row["backend"] == ("torch" if p == "torch-eager" else "onnxruntime")
        for b in ("1", "2"):
            t = row["batches"][b]
            assert 0 < t["p50_ms"] <= t["p90_ms"] <= t["p99_ms"] and t["throughput_per_s"] > 0
        assert row["peak_rss_mb"] > 10
    # The torch tower is the same weights: its embeddings agree with ONNX FP32.
    assert rows["torch-eager"]["vs_fp32"]["centred_cosine_mean"] > 0.99999
    assert rows["int8"]["vs_fp32"]["centred_cosine_mean"] > 0.95
    assert "imu fp32/torch (batch 2)" in report["speedups"]


def test_space_mismatch_is_an_error(bundle_dir, tmp_path):
    from edgebind import SpaceMismatchError
    other_model, other_space, info = resolve_model("tiny", seed=9)
    other = tmp_path / "other"
    export_bundle(other_model, other, ExportOptions(modalities=["imu"], progress=False),
                  space_id=other_space, model_info=info)
    a = load_bundle(bundle_dir, modalities=["imu"], precision="fp32")
    b = load_bundle(other, modalities=["imu"])
    a.check_space(a.encoders["imu"].space_id)        # same space: fine
    with pytest.raises(SpaceMismatchError, match="embedding spaces differ"):
        a.check_space(b.space_id, f"bundle {other}")


def test_embedder_from_bundle_matches_torch(bundle_dir, tiny):
    from edgebind import Embedder
    from edgebind.quickstart import generated_inputs
    raw = generated_inputs(seed=1)
    on_device = Embedder.from_bundle(bundle_dir, precision="fp32")
    workstation = Embedder(tiny[0])
    for m in ("vision", "audio", "depth", "thermal", "imu"):
        a = on_device.embed(**{m: raw[m]})[m]
        b = workstation.embed(**{m: raw[m]})[m]
        assert np.allclose(a, b, atol=1e-3 * max(1.0, np.abs(b).max())), m
    assert on_device.space_id == tiny[1]


def test_export_from_checkpoint_file_keeps_the_space(tiny, tmp_path):
    model, space, _ = tiny
    ckpt = tmp_path / "tiny.pth"
    torch.save(model.state_dict(), ckpt)
    out = tmp_path / "b"
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "export", "--model", str(ckpt),
                        "--modalities", "imu,text", "--precision", "fp32", "--out", str(out),
                        "--quiet", "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    manifest = json.loads(r.stdout)
    assert manifest["space_id"] == space            # same weights, same space, whatever the route
    assert manifest["model"]["config"]["imu_embed_dim"] == 128   # inferred from shapes
    enc = load_bundle(out, modalities=["imu"]).encoders["imu"]
    x = example_input("imu", 2, seed=8)
    assert np.allclose(enc.embed(x), torch_embed(model, "imu", x), atol=1e-4)
