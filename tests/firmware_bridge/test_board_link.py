"""The RP2040 board's USB transmit path, on the host: the C device core with the board's CDC
buffer sizes (its tusb_config.h) behind the simulator HAL, on a simulated clock
(``build/fb_board_link``), decoded by the Python receiver. Every message type, including 160x120
thermal frames in 39 fragments and a largest LOG, must arrive whole, with no frame lost."""
from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from edgebind.firmware_bridge import (
    ConfigAck, ConfigSet, DeviceInfo, FrameDecoder, Heartbeat, ImuBatch, InfoRequest, Log,
    ThermalAssembler, ThermalFragment, TimeSyncRequest, TimeSyncResponse, encode, encode_frame,
)

from .conftest import FIRMWARE, sim_thermal_pixels

DEVICE_TO_HOST = {DeviceInfo, Heartbeat, Log, ImuBatch, ThermalFragment, TimeSyncResponse, ConfigAck}
SECONDS = 3.0


def board_cdc_sizes() -> dict[str, int]:
    text = (FIRMWARE / "boards" / "rp2040_icm42688_mlx90640" / "tusb_config.h").read_text()
    return {k: int(v) for k, v in re.findall(r"#define (CFG_TUD_CDC_\w+_BUFSIZE) (\d+)", text)}


def host_script() -> tuple[str, list[TimeSyncRequest]]:
    """What the host writes, as ``<ms> <hex>`` lines: info request, a configuration, time sync
    every 100 ms, and one frame of a type the device does not know."""
    seq = iter(range(1000))
    lines = [(0.0, encode(InfoRequest(seq=next(seq)))),
             (5.0, encode(ConfigSet(config_id=7, thermal_rate_hz=8.7, imu_batch=10, seq=next(seq)))),
             (250.0, encode_frame(0x7E, b"from the future", seq=next(seq)))]
    syncs = [TimeSyncRequest(k, 10_000 + k, seq=next(seq)) for k in range(int(SECONDS * 10) - 2)]
    lines += [(20.0 + 100.0 * k, encode(m)) for k, m in enumerate(syncs)]
    lines.sort(key=lambda x: x[0])
    return "".join(f"{ms} {b.hex()}\n" for ms, b in lines), syncs


