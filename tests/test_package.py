"""Package-level guarantees: the device side imports without torch; the CLI answers --help."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO

# Every device-side module. Each must import (and its torch-free functions run) with torch absent.
DEVICE_SIDE = [
    "edgebind",
    "edgebind.modality",
    "edgebind.errors",
    "edgebind.preprocess",
    "edgebind.preprocess.wordpiece",
    "edgebind.preprocess.text_tokens",
    "edgebind.preprocess.text_spec",
    "edgebind.firmware_bridge",
    "edgebind.calibration",
    "edgebind.cli",
    "edgebind.record",
    "edgebind.record.cli",
    "edgebind.record.capture_cli",
    "edgebind.sensors",
    "edgebind.sensors.config",
    "edgebind.sensors.sources",
    "edgebind.sensors.ring",
    "edgebind.sensors.windows",
    "edgebind.sim",
    "edgebind.sim.cli",
    "edgebind.profile",
    "edgebind.calibration.cli",
    "edgebind.calibration.imu",
    "edgebind.calibration.camera",
    "edgebind.calibration.sync",
    "edgebind.calibration.thermal",
    "edgebind.calibration.audio",
    "edgebind.calibration.thresholds",
    "edgebind.calibration.quant",
    "edgebind.anchors",
    "edgebind.anchors_cli",
    "edgebind.anchor_report",
    "edgebind.detect", "edgebind.detect.matching", "edgebind.detect.tune", "edgebind.detect.tuned",
    "edgebind.sinks",
    "edgebind.pipeline",
    "edgebind.daemon",
    "edgebind.daemon.config",
    "edgebind.daemon.health",
    "edgebind.daemon.sdnotify",
    "edgebind.daemon.service",
    "edgebind.demo",
    "edgebind.assets",
    "edgebind.evaluate",
    "edgebind.train",
    "edgebind.train.data",
    "edgebind.train.simdata",
    "edgebind.train.mcapdata",
    "edgebind.train.metrics",
    "edgebind.train.cli",
]


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    # sys.modules["torch"] = None makes any `import torch` raise ImportError, as on a device.
    prelude = "import sys; sys.modules['torch'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_device_side_imports_without_torch():
    code = "import importlib\n" + "".join(
        f"importlib.import_module({m!r})\n" for m in DEVICE_SIDE) + "print('ok')\n"
    r = run_without_torch(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_preprocessing_runs_without_torch():
    r = run_without_torch("""
        import numpy as np
        from edgebind import preprocess as pp
        assert pp.tokenize(["a dog"]).shape == (1, 77)
        rng = np.random.default_rng(0)
        assert pp.image(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).shape == (3, 224, 224)
        assert pp.audio(rng.standard_normal(16000 * 3).astype(np.float32) * 0.1, 16000).shape == (3, 1, 128, 204)
        print('ok')
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_torch_really_is_blocked_in_that_check():
    # Guards the guard: the prelude must make torch unimportable, or the tests above prove nothing.
    r = run_without_torch("import torch")
    assert r.returncode != 0
    assert "ImportError" in r.stderr or "ModuleNotFoundError" in r.stderr


def test_cli_help_lists_subcommands():
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "--help"],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "quickstart" in r.stdout


def test_models_need_torch_with_clear_message():
    r = run_without_torch("import edgebind.models")
    assert r.returncode != 0
    assert "torch" in r.stderr


def test_atomic_write_gives_normal_permissions(tmp_path):
    # A file written for a service (anchors, profiles) must not keep mkstemp's 0600.
    import os

    from edgebind.fileio import atomic_write
    old = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "sub" / "x.json", b"{}\n")
    finally:
        os.umask(old)
    assert p.read_bytes() == b"{}\n"
    assert oct(p.stat().st_mode & 0o777) == oct(0o644)
    assert not [f for f in p.parent.iterdir() if f.name != "x.json"]
