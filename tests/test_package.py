"""Package-level guarantees: the device side imports without torch; the CLI answers --help."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import REPO

# The workstation side: the only modules allowed to need torch at import. Everything else in the
# installed package (its mapped sub-packages included) is device side and must import without it;
# the test walks the package, so a new module is checked the day it is added.
WORKSTATION = ("edgebind.models", "edgebind.export.text_hub_quant", "edgebind.train.loop",
               "edgebind.train.lora", "edgebind.train.losses", "edgebind.train.modelio",
               "edgebind.train.tasks")
ROOTS = ("edgebind", "edgebind.export", "edgebind.calibration", "edgebind.firmware_bridge")


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    # sys.modules["torch"] = None makes any `import torch` raise ImportError, as on a device.
    prelude = "import sys; sys.modules['torch'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_device_side_imports_without_torch():
    r = run_without_torch(f"""
        import importlib, json, pkgutil
        names = set()
        for root in {ROOTS!r}:
            names.add(root)
            names.update(m.name for m in pkgutil.walk_packages(
                importlib.import_module(root).__path__, root + ".", onerror=lambda name: None))
        failed = {{}}
        for name in sorted(names):
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed[name] = f"{{type(exc).__name__}}: {{exc}}"
        print(json.dumps({{"walked": sorted(names), "failed": failed}}))
    """)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert len(report["walked"]) > 100, "the walk found too few modules to mean anything"
    device_side_failures = {n: why for n, why in report["failed"].items()
                            if not n.startswith(WORKSTATION)}
    assert not device_side_failures, device_side_failures
    for name, why in report["failed"].items():   # workstation modules fail on torch, not else
        assert "torch" in why.lower() or "pytorch" in why.lower(), (name, why)


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


def test_every_package_is_installed():
    # pyproject lists packages by hand (package-dir maps three top-level folders into edgebind.*);
    # an editable install finds a package that is missing from the list, a wheel does not.
    import tomllib
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {folder: name for name, folder in cfg["package-dir"].items()}
    on_disk = set()
    for folder, name in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder).parts
            on_disk.add(".".join((name, *rel)))
    assert on_disk - set(cfg["packages"]) == set(), "packages missing from pyproject.toml"
    assert set(cfg["packages"]) - on_disk == set(), "pyproject.toml lists packages that are gone"
