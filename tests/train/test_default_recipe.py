"""The default-model recipe end to end at a tiny scale: cache, world windows, both stages,
export, anchors and evaluation. Small enough for CI; the numbers mean nothing at this scale,
the plumbing is what is checked."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.conftest import REPO  # noqa: E402


@pytest.mark.slow
def test_default_recipe_smoke(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    cmd = [sys.executable, "-m", "edgebind.train.default", "--scale", "0.02", "--quiet",
           "--work", str(work), "--out", str(out)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    assert set(manifest["encoders"]) == {"vision", "text", "audio", "depth", "thermal", "imu"}
    training = manifest["training"]
    assert "streamed 'default' worlds" in training["data"]
    report = json.loads((out / "eval.json").read_text())
    assert set(report["modalities"]) == {"audio", "depth", "thermal", "imu"}
    assert (work / "world-cache" / "meta.json").is_file()
    assert json.loads((out / "anchors.json").read_text())["anchors"]
