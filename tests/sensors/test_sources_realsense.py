"""The RealSense depth path against librealsense itself, without a camera: a ``software_device``
whose frames the test injects is the camera, and the SDK's own recorder writes the recording the
source plays back (how RealSense users test without hardware)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edgebind.sensors.sources.depth import DepthSource
from tests.conftest import missing

DEPTH_WH, COLOR_WH = (64, 48), (32, 24)
UNITS = 0.0001  # metres per raw unit, as a D400 at its finest depth-units setting


@pytest.fixture(scope="module")
def rs():
    try:
        import pyrealsense2
    except ImportError as exc:
        missing(f"pyrealsense2 is not installed or cannot load ({exc}): pip install pyrealsense2 "
                "(and apt-get install libusb-1.0-0)")
    return pyrealsense2


class SoftwareCamera:
    """A depth (+ colour) camera made of librealsense software sensors; ``push`` injects frames.

    The colour camera sees the same scene at half the resolution (identical optics, no baseline),
    so depth aligned to colour is the same plane at the colour camera's size."""

    def __init__(self, rs, *, color: bool = True, serial: str = "SW0001") -> None:
        self.rs = rs
        self.dev = rs.software_device()
        self.dev.register_info(rs.camera_info.serial_number, serial)
        self.dev.register_info(rs.camera_info.name, "EdgeBind test camera")
        self.depth = self.dev.add_sensor("Depth")
        self.depth.add_read_only_option(rs.option.depth_units, UNITS)
        self.depth_profile = self.depth.add_video_stream(
            self._stream(rs.stream.depth, rs.format.z16, 2, DEPTH_WH, uid=1))
        self.color = self.color_profile = None
        if color:
            self.color = self.dev.add_sensor("Color")
            self.color_profile = self.color.add_video_stream(
                self._stream(rs.stream.color, rs.format.rgb8, 3, COLOR_WH, uid=2))
            same_place = rs.extrinsics()
            same_place.rotation, same_place.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]
            self.depth_profile.register_extrinsics_to(self.color_profile, same_place)
        self.dev.create_matcher(rs.matchers.default)

    def _stream(self, kind, fmt, bpp, wh, uid):
        rs = self.rs
        intr = rs.intrinsics()
        intr.width, intr.height = wh
        intr.fx = intr.fy = wh[0] * 0.8
        intr.ppx, intr.ppy = wh[0] / 2, wh[1] / 2
        intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
        vs = rs.video_stream()
        vs.type, vs.fmt, vs.bpp, vs.index, vs.uid, vs.fps = kind, fmt, bpp, 0, uid, 30
        vs.width, vs.height, vs.intrinsics = wh[0], wh[1], intr
        return vs

    def _frame(self, profile, pixels, bpp, i, ts_ms, domain):
        f = self.rs.software_video_frame()
        f.pixels, f.bpp, f.stride = pixels, bpp, pixels.shape[1] * bpp
        f.timestamp, f.domain, f.frame_number = ts_ms, domain, i
        f.profile = profile.as_video_stream_profile()
        return f

    def push(self, i: int, raw: int, ts_ms: float, domain=None) -> None:
        rs = self.rs
        domain = rs.timestamp_domain.hardware_clock if domain is None else domain
        d = self._frame(self.depth_profile, np.full(DEPTH_WH[::-1], raw, np.uint16), 2, i,
                        ts_ms, domain)
        d.depth_units = UNITS
        self.depth.on_video_frame(d)
        if self.color is not None:
            rgb = np.full((COLOR_WH[1], COLOR_WH[0], 3), i % 256, np.uint8)
            self.color.on_video_frame(self._frame(self.color_profile, rgb, 3, i, ts_ms, domain))

    def record(self, path, frames: list[tuple[int, float]], pace_s: float = 0.0) -> None:
        """Writes ``frames`` ((raw depth, timestamp ms) each) through the SDK's recorder,
        ``pace_s`` apart (real-time playback follows the recorder's clock, not frame stamps)."""
        rec = self.rs.recorder(str(path), self.dev)
        sensors = rec.query_sensors()
        profiles = [self.depth_profile] + ([self.color_profile] if self.color else [])
        for sensor, profile in zip(sensors, profiles):
            sensor.open(profile)
            sensor.start(lambda f: None)
        for i, (raw, ts) in enumerate(frames):
            self.push(i, raw, ts)
            time.sleep(pace_s)
        time.sleep(0.2)  # the recorder writes on its own thread
        for sensor in sensors[:len(profiles)]:
            sensor.stop()
            sensor.close()
        del rec, sensors  # the file is finished when the recorder is destroyed


def recording(rs, tmp_path, frames, pace_s=0.0, **kw):
    """A RealSense recording of ``frames``: .bag from SDKs before 2.57, .db3 from later ones."""
    cam = SoftwareCamera(rs, **kw)
    for suffix in (".bag", ".db3"):
        path = tmp_path / f"cam{suffix}"
        try:
            cam.record(path, frames, pace_s)
        except RuntimeError as exc:  # "Output file must have .db3 extension"
            if suffix in str(exc):
                continue
            raise
        return path
    pytest.fail("the SDK's recorder accepts neither .bag nor .db3")


