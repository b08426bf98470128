"""ROS bags written by rosbags' own writers, read through open_recording, ReplaySource and
``edgebind replay``: ROS 2 MCAP and sqlite3, a bare ROS 2 .mcap, ROS 1; damage; topic maps."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.record.rosbag_helpers import T0, need_rosbags, write_ros1, write_ros2

STREAMS = {"camera_color_image_raw": ("vision", 30), "camera_depth_image_raw": ("depth", 30),
           "thermal_image": ("thermal", 9), "audio_audio": ("audio", 10),
           "imu_data": ("imu", 400)}


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    need_rosbags()
    d = tmp_path_factory.mktemp("bags")
    b2 = write_ros2(d / "mcap_bag")
    return {"mcap": b2, "sqlite3": write_ros2(d / "db_bag", "sqlite3"),
            "bare": next(b2.glob("*.mcap")), "ros1": write_ros1(d / "robot.bag")}


@pytest.mark.parametrize("kind", ["mcap", "sqlite3", "bare", "ros1"])
def test_every_format_reads_to_the_same_samples(bags, kind):
    from edgebind.record import open_recording
    with open_recording(bags[kind]) as rec:
        assert {k: v.modality for k, v in rec.streams.items()} == \
            {k: m for k, (m, _) in STREAMS.items()}
        s = rec.summary()
        assert {k: c.message_count for k, c in s.channels.items() if k in STREAMS} == \
            {k: n for k, (_, n) in STREAMS.items()}
        assert s.channels["/chatter"].modality == ""          # listed, never replayed
        assert any("/chatter" in line and "unsupported" in line for line in s.skipped)
        assert rec.metadata["format"] == ("rosbag1" if kind == "ros1" else "rosbag2")
        assert rec.metadata["time_origin_ns"] == str(T0)
        got = list(rec.samples())
    assert [x.t_ns for x in got] == sorted(x.t_ns for x in got)   # time order across topics
    by = {}
    for x in got:
        by.setdefault(x.stream, []).append(x)
    cam = by["camera_color_image_raw"]
    assert cam[0].t_ns == 0 and cam[1].t_ns == 10 ** 9 // 30      # header stamps - origin
    assert cam[3].data.dtype == np.uint8 and cam[3].data.shape == (48, 64, 3)
    assert (cam[3].data[0, 0] == [200, 3, 3]).all()                 # bgr8 -> RGB
    depth = by["camera_depth_image_raw"][2].data
    assert depth.dtype == np.float32 and np.isnan(depth[0, 0])      # 0 mm = no reading
    assert depth[1, 1] == pytest.approx(1.502)                       # mm -> m (REP 118)
    assert by["thermal_image"][1].data[0, 0] == pytest.approx(301.0)  # 32FC1 kelvin
    imu = by["imu_data"][5]
    assert imu.data.shape == (1, 6) and imu.row_t_ns.tolist() == [imu.t_ns]
    assert imu.data[0].tolist() == pytest.approx([0.1, 0.0, 9.81, 0.01, 0.02, 0.005])
    mic = by["audio_audio"]
    assert mic[0].data.shape == (1600, 1) and mic[0].data.dtype == np.float32
    assert mic[0].t_ns == 5_000_000 and np.abs(mic[0].data).max() <= 1.0  # receive time


def test_replay_source_plays_a_bag(bags):
    from edgebind.sensors.sources.replay import ReplaySource
    src = ReplaySource(bags["mcap"], speed=0, streams=["imu_data", "camera_color_image_raw"])
    assert sorted(i.stream for i in src.streams) == ["camera_color_image_raw", "imu_data"]
    got = list(src.iter_samples())     # lossless (start()'s queue may drop under load)
    assert len(got) == 430 and got[0].stream in ("imu_data", "camera_color_image_raw")


def test_edgebind_replay_summary_json(bags, capsys):
    from edgebind.cli import main
    assert main(["replay", str(bags["ros1"]), "--summary", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["channels"]["imu_data"]["message_count"] == 400
    assert d["channels"]["/chatter"]["schema"] == "std_msgs/msg/String"
    assert main(["replay", str(bags["mcap"]), "--speed", "0", "--json",
                 "--stream", "thermal_image"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 9 and lines[0]["shape"] == [12, 16]


def test_topic_map_names_modality_scale_and_skip(bags, tmp_path):
    from edgebind.record import open_recording
    topics = tmp_path / "topics.toml"
    topics.write_text('[[streams]]\ntopic = "/camera/depth/image_raw"\nname = "lepton"\n'
                      'modality = "thermal"\nscale = 0.01\n\n'
                      '[[streams]]\ntopic = "/imu/data"\nskip = true\n\n'
                      '[[streams]]\ntopic = "/camera/color/image_raw"\nstamp = "receive"\n')
    with open_recording(bags["mcap"], topics=topics) as rec:
        assert rec.streams["lepton"].modality == "thermal" and "imu_data" not in rec.streams
        first = next(s for s in rec.samples(streams=["lepton"]))
        assert first.data[0, 0] == 0.0 and first.data[1, 1] == pytest.approx(15.0)
        cam = next(rec.samples(streams=["camera_color_image_raw"]))
        assert cam.t_ns == 5_000_000                        # receive time, not header stamp
    sidecar = bags["ros1"].with_name("robot.bag.topics.toml")   # found beside the bag
    sidecar.write_text('[[streams]]\ntopic = "/thermal/image"\nname = "ir"\n')
    try:
        with open_recording(bags["ros1"]) as rec:
            assert "ir" in rec.streams
    finally:
        sidecar.unlink()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[streams]]\ntopic = "/x"\nmodality = "smell"\n')
    with pytest.raises(ValueError, match="modality"):
        open_recording(bags["mcap"], topics=bad)


def test_damaged_bags_raise_recording_error(bags, tmp_path):
    from edgebind.record import RecordingError, open_recording
    for kind in ("bare", "ros1"):
        data = bags[kind].read_bytes()
        cut = tmp_path / bags[kind].name
        cut.write_bytes(data[:len(data) // 2])
        with pytest.raises(RecordingError, match="cut off or damaged"):
            open_recording(cut)


def test_native_recordings_still_open_natively(tmp_path):
    from edgebind.record import RecordingReader, Recorder, Sample, StreamInfo, open_recording
    with Recorder(tmp_path / "n.mcap") as rec:
        rec.add_stream(StreamInfo("cam", "vision", 30.0, (2, 2, 3), "RGB uint8"))
        rec.write(Sample("cam", "vision", 5, np.zeros((2, 2, 3), np.uint8)))
    with open_recording(tmp_path / "n.mcap") as r:
        assert isinstance(r, RecordingReader) and list(r.streams) == ["cam"]
