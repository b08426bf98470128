"""IMU and thermal streams through the firmware bridge's virtual device on a real pty:
units and stamps, then unplug (the device side closes) -> disconnected, replug -> ok again."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edgebind.firmware_bridge.virtual_device import VirtualDevice, VirtualDeviceOptions
from edgebind.sensors import open_source, parse_stream_configs
from tests.conftest import wait_until


@pytest.mark.slow
def test_imu_and_thermal_unplug_replug(firmware_build, tmp_path):
    link = str(tmp_path / "ttyEDGE0")
    opt = VirtualDeviceOptions(thermal="lepton", thermal_rate=8.0, imu_rate=400, imu_batch=20,
                               link=link)
    cfg = parse_stream_configs([{"name": "imu0", "kind": "imu", "port": link, "rate": 400.0,
                                 "batch": 20, "thermal_stream": "therm0"}], "test.toml")[0]
    src = open_source(cfg)
    got: list = []
    lock = threading.Lock()

    def on_sample(s):
        with lock:
            got.append(s)

    def count(stream):
        with lock:
            return sum(1 for s in got if s.stream == stream)

    threads_before = threading.active_count()
    dev = VirtualDevice(opt, build_dir=firmware_build)
    src.start(on_sample)
    try:
        assert wait_until(lambda: count("imu0") > 30 and count("therm0") >= 3, 10), src.health()
        assert wait_until(lambda: src.health()["imu0"].state == "ok", 5), src.health()
        with lock:
            imu = [s for s in got if s.stream == "imu0"]
            therm = [s for s in got if s.stream == "therm0"]
        # IMU: float32 N×6 in SI units (gravity on the accelerometer), per-row int64 stamps.
        for s in imu:
            assert s.modality == "imu" and s.data.dtype == np.float32 and s.data.shape[1] == 6
            assert s.row_t_ns.dtype == np.int64 and s.row_t_ns.shape == (s.data.shape[0],)
            assert s.t_ns == s.row_t_ns[0]
        acc = np.concatenate([s.data[:, :3] for s in imu])
        assert 5.0 < float(np.median(np.linalg.norm(acc, axis=1))) < 15.0  # ~9.81 m/s², not g
        rows = np.concatenate([s.row_t_ns for s in imu[-20:]])
        assert (np.diff(rows) > 0).all()
        infos = {i.stream: i for i in src.streams}
        rate = infos["imu0"].rate_hz  # what the device applied (the ICM-42688 snaps 400 to 500)
        assert rate in (400.0, 500.0)
        assert abs(np.median(np.diff(rows)) - 1e9 / rate) < 0.05 * 1e9 / rate
        assert abs(rows[-1] - time.monotonic_ns()) < 2e9  # host monotonic clock
        # Thermal: float32 kelvin at the Lepton's 160×120, room-temperature range.
        for s in therm:
            assert s.modality == "thermal" and s.data.dtype == np.float32
            assert s.data.shape == (120, 160)
            assert 250.0 < float(s.data.min()) and float(s.data.max()) < 400.0
        assert infos["imu0"].modality == "imu" and infos["therm0"].modality == "thermal"
        assert infos["therm0"].shape == (120, 160)

        dev.stop()  # unplug
        assert wait_until(lambda: src.health()["imu0"].state == "disconnected", 5), src.health()
        assert src.health()["therm0"].state == "disconnected"
        seen = count("imu0")
        dev = VirtualDevice(opt, build_dir=firmware_build)  # replug under the same name
        assert wait_until(lambda: count("imu0") > seen + 20, 10), src.health()
        assert wait_until(lambda: src.health()["imu0"].state == "ok", 5), src.health()
        assert src.health()["imu0"].reconnects >= 1
        # Health counts at capture, the callback sees a sample after the delivery queue: once the
        # device is gone again, the two agree (nothing lost between them).
        dev.stop()
        assert wait_until(lambda: src.health()["imu0"].state == "disconnected", 5), src.health()
        assert wait_until(lambda: src.health()["imu0"].samples == count("imu0"), 5), \
            (src.health()["imu0"], count("imu0"))
        assert src.health()["imu0"].dropped == 0
    finally:
        src.stop()
        dev.stop()
    assert wait_until(lambda: threading.active_count() <= threads_before, 5)


def test_absent_port_is_disconnected(tmp_path):
    src = open_source(parse_stream_configs(
        [{"name": "t0", "kind": "thermal", "port": str(tmp_path / "ttyNONE")}], "x.toml")[0])
    assert list(src.iter_samples(timeout_s=0.3)) == []
    h = src.health()["t0"]
    assert h.state == "disconnected" and h.samples == 0
