"""Why INT8 variants are made per CPU target, shown on real ONNX Runtime kernels.

A MatMul whose uint8 activations and int8 weights are near full scale: on AVX2 without VNNI,
ONNX Runtime's u8 x s8 kernel adds pairs of products into a saturating int16 and loses about
half the result; 7-bit weights (x86-avx2's ``s7``), uint8 weights (``u8``) and the exporter's
``exact_copy`` of the s8 model are right everywhere. The AVX2 half runs the same script under
``qemu-x86_64 -cpu Haswell`` (a real AVX2 CPU as far as ONNX Runtime can tell; Debian's
qemu-user, which .ci/run installs), so it holds on a VNNI machine too.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgebind.runtime.cpu import detect
from tests.conftest import REPO, missing

onnx = pytest.importorskip("onnx")

K, N = 64, 16
RUN = textwrap.dedent("""
    import json, sys
    import numpy as np, onnxruntime as ort
    x = np.load(sys.argv[1])
    out = {}
    for name in sys.argv[2:]:
        s = ort.InferenceSession(name, providers=["CPUExecutionProvider"])
        out[name] = s.run(None, {"x": x})[0].tolist()
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from onnx import TensorProto, helper, numpy_helper

    from edgebind.export.quantize import exact_copy, to_int8
    d = tmp_path_factory.mktemp("sat")
    rng = np.random.default_rng(0)
    w = rng.uniform(0.9, 1.0, (K, N)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "mm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", N])],
                          [numpy_helper.from_array(w, "w")])
    fp32 = d / "fp32.onnx"
    onnx.save_model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(fp32))
    paths = {}
    for form in ("s8", "s7", "u8"):
        # quantize_stems=True: this one MatMul is fed by the input and must be quantized.
        to_int8(fp32, d / f"{form}.onnx", "dynamic", "x", weights=form, quantize_stems=True)
        paths[form] = d / f"{form}.onnx"
    paths["s8-exact"] = exact_copy(paths["s8"], d / "s8-exact.onnx")
    x = rng.uniform(0.9, 1.0, (4, K)).astype(np.float32)
    np.save(d / "x.npy", x)
    return d, x, x @ w, paths


def _run(cmd_prefix, d, paths):
    script = d / "run.py"
    script.write_text(RUN)
    names = [str(p) for p in paths.values()]
    r = subprocess.run([*cmd_prefix, sys.executable, str(script), str(d / "x.npy"), *names],
                       capture_output=True, text=True, cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {k: np.array(out[str(p)]) for k, p in paths.items()}


def _rel(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def test_safe_forms_are_exact_on_this_cpu(models):
    d, x, want, paths = models
    got = _run([], d, paths)
    for form in ("s7", "u8", "s8-exact"):
        assert _rel(got[form], want) < 0.02, form
    if detect().target in ("x86-vnni", "arm64"):
        assert _rel(got["s8"], want) < 0.02
        assert np.array_equal(got["s8"], got["s8-exact"])   # same integers, same result


def test_avx2_saturates_s8_and_not_the_avx2_forms(models):
    qemu = shutil.which("qemu-x86_64")
    if qemu is None or detect(env={}).machine != "x86_64":
        missing("qemu-x86_64 is not installed (apt-get install qemu-user), so no AVX2 CPU "
                "can be emulated here")
    d, x, want, paths = models
    got = _run([qemu, "-cpu", "Haswell"], d, paths)
    assert _rel(got["s8"], want) > 0.2          # the saturation the x86-avx2 target avoids
    for form in ("s7", "u8", "s8-exact"):
        assert _rel(got[form], want) < 0.02, form