def test_a_recording_plays_back_as_depth_in_metres_then_ends(rs, tmp_path):
    frames = [(1000 + 100 * i, 5000.0 + 33.3 * i) for i in range(8)]
    path = recording(rs, tmp_path, frames, color=False)
    src = DepthSource("d435", path=path, realtime=False)
    t_read = time.monotonic_ns()
    got = list(src.iter_samples(timeout_s=10))
    assert len(got) == len(frames)
    for s, (raw, _) in zip(got, frames):
        assert s.data.dtype == np.float32 and s.data.shape == DEPTH_WH[::-1]
        np.testing.assert_allclose(s.data, raw * UNITS, rtol=1e-5)  # the device's scale, not 1 mm
    assert src.depth_scale == pytest.approx(UNITS)
    stamps = np.array([s.t_ns for s in got])
    assert stamps[0] >= t_read  # the first frame is stamped when read (host monotonic clock)
    np.testing.assert_allclose(np.diff(stamps), 33.3e6, atol=2e3)  # recorded spacing kept
    info = src.streams[0]
    assert info.device == str(path) and info.rate_hz == 30 and info.shape == DEPTH_WH[::-1]
    h = src.health()["d435"]
    assert h.samples == len(frames) and h.state == "disconnected"  # end of playback = end


def test_depth_aligned_to_colour_from_a_recording(rs, tmp_path):
    frames = [(2000, 100.0 + 33.3 * i) for i in range(6)]
    path = recording(rs, tmp_path, frames)
    got = list(DepthSource("d", path=path, align_to="color", realtime=False)
               .iter_samples(timeout_s=10))
    assert 1 <= len(got) <= len(frames)  # one per depth frame that had a colour partner
    for s in got:
        assert s.data.shape == COLOR_WH[::-1]  # the colour camera's pixel grid
        valid = s.data[np.isfinite(s.data)]
        assert valid.size > 0.9 * s.data.size
        np.testing.assert_allclose(valid, 2000 * UNITS, rtol=1e-5)


def _feed(cam, n, domain, stop_after, lag_ms=15.0):
    def run():
        for i in range(n):
            if domain == cam.rs.timestamp_domain.system_time:
                ts = time.time() * 1000 - lag_ms  # captured lag_ms before the driver saw it
            else:
                ts = 70_000.0 + 33.3 * i  # the device's own clock, arbitrary epoch
            cam.push(i, 1500 + i, ts, domain)
            time.sleep(0.033)
        stop_after.set()
    t = threading.Thread(target=run, daemon=True)
    return t


def test_a_live_software_camera_streams_until_unplugged(rs):
    cam = SoftwareCamera(rs, color=False)
    src = DepthSource("rs", device=cam.dev, backend="realsense", width=DEPTH_WH[0],
                      height=DEPTH_WH[1], rate_hz=30, backoff=(5.0, 5.0))
    done, got = threading.Event(), []
    feeder = _feed(cam, 10, rs.timestamp_domain.system_time, done)
    src.start(got.append)
    try:
        time.sleep(0.3)  # the pipeline starts the software sensor
        t_start = time.monotonic_ns()
        feeder.start()
        done.wait(5)
        deadline = time.monotonic() + 3
        while src.health()["rs"].state != "disconnected" and time.monotonic() < deadline:
            time.sleep(0.05)  # nothing more comes: after 1 s the camera counts as unplugged
        h = src.health()["rs"]
    finally:
        src.stop()
    assert len(got) == 10 and h.state == "disconnected"
    assert "no frame" in h.last_error and "unplugged" in h.last_error
    np.testing.assert_allclose(got[0].data, 1500 * UNITS, rtol=1e-5)
    stamps = [s.t_ns for s in got]
    assert stamps == sorted(stamps) and stamps[0] > t_start - 20_000_000
    # system_time stamps: the 15 ms the frame spent before the driver got it are taken off
    assert all(s.t_ns <= t_start + 3_000_000_000 for s in got)
    assert src.streams[0].device == "realsense:SW0001"


def test_live_device_clock_stamps_keep_the_devices_spacing(rs):
    cam = SoftwareCamera(rs, color=False, serial="SW0002")
    src = DepthSource("rs", device=cam.dev, backend="realsense", backoff=(5.0, 5.0))
    done, got = threading.Event(), []
    feeder = _feed(cam, 8, rs.timestamp_domain.hardware_clock, done)
    src.start(got.append)
    try:
        time.sleep(0.3)
        before = time.monotonic_ns()
        feeder.start()
        done.wait(5)
        time.sleep(0.2)
    finally:
        src.stop()
    after = time.monotonic_ns()
    assert len(got) == 8
    stamps = np.array([s.t_ns for s in got])
    assert before <= stamps[0] and stamps[-1] <= after
    # host scheduling jitters arrival times; the stamps follow the device clock's 33.3 ms
    # spacing within the least-delay filter's reach
    assert np.all(np.diff(stamps) > 0)
    assert abs((stamps[-1] - stamps[0]) - 7 * 33.3e6) < 15e6


