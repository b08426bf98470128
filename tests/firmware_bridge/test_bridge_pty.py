"""Integration over real pseudo-terminals with the virtual device (the C firmware core + sim HAL)."""
from __future__ import annotations

import os
import threading
import time

import numpy as np

from edgebind.firmware_bridge import (
    BridgeClient, ImuSamples, LinkState, SyncSchedule, ThermalFragment, ThermalImage,
)
from edgebind.firmware_bridge.virtual_device import VirtualDevice, VirtualDeviceOptions
from tests.conftest import wait_until

from .conftest import sim_thermal_pixels


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))



def test_virtual_device_help(firmware_build):
    import subprocess

    out = subprocess.run([str(firmware_build / "fb_virtual_device"), "--help"], capture_output=True,
                         text=True, check=True).stdout
    for opt in ("--drift-ppm", "--offset-us", "--imu-rate", "--thermal", "--bitflip-rate",
                "--drop-rate", "--pause-every", "--disconnect-after", "--seed",
                "--fragment-drop-rate"):
        assert opt in out


def test_virtual_device_refuses_rates_it_cannot_run(firmware_build):
    """NaN, infinite, zero and tiny rates are a clear error, never a stalled stream."""
    import subprocess

    exe = str(firmware_build / "fb_virtual_device")
    for args in (["--thermal-rate", "nan"], ["--thermal-rate", "1e-30"], ["--imu-rate", "inf"],
                 ["--imu-rate", "0"], ["--thermal-rate", "abc"]):
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=10)
        assert proc.returncode == 2 and "--thermal-rate" in proc.stderr, (args, proc.stderr)
        assert proc.stdout == ""


def test_time_sync_within_1ms_with_drift_and_offset(firmware_build):
    """100 ppm drift, 10 ms offset: after the sync settles, every delivered IMU timestamp is within
    1 ms of the truth (the virtual device's clock model, inverted)."""
    opt = VirtualDeviceOptions(drift_ppm=100.0, offset_us=10_000.0, thermal="none", imu_rate=1000)
    errors: list[np.ndarray] = []
    collecting = threading.Event()

    def on_imu(s: ImuSamples) -> None:
        if collecting.is_set():
            errors.append(np.abs(s.t_ns - opt.true_host_ns(s.device_us)))

    with VirtualDevice(opt, build_dir=firmware_build) as dev:
        with BridgeClient(dev.path, on_imu=on_imu, sync=SyncSchedule(0.1, 100, 0.2)) as client:
            assert client.wait_connected(5)
            assert client.wait_synced(timeout=20, max_error_ns=1e6, min_span_s=3.0), client.health
            collecting.set()
            time.sleep(2.0)
            collecting.clear()
            m = client.clock
            health = client.health
    err = np.concatenate(errors)
    print(f"\nsync: {err.size} samples, error p50={np.median(err)/1e3:.1f} us "
          f"p99={np.percentile(err, 99)/1e3:.1f} us max={err.max()/1e3:.1f} us; "
          f"estimated drift {m.drift_ppm:.2f} ppm, error bound {m.error_ns/1e3:.1f} us")
    assert err.size > 1000
    assert err.max() < 1_000_000  # 1 ms
    assert abs(m.drift_ppm - 100.0) < 20.0
    assert health.decoder["crc_errors"] == 0 and health.frames_missed == 0


def test_unplug_replug_recovers_without_leaks(firmware_build, tmp_path):
    link = str(tmp_path / "ttyEDGE0")
    opt = VirtualDeviceOptions(thermal="mlx90640", thermal_rate=8, link=link)
    threads_before, fds_before = threading.active_count(), _fds()
    counts = {"imu": 0}

    def on_imu(_s):
        counts["imu"] += 1

    client = BridgeClient(link, on_imu=on_imu, reconnect_backoff_s=(0.05, 0.2))
    dev = VirtualDevice(opt, build_dir=firmware_build)
    try:
        assert client.wait_connected(5) and wait_until(lambda: counts["imu"] > 10, 5)
        assert client.device_info is not None and client.device_info.board == "virtual"
        dev.stop()  # unplug: the process dies, the pty and the link vanish
        assert wait_until(lambda: client.health.state is LinkState.DISCONNECTED, 5)
        seen = counts["imu"]
        dev = VirtualDevice(opt, build_dir=firmware_build)  # replug under the same name
        assert wait_until(lambda: counts["imu"] > seen + 10, 10), client.health
        h = client.health
        assert h.connects == 2 and h.disconnects >= 1
        assert wait_until(lambda: client.health.state is LinkState.CONNECTED, 5), client.health
    finally:
        client.close()
        dev.stop()
    assert threading.active_count() == threads_before
    assert _fds() == fds_before


