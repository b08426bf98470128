"""Fixtures for the firmware-bridge tests: the C build (skipped cleanly without make/gcc)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
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


def sim_thermal_pixels(frame_id: int, w: int, h: int) -> np.ndarray:
    """Python twin of sim_thermal_pixel() in firmware/sim/sim_signals.c (centikelvin)."""
    y, x = np.mgrid[0:h, 0:w]
    v = 29500 + (y * 1000) // h
    cx, cy, r = (frame_id * 3) % w, h // 2, max(h // 5, 2)
    v = v + np.where((x - cx) ** 2 + (y - cy) ** 2 <= r * r, 1500, 0)
    return v.astype(np.uint16)
