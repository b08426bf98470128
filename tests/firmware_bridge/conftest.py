"""Fixtures for the firmware-bridge tests: the C build (skipped cleanly without make/gcc)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware_bridge" / "firmware"
VECTORS = REPO / "firmware_bridge" / "vectors"


@pytest.fixture(scope="session")
def firmware_build() -> Path:
    """``make -C firmware_bridge/firmware``: the C unit tests, vector emitter and virtual device."""
    missing = [t for t in ("make", "gcc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"the C build needs {' and '.join(missing)}, not found on PATH")
    from edgebind.firmware_bridge.virtual_device import build_firmware

    return build_firmware(FIRMWARE)


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return VECTORS
