"""The RP2040 reference firmware, built offline from ../shared/vendor (pico-sdk 2.2.0, picotool
2.2.0) by ``make -C firmware_bridge/firmware board``: the image is a valid RP2040 UF2 that picotool
reads, it matches the ELF, and its size and worst-case stack are within the chip's limits.

Skips with an install hint where the vendored SDK or the Arm toolchain is absent (a user's
machine); fails instead under EDGEBIND_REQUIRE_DEVICES=1 (CI, where .ci/run installs them)."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from .conftest import FIRMWARE, REPO

HINT = ("apt-get install cmake build-essential gcc-arm-none-eabi libnewlib-arm-none-eabi "
        "(.ci/run does), with the vendored pico-sdk in ../shared/vendor")
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FAMILY_PRESENT = 0x2000
RP2040_FAMILY = 0xE48BFF56
FLASH_BASE = 0x10000000


def _missing(reason: str) -> None:
    if os.environ.get("EDGEBIND_REQUIRE_DEVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _shared() -> Path:
    return Path(os.environ.get("EDGEBIND_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="module")
def board() -> Path:
    vendor = _shared() / "vendor"
    if not (vendor / "pico-sdk").is_dir() or not (vendor / "picotool").is_dir():
        _missing(f"no vendored pico-sdk/picotool at {vendor}: {HINT}")
    missing = [t for t in ("make", "cmake", "c++", "arm-none-eabi-gcc") if shutil.which(t) is None]
    if missing:
        _missing(f"the board build needs {', '.join(missing)}: {HINT}")
    proc = subprocess.run(["make", "-C", str(FIRMWARE), "board", f"SHARED={_shared()}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    return FIRMWARE / "build" / "rp2040"


def _uf2_blocks(data: bytes):
    assert len(data) % 512 == 0 and data, "a UF2 file is whole 512-byte blocks"
    for off in range(0, len(data), 512):
        m0, m1, flags, addr, size, blockno, nblocks, family = struct.unpack_from("<8I", data, off)
        (m_end,) = struct.unpack_from("<I", data, off + 508)
        yield (m0, m1, m_end), flags, addr, size, blockno, nblocks, family, data[off + 32:off + 32 + size]


def test_uf2_is_an_rp2040_flash_image_matching_the_elf(board, tmp_path):
    data = (board / "fb_rp2040.uf2").read_bytes()
    blocks = list(_uf2_blocks(data))
    image = bytearray()
    for i, (magic, flags, addr, size, blockno, nblocks, family, payload) in enumerate(blocks):
        assert magic == UF2_MAGIC and flags & UF2_FAMILY_PRESENT and family == RP2040_FAMILY
        assert (blockno, nblocks, size) == (i, len(blocks), 256)
        assert addr == FLASH_BASE + len(image)  # contiguous from the start of flash
        image += payload
    binary = tmp_path / "fw.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(board / "fb_rp2040.elf"), str(binary)],
                   check=True)
    want = binary.read_bytes()
    assert bytes(image[:len(want)]) == want and len(image) - len(want) < 256  # padded to a block
    report = json.loads((board / "board_report.json").read_text())
    assert report["flash_bytes"] == len(want)


def test_picotool_reads_the_image(board):
    picotool = FIRMWARE / "build" / "picotool-install" / "picotool" / "picotool"
    out = subprocess.run([str(picotool), "info", "-a", str(board / "fb_rp2040.uf2")],
                         capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^\s*([\w ]+?):\s+(.+?)\s*$", out, re.M))
    assert fields["name"] == "edgebind-fb-rp2040" and fields["version"] == "1.0.0"
    assert fields["binary start"] == "0x10000000" and fields["sdk version"] == "2.2.0"
    assert fields["pico_board"] == "pico"
    pins = {int(k): v for k, v in re.findall(r"^\s*(\d+):\s+(.+?)\s*$", out, re.M)}
    assert pins == {4: "I2C0 SDA", 5: "I2C0 SCL", 16: "SPI0 RX", 17: "ICM-42688 CS", 18: "SPI0 SCK",
                    19: "SPI0 TX", 20: "ICM-42688 INT1"}


def test_size_and_worst_case_stack_within_limits(board):
    rep = json.loads((board / "board_report.json").read_text())
    platform_h = _shared() / "vendor/pico-sdk/src/rp2040/pico_platform/include/pico/platform.h"
    sdk_stack = int(re.search(r"#define PICO_STACK_SIZE _u\((0x[0-9a-fA-F]+)\)", platform_h.read_text()).group(1), 16)
    assert rep["stack_bytes"] == sdk_stack  # the image reserves what the SDK says
    st = rep["stack"]
    assert 0 < st["worst_bytes"] <= sdk_stack - 1024, st
    assert st["worst_bytes"] == st["thread_bytes"] + st["isr_bytes"]
    assert not st["unbounded"] and not st["recursion"] and not st["unresolved_indirect"]
    assert [name for name, _ in st["thread_path"]][0] == "main"
    assert rep["warnings"] == []
    assert 0 < rep["flash_bytes"] <= 2 * 1024 * 1024
    assert rep["ram_static_bytes"] + rep["ram_heap_bytes"] + rep["stack_bytes"] <= 264 * 1024


def test_default_build_reports_no_thermal_calibration(board):
    """Without -DMLX90640_CALC the stub is built in: the image says so instead of pretending."""
    elf = (board / "fb_rp2040.elf").read_bytes()
    assert b"no thermal calibration" in elf and b"MLX90640-nocal" in elf
    assert "MLX90640_CALC not set" in (board.parent / "rp2040.configure.log").read_text()


def test_integrator_calculation_builds_in(board, tmp_path):
    """-DMLX90640_CALC=<file>: the integrator's temperature calculation replaces the stub."""
    calc = tmp_path / "calc.c"
    calc.write_text('#include "board_hal.h"\n'
                    "int board_mlx90640_init(void) { return 0; }\n"
                    "void board_mlx90640_calculate(const uint16_t w[834], float c[768])\n"
                    "{ for (int i = 0; i < 768; i++) c[i] = (float)(w[i] & 0xFF); }\n")
    out = FIRMWARE / "build" / "rp2040-calc-test"
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(["make", "-C", str(FIRMWARE), "board", f"SHARED={_shared()}",
                           f"BOARD_BUILD={out}", f"MLX90640_CALC={calc}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    log = (out.parent / (out.name + ".configure.log")).read_text()
    assert f"MLX90640 temperature calculation: {calc}" in log
    objects = {p.name for p in out.rglob("*.c.o")}
    assert "calc.c.o" in objects and "mlx90640_calc_stub.c.o" not in objects
    rep = json.loads((out / "board_report.json").read_text())
    assert rep["stack"]["worst_bytes"] <= rep["stack_bytes"] - 1024 and rep["warnings"] == []
