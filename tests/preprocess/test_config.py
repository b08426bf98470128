"""PreprocessConfig: JSON round trip, defaults = reference, bad manifests, and no torch."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import edgebind.preprocess as P
from edgebind.modality import INPUT_SPECS, MODALITIES


def test_roundtrip_and_defaults():
    c = P.PreprocessConfig()
    d = json.loads(json.dumps(c.to_dict()))
    assert d["schema"] == "edgebind.preprocess/1" and set(d) == {"schema", *MODALITIES}
    assert P.PreprocessConfig.from_dict(d) == c
    assert d["audio"]["mean"] == -4.268 and d["text"]["context_length"] == 77
    assert P.PreprocessConfig.from_dict({}) == c
    custom = P.PreprocessConfig(depth=P.DepthParams(baseline_m=0.095))
    assert P.PreprocessConfig.from_dict(custom.to_dict()).depth.baseline_m == 0.095
    assert c.for_modality("imu") is c.imu


@pytest.mark.parametrize("bad,msg", [
    ({"schema": "edgebind.preprocess/9"}, "schema"),
    ({"video": {}}, "unknown key"),
    ({"depth": {"focal": 1.0}}, "focal"),
    ({"imu": {"window_s": "5"}}, "window_s"),
])
def test_bad_manifest(bad, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        P.PreprocessConfig.from_dict(bad)


def test_output_shapes_match_modality_specs():
    import numpy as np
    t = np.arange(0, 6 * 10**9, 10**7, dtype=np.int64)
    outs = {
        "vision": P.image(np.zeros((48, 64, 3), np.uint8)),
        "text": P.tokenize("x")[0],
        "audio": P.audio(np.zeros(32000, np.float32), 16000),
        "depth": P.depth(np.ones((48, 64))),
        "thermal": P.thermal(np.full((48, 64), 300.0)),
        "imu": P.imu(np.zeros((len(t), 6)), t),
    }
    for name, out in outs.items():
        spec = INPUT_SPECS[name]
        assert out.shape == spec.shape and str(out.dtype) == spec.dtype, name


def test_package_never_imports_torch():
    pkg = Path(P.__file__).parent
    for f in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in {"torch", "torchaudio", "torchvision"} for n in names), f
    code = ("import sys, numpy as np, edgebind.preprocess as P; P.tokenize('a'); "
            "P.audio(np.zeros(8000, np.float32), 8000); "
            "print([m for m in sys.modules if m.split('.')[0].startswith('torch')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