def test_a_looped_recording_plays_again_with_stamps_that_keep_going(rs, tmp_path):
    frames = [(800 + i, 1.0e6 + 50.0 * i) for i in range(4)]  # 20 fps, device clock
    path = recording(rs, tmp_path, frames, color=False)
    got = list(DepthSource("d", path=path, realtime=False, loop=True)
               .iter_samples(max_samples=10, timeout_s=10))
    assert [round(float(np.nanmean(s.data)) / UNITS) for s in got] == \
        [800, 801, 802, 803] * 2 + [800, 801]
    np.testing.assert_allclose(np.diff([s.t_ns for s in got]), 50e6, atol=2e3)


def test_realtime_playback_takes_the_recorded_time(rs, tmp_path):
    frames = [(900, 10.0 + 40.0 * i) for i in range(6)]  # 0.2 s between first and last frame
    path = recording(rs, tmp_path, frames, pace_s=0.04, color=False)
    t0 = time.monotonic()
    got = list(DepthSource("d", path=path).iter_samples(timeout_s=10))
    assert len(got) == 6 and time.monotonic() - t0 >= 0.18


def test_a_ros1_bag_from_an_older_sdk_plays(rs):
    """SDKs from 2.57 on record rosbag2 .db3 and still play the ROS 1 .bag files of older ones.
    The fixture was written by ``recording()`` above under pyrealsense2 2.56.5: five depth frames
    (raw 1000..1004) with colour, hardware-clock stamps 33.3 ms apart."""
    from pathlib import Path

    bag = Path(__file__).parent / "data" / "realsense_sdk2.56_depth_colour.bag"
    got = list(DepthSource("d", path=bag, align_to="color", realtime=False)
               .iter_samples(timeout_s=10))
    assert [s.data.shape for s in got] == [COLOR_WH[::-1]] * 5
    np.testing.assert_allclose([np.nanmean(s.data) for s in got],
                               [(1000 + i) * UNITS for i in range(5)], rtol=1e-5)
    np.testing.assert_allclose(np.diff([s.t_ns for s in got]), 33.3e6, atol=2e3)


def test_a_recording_reads_like_any_recording(rs, tmp_path):
    from pathlib import Path

    from edgebind.sensors.sources.realsense import looks_like_realsense
    from edgebind.sensors.sources.realsense_recording import RealSenseRecording

    bag = Path(__file__).parent / "data" / "realsense_sdk2.56_depth_colour.bag"
    db3 = recording(rs, tmp_path, [(700, 50.0 + 25.0 * i) for i in range(3)], color=False)
    assert looks_like_realsense(bag) and looks_like_realsense(db3)
    with RealSenseRecording(bag, name="d435", align_to="color") as rec:
        info = rec.streams["d435"]
        assert info.modality == "depth" and info.shape == COLOR_WH[::-1] and info.rate_hz == 30
        got = list(rec.samples(speed=0))
        assert [round(s.t_ns / 1e5) for s in got] == [0, 333, 666, 999, 1332]
        s = rec.summary()
        assert s.message_count == 5 and s.channels["d435"].last_t_ns == got[-1].t_ns
    rec = RealSenseRecording(db3)
    assert [float(s.data[0, 0]) for s in rec] == pytest.approx([700 * UNITS] * 3)
    assert list(rec.samples(streams=["camera"])) == []
    with pytest.raises(FileNotFoundError, match="no such recording"):
        RealSenseRecording(tmp_path / "gone.bag")


def test_a_camera_that_is_not_there_is_a_clear_error(rs):
    src = DepthSource("rs", device="000000000000", backend="realsense", backoff=(0.01, 0.02))
    assert list(src.iter_samples(timeout_s=0.3)) == []
    err = src.health()["rs"].last_error
    assert "000000000000" in err and "not connected" in err and "cameras found" in err


def test_open_recording_takes_a_realsense_recording(rs, tmp_path):
    """Wherever a recording is accepted (open_recording: replay, calibration, anchors), a
    RealSense SDK recording reads through librealsense, not as a plain ROS bag (whose reader
    would assume millimetres)."""
    from pathlib import Path

    from edgebind.record import open_recording
    from edgebind.record.formats import detect
    from edgebind.sensors.sources.realsense_recording import RealSenseRecording

    bag = Path(__file__).parent / "data" / "realsense_sdk2.56_depth_colour.bag"
    db3 = recording(rs, tmp_path, [(700, 50.0 + 25.0 * i) for i in range(3)], color=False)
    assert detect(bag) == detect(db3) == "realsense"
    with open_recording(db3) as rec:
        assert isinstance(rec, RealSenseRecording)
        got = list(rec.samples(speed=0))
    assert [float(s.data[0, 0]) for s in got] == pytest.approx([700 * UNITS] * 3)
    with open_recording(bag) as rec:
        assert rec.summary().message_count == 5