def test_thermal_fragment_loss_drops_only_affected_frames(firmware_build):
    opt = VirtualDeviceOptions(thermal="lepton", thermal_rate=8.7, fragment_drop_rate=0.02,
                               imu_rate=200, seed=7)
    frags: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    frames: list[ThermalImage] = []

    def on_message(msg, _t):
        if isinstance(msg, ThermalFragment):
            frags.setdefault(msg.frame_id, set()).add(msg.index)
            counts[msg.frame_id] = msg.count

    with VirtualDevice(opt, build_dir=firmware_build) as dev:
        with BridgeClient(dev.path, on_message=on_message, on_thermal=frames.append) as client:
            assert client.wait_connected(5)
            assert wait_until(lambda: len(frags) >= 20, 15)
            health = client.health
    ids = sorted(frags)[:-1]  # the last frame may still be in flight
    complete = {i for i in ids if len(frags[i]) == counts[i] == 39}
    delivered = {f.frame_id for f in frames if f.frame_id in ids}
    assert delivered == complete
    assert 0 < len(complete) < len(ids)  # some frames lost, the others all delivered
    for f in frames:
        assert f.kelvin.shape == (120, 160)
        want = sim_thermal_pixels(f.frame_id, 160, 120).astype(np.float32) * np.float32(0.01)
        np.testing.assert_allclose(f.kelvin, want, rtol=1e-6)
    assert health.thermal_frames_dropped >= len(ids) - len(complete) - 1
    assert health.seq_gaps > 0 and health.decoder["crc_errors"] == 0


def test_bit_flips_and_drops_never_deliver_corrupt_samples(firmware_build):
    opt = VirtualDeviceOptions(thermal="none", bitflip_rate=2e-4, drop_rate=2e-5, seed=3)
    batches: list[ImuSamples] = []
    with VirtualDevice(opt, build_dir=firmware_build) as dev:
        with BridgeClient(dev.path, on_imu=batches.append) as client:
            assert client.wait_connected(5)
            assert wait_until(lambda: client.health.decoder["crc_errors"] + client.health.decoder["framing_errors"] > 3, 10)
            time.sleep(0.3)
            health = client.health
    assert health.state is LinkState.DEGRADED
    assert health.seq_gaps > 0 and health.imu_samples_missed > 0
    data = np.concatenate([b.data for b in batches])
    # the simulated signal: |a_xy| <= 0.6, a_z in 9.8 +- 0.3, |g| <= 0.25 (plus small noise)
    assert np.all(np.abs(data[:, :2]) < 0.7) and np.all(np.abs(data[:, 2] - 9.80665) < 0.3)
    assert np.all(np.abs(data[:, 3:]) < 0.3)
    # corrupt timestamps would break monotonicity (device time: the host mapping may step
    # between batches as time sync refines it, more so on a loaded machine)
    d = np.concatenate([b.device_us for b in batches])
    idx = np.concatenate([b.first_index + np.arange(len(b.device_us)) for b in batches])
    assert np.all(np.diff(d) > 0) and np.all(np.diff(idx) > 0)
    assert all(np.all(np.diff(b.t_ns) > 0) for b in batches)


def test_configure_roundtrip(firmware_build):
    opt = VirtualDeviceOptions(thermal="mlx90640")
    batches: list[ImuSamples] = []
    with VirtualDevice(opt, build_dir=firmware_build) as dev:
        with BridgeClient(dev.path, on_imu=batches.append) as client:
            assert client.wait_connected(5)
            ack = client.configure(imu_rate_hz=300.0, imu_batch=5, accel_range_g=4, thermal_rate_hz=2.0)
            assert ack is not None and ack.status == ack.ADJUSTED  # 300 Hz snaps to 200 Hz
            assert (ack.imu_rate_hz, ack.imu_batch, ack.accel_range_g, ack.thermal_rate_hz) == (200.0, 5, 4, 2.0)
            assert wait_until(lambda: client.device_info is not None and client.device_info.accel_range_g == 4, 3)
            n = len(batches)
            assert wait_until(lambda: len(batches) > n + 20, 5)
            last = batches[-1]
    assert len(last.device_us) == 5 and np.all(np.diff(last.device_us) == 5000)
    assert abs(float(np.mean(last.data[:, 2])) - 9.80665) < 0.5


def test_client_over_loop_url_closes_cleanly():
    threads_before = threading.active_count()
    with BridgeClient("loop://", read_timeout_s=0.01) as client:
        assert client.wait_connected(2)
        time.sleep(0.3)  # its own sync requests come back and are decoded (and ignored)
        assert client.health.decoder["frames_ok"] > 0
    assert threading.active_count() == threads_before


def test_in_process_disconnect_and_pauses(firmware_build, tmp_path):
    """--disconnect-after closes the pty and reopens a new one (a USB replug with a new node name);
    --pause-every stalls the firmware so its IMU FIFO overflows: both are survived and counted."""
    link = str(tmp_path / "ttyEDGE1")
    opt = VirtualDeviceOptions(link=link, thermal="none", disconnect_after=1.0, reconnect_ms=300,
                               pause_every=0.5, pause_ms=300)
    counts = {"imu": 0}

    def on_imu(_s):
        counts["imu"] += 1

    with VirtualDevice(opt, build_dir=firmware_build) as dev:
        with BridgeClient(link, on_imu=on_imu, reconnect_backoff_s=(0.05, 0.2)) as client:
            assert client.wait_connected(5)
            assert dev.next_path(5).startswith("/dev/")  # the new pty is announced on stdout
            seen = counts["imu"]
            assert wait_until(lambda: client.health.connects == 2 and counts["imu"] > seen + 50, 10), client.health
            h = client.health
    assert h.disconnects >= 1 and h.imu_samples_missed > 0
    assert h.device is not None and h.device.imu_fifo_overruns > 0
