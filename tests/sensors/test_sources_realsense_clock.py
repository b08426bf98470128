"""RealSense timestamp mapping (pure: no librealsense needed) and recording sniffing."""
from __future__ import annotations

import sqlite3

import pytest

from edgebind.sensors.sources.depth import DepthSource
from edgebind.sensors.sources.realsense import RealSenseClock, RealSenseDepth, \
    is_realsense_recording, looks_like_realsense

MS = 1_000_000


def test_host_domains_subtract_the_frames_age_on_the_wall_clock():
    clock = RealSenseClock(playback=False)
    wall, mono = 1_700_000_000_000 * MS, 5_000 * MS
    # librealsense stamps are double milliseconds: ~0.1 us resolution at today's epoch
    t = clock.stamp((wall - 20 * MS) / MS, "system_time", mono, wall)
    assert abs(t - (mono - 20 * MS)) < 1000
    t2 = clock.stamp((wall + 13 * MS) / MS, "global_time", mono + 40 * MS, wall + 40 * MS)
    assert abs(t2 - (mono + 13 * MS)) < 1000
    # a stamp from the future or hours old (wall clock stepped): the arrival time stands
    t3 = clock.stamp((wall + 10_000 * MS) / MS, "system_time", mono + 80 * MS, wall + 80 * MS)
    assert t3 == mono + 80 * MS


def test_hardware_clock_keeps_device_spacing_and_follows_the_least_delayed_frame():
    clock = RealSenseClock(playback=False)
    base = 10_000 * MS
    lags = [9, 4, 6, 4, 5]  # ms of transport delay per frame
    stamps = [clock.stamp(5_000 + 33 * i, "hardware_clock", base + (33 * i + lag) * MS, 0)
              for i, lag in enumerate(lags)]
    assert stamps[0] == base + 9 * MS  # first frame: its arrival
    assert all(s <= base + (33 * i + lag) * MS for i, (s, lag) in enumerate(zip(stamps, lags)))
    # once the least-delayed frame has been seen, the device's spacing stands (within the 0.1 %
    # the offset may grow by to follow drift)
    assert [abs(b - a - 33 * MS) <= 33_000 for a, b in zip(stamps[1:], stamps[2:])] == [True] * 3
    # the device clock resets: re-anchored on arrival instead of jumping back 5 s
    t = clock.stamp(100.0, "hardware_clock", base + 400 * MS, 0)
    assert t == base + 400 * MS


def test_recordings_keep_recorded_spacing_from_the_first_read_and_never_go_back():
    clock = RealSenseClock(playback=True)
    t = [clock.stamp(1000.0 + 33.3 * i, "hardware_clock", 50 * MS + i, 0) for i in range(3)]
    assert t[0] == 50 * MS and t[1] - t[0] == round(33.3 * MS) and t[2] - t[0] == round(66.6 * MS)
    # a looped recording starts over one frame interval after the last stamp
    t3 = clock.stamp(1000.0, "hardware_clock", 50 * MS + 3, 0)
    assert t3 == t[2] + (t[2] - t[1])


def test_recordings_are_recognised_by_suffix_and_by_content(tmp_path):
    assert is_realsense_recording("a/b.BAG") and is_realsense_recording("x.db3")
    assert not is_realsense_recording("depth/%06d.png")
    ros1 = tmp_path / "cam.bag"
    ros1.write_bytes(b"#ROSBAG V2.0\n....topic=/device_0/sensor_0/Depth_0/image/data....")
    other = tmp_path / "robot.bag"
    other.write_bytes(b"#ROSBAG V2.0\n....topic=/camera/depth/image_raw....")
    db3 = tmp_path / "cam.db3"
    with sqlite3.connect(db3) as db:
        db.execute("CREATE TABLE topics (id INTEGER, name TEXT)")
        db.execute("INSERT INTO topics VALUES (1, '/device_0/sensor_0/Depth_0/image/data')")
    assert looks_like_realsense(ros1) and looks_like_realsense(db3)
    assert not looks_like_realsense(other) and not looks_like_realsense(tmp_path / "none.bag")


def test_recording_paths_and_alignment_arguments():
    src = DepthSource("d", path="walk.bag")  # any backend: the suffix says RealSense
    assert src.streams[0].device == "walk.bag"
    with pytest.raises(ValueError, match="align_to"):
        DepthSource("d", path="depth/%06d.png", align_to="color")
    with pytest.raises(ValueError, match="align_to"):
        DepthSource("d", device="123", backend="realsense", align_to="infrared")
    with pytest.raises(ValueError, match="align_to"):
        RealSenseDepth(align_to="depth")
    assert RealSenseDepth(device="f123").describe() == "realsense:f123"


def test_a_missing_recording_is_a_clear_error(tmp_path):
    src = DepthSource("d", path=tmp_path / "gone.bag", backoff=(0.01, 0.02))
    assert list(src.iter_samples(timeout_s=0.2)) == []
    err = src.health()["d"].last_error
    assert "gone.bag" in err and ("no such RealSense recording" in err or "pyrealsense2" in err)


def test_without_pyrealsense2_the_error_says_what_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # import fails as if not installed
    for kw in ({"device": "123", "backend": "realsense"}, {"path": tmp_path / "walk.db3"}):
        src = DepthSource("rs", backoff=(0.01, 0.02), **kw)
        assert list(src.iter_samples(timeout_s=0.2)) == []
        assert "pip install pyrealsense2" in src.health()["rs"].last_error