def run_link(build, *args: str, script: str = "") -> tuple[list, FrameDecoder, dict]:
    proc = subprocess.run([str(build / "fb_board_link"), "--seconds", str(SECONDS), *args],
                          input=script.encode(), capture_output=True, check=True)
    dec = FrameDecoder()
    msgs = dec.feed(proc.stdout)
    return msgs, dec, json.loads(proc.stderr.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("imu_batch", [10, 62])
def test_every_message_type_arrives_whole_through_the_board_path(firmware_build, imu_batch):
    sizes = board_cdc_sizes()
    script, syncs = host_script()
    msgs, dec, summary = run_link(firmware_build, "--thermal", "lepton", "--thermal-rate", "8.7",
                                  "--imu-batch", str(imu_batch), script=script)
    assert summary["tx_buffer"] == sizes["CFG_TUD_CDC_TX_BUFSIZE"]
    assert summary["rx_buffer"] == sizes["CFG_TUD_CDC_RX_BUFSIZE"]
    assert summary["host_bytes_delivered"] == summary["host_bytes"] > 0
    assert summary["max_tx_fill"] <= summary["tx_buffer"]

    # nothing corrupt, nothing missing: every frame the device produced arrived, in order
    s = dec.stats
    assert s.errors == 0 and s.unknown_type == 0
    assert s.frames_ok == summary["tx_frames"] and s.frames_missed == 0 and s.seq_gaps == 0
    assert {type(m) for m in msgs} == DEVICE_TO_HOST

    (log,) = [m for m in msgs if isinstance(m, Log)]
    assert log.text == "x" * 1020  # a largest frame: 1,024-byte payload
    acks = [m for m in msgs if isinstance(m, ConfigAck)]
    assert [a.config_id for a in acks] == [7] and acks[0].status in (ConfigAck.OK, ConfigAck.ADJUSTED)
    info = [m for m in msgs if isinstance(m, DeviceInfo)]
    assert len(info) >= 2 and info[-1].thermal_width == 160 and info[-1].thermal_height == 120
    resp = {m.request_id: m for m in msgs if isinstance(m, TimeSyncResponse)}
    assert sorted(resp) == [m.request_id for m in syncs]
    assert all(resp[m.request_id].t1 == m.t1 and resp[m.request_id].t2_us <= resp[m.request_id].t3_us
               for m in syncs)

    # IMU: every sample, contiguous indices, one per millisecond
    batches = [m for m in msgs if isinstance(m, ImuBatch)]
    idx = np.concatenate([b.first_index + np.arange(len(b)) for b in batches])
    t = np.concatenate([b.timestamps_us() for b in batches])
    assert np.array_equal(idx, np.arange(len(idx))) and len(idx) >= SECONDS * 1000 - imu_batch
    assert np.all(np.diff(t) == 1000)

    # thermal: 160x120 frames of 39 fragments, each pixel as the simulator drew it
    asm = ThermalAssembler()
    frames = [f for m in msgs if isinstance(m, ThermalFragment) if (f := asm.add(m, 0)) is not None]
    assert all(m.count == 39 for m in msgs if isinstance(m, ThermalFragment))
    assert len(frames) >= int(SECONDS * 8.7) - 1 and asm.stats.frames_dropped == 0
    assert [f.frame_id for f in frames] == list(range(1, len(frames) + 1))
    for f in frames:
        np.testing.assert_array_equal(f.raw, sim_thermal_pixels(f.frame_id, 160, 120))

    hb = [m for m in msgs if isinstance(m, Heartbeat)][-1]
    assert hb.tx_overruns == 0 and hb.thermal_dropped == 0 and hb.imu_dropped_samples == 0
    assert hb.rx_unknown == 1 and hb.rx_errors == 0
    assert summary["tx_overruns"] == 0 and summary["imu_dropped"] == 0


def test_the_sdk_default_cdc_buffer_drops_large_frames(firmware_build):
    """The same run with the SDK's default 64-byte CDC FIFO (what the board had before it owned
    USB): no thermal fragment, DEVICE_INFO, LOG or IMU batch ever fits, and the loss is counted."""
    script, _ = host_script()
    msgs, dec, summary = run_link(firmware_build, "--tx-buffer", "64", script=script)
    kinds = {type(m) for m in msgs}
    assert kinds <= {Heartbeat, TimeSyncResponse, ConfigAck}
    assert summary["tx_overruns"] > 0 and summary["imu_dropped"] > 0
    hb = [m for m in msgs if isinstance(m, Heartbeat)][-1]
    assert hb.tx_overruns > 0 and hb.thermal_frames == 0
    # dropped frames keep their sequence numbers: the receiver sees them as gaps
    assert 0 < dec.stats.frames_missed <= summary["tx_overruns"]


def test_bad_arguments_and_scripts_are_refused(firmware_build):
    exe = str(firmware_build / "fb_board_link")
    for args, script in [(["--tx-buffer", "0"], ""), (["--thermal", "flir"], ""),
                         (["--seconds", "nan"], ""), (["--bogus", "1"], ""), ([], "12 0g\n"),
                         ([], "abc\n"), ([], "5 123\n")]:
        proc = subprocess.run([exe, *args], input=script.encode(), capture_output=True)
        assert proc.returncode == 2, (args, script)
        assert b"fb_board_link:" in proc.stderr and proc.stdout == b""


def test_every_device_to_host_type_of_the_protocol_is_covered():
    """DEVICE_TO_HOST above is every D→H row of PROTOCOL.md's message table."""
    doc = (FIRMWARE.parent / "PROTOCOL.md").read_text()
    d2h = {int(code, 16) for code in re.findall(r"^\| (0x[0-9A-Fa-f]{2}) \| \w+ \| D→H \|", doc, re.M)}
    assert {int(cls.TYPE) for cls in DEVICE_TO_HOST} == d2h
