"""Shared test fixtures: where the reference numbers live, and skipping where they don't."""
from __future__ import annotations

import os
import time
from pathlib import Path

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


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``shared/fixtures/imagebind``; the test is skipped where the shared folder is absent."""
    d = shared_dir()
    if d is None:
        pytest.skip("../shared/fixtures/imagebind is absent (as on a user's machine)")
    return d / "fixtures" / "imagebind"


@pytest.fixture(scope="session")
def parity_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "parity"


@pytest.fixture(scope="session")
def preproc_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "preproc"
