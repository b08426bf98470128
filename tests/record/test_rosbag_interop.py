"""``edgebind record --format ros2`` read by an independent reader (mcap-ros2-support), and a
bag written by an independent writer (mcap + mcap-ros2-support) read by EdgeBind: compressed
images at another rate, compressedDepth, and mgonzs13's AudioStamped."""
from __future__ import annotations


import numpy as np
import pytest

from tests.conftest import missing
from tests.record.rosbag_helpers import need_rosbags


def _need_mcap_ros2():
    need_rosbags()
    try:
        import mcap_ros2.decoder  # noqa: F401
    except ImportError:
        missing("mcap-ros2-support is not installed (pip install mcap-ros2-support)")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    _need_mcap_ros2()
    from edgebind.cli import main
    d = tmp_path_factory.mktemp("rec")
    for fmt, out in (("ros2", d / "bag"), ("edgebind", d / "native.mcap")):
        assert main(["record", "--sim", "default", "--seed", "3", "--duration", "1.5",
                     "--format", fmt, "--out", str(out), "--quiet"]) == 0
    return d / "bag", d / "native.mcap"


def test_ros2_output_decodes_with_mcap_ros2(recorded):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    from edgebind.record import open_recording
    bag, native = recorded
    meta = (bag / "metadata.yaml").read_text()
    assert "rosbag2_bagfile_information" in meta and "storage_identifier: mcap" in meta
    got: dict[str, list] = {}
    with open(next(bag.glob("*.mcap")), "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == "ros2"
        for schema, channel, _, msg in reader.iter_decoded_messages():
            assert channel.message_encoding == "cdr" and schema.encoding == "ros2msg"
            got.setdefault(channel.topic, []).append((schema, msg))
    assert {t: got[t][0][0].name for t in got} == {
        "/camera/image_raw": "sensor_msgs/msg/Image", "/depth/image_raw": "sensor_msgs/msg/Image",
        "/thermal/image_raw": "sensor_msgs/msg/Image", "/imu/imu": "sensor_msgs/msg/Imu",
        "/mic/audio": "audio_common_msgs/msg/AudioDataStamped",
        "/mic/audio_info": "audio_common_msgs/msg/AudioInfo"}
    with open_recording(bag) as rec:     # EdgeBind's own reading of the same bag
        first = {}
        for s in rec.samples():
            first.setdefault(s.stream, s)
    cam = got["/camera/image_raw"][0][1]
    assert (cam.encoding, cam.height, cam.width) == ("rgb8", 224, 224)
    assert bytes(cam.data) == first["camera"].data.tobytes()
    stamp = cam.header.stamp
    assert stamp.sec * 10 ** 9 + stamp.nanosec == first["camera"].t_ns
    dep = got["/depth/image_raw"][0][1]
    np.testing.assert_array_equal(np.frombuffer(bytes(dep.data), "<f4").reshape(224, 224),
                                  first["depth"].data)
    imu = got["/imu/imu"][0][1]
    assert imu.linear_acceleration.z == pytest.approx(float(first["imu"].data[0, 2]))
    assert imu.orientation_covariance[0] == -1.0
    info = got["/mic/audio_info"][0][1]
    assert (info.sample_rate, info.channels, info.sample_format) == (16000, 1, "F32LE")


def test_ros2_output_reads_back_as_the_native_recording(recorded, tmp_path):
    from edgebind.record import open_recording
    from edgebind.record.ros.writer import RosBagWriter
    _, native = recorded
    bag = tmp_path / "same"
    with open_recording(native) as a, RosBagWriter(bag) as w:   # the same samples, as a bag
        for info in a.streams.values():
            w.add_stream(info)
        for s in a.samples():
            w.write(s)
    with open_recording(native) as a, open_recording(bag) as b:
        assert a.streams == b.streams
        want = {}
        for s in a.samples():
            want.setdefault(s.stream, []).append(s)
        have = {}
        for s in b.samples():
            have.setdefault(s.stream, []).append(s)
    for name in ("camera", "depth", "thermal", "mic"):
        assert [s.t_ns for s in have[name]] == [s.t_ns for s in want[name]]
        np.testing.assert_array_equal(have[name][-1].data, want[name][-1].data)
    rows = np.concatenate([s.row_t_ns for s in want["imu"]])
    assert [int(s.t_ns) for s in have["imu"]] == rows.tolist()


def _msgdef(store, typ):
    return store.generate_msgdef(typ, ros_version=2)[0]


def test_bag_written_by_mcap_ros2_writer(tmp_path):
    _need_mcap_ros2()
    import cv2
    from mcap_ros2.writer import Writer

    from edgebind.record import open_recording
    from edgebind.record.ros.msgdefs import typestore
    store = typestore("mgonzs13")
    path = tmp_path / "other.mcap"
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[..., 0] = 255                                       # red
    jpeg = cv2.imencode(".jpg", rgb[..., ::-1])[1].tobytes()
    mm = np.full((8, 8), 2000, np.uint16)
    png = b"\0" * 12 + cv2.imencode(".png", mm)[1].tobytes()  # compressedDepth header + png
    t0 = 1_700_000_000 * 10 ** 9
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=4096)   # small chunks: a cut keeps most of them
        sc = w.register_msgdef("sensor_msgs/msg/CompressedImage",
                               _msgdef(store, "sensor_msgs/msg/CompressedImage"))
        sa = w.register_msgdef("audio_common_msgs/msg/AudioStamped",
                               _msgdef(store, "audio_common_msgs/msg/AudioStamped"))
        for i in range(15):                                 # 15 fps, 1 s
            t = t0 + i * 10 ** 9 // 15
            hdr = {"stamp": {"sec": t // 10 ** 9, "nanosec": t % 10 ** 9}, "frame_id": "cam"}
            w.write_message("/cam/image/compressed", sc,
                            {"header": hdr, "format": "rgb8; jpeg compressed bgr8",
                             "data": jpeg}, log_time=t + 1000)
            w.write_message("/cam/depth/compressedDepth", sc,
                            {"header": hdr, "format": "16UC1; compressedDepth png",
                             "data": png}, log_time=t + 2000)
        for i in range(5):
            t = t0 + i * 2 * 10 ** 8
            pcm = (np.full(3200 * 2, 16384)).astype(np.int16)
            w.write_message("/audio", sa, {
                "header": {"stamp": {"sec": t // 10 ** 9, "nanosec": t % 10 ** 9},
                           "frame_id": "mic"},
                "audio": {"audio_data": {"int16_data": pcm.tolist()},
                          "info": {"format": 8, "channels": 2, "rate": 16000, "chunk": 3200}}},
                log_time=t + 10)
        w.finish()
    with open_recording(path) as rec:
        s = rec.streams
        assert s["cam_image_compressed"].modality == "vision"
        assert s["cam_image_compressed"].rate_hz == pytest.approx(15.0)
        assert s["cam_depth_compressedDepth"].modality == "depth"
        assert (s["audio"].modality, s["audio"].rate_hz, s["audio"].shape) == \
            ("audio", 16000.0, (-1, 2))
        got = {}
        for x in rec.samples():
            got.setdefault(x.stream, []).append(x)
    cam = got["cam_image_compressed"]
    assert len(cam) == 15 and cam[0].data.shape == (32, 48, 3)
    assert cam[0].data[..., 0].mean() > 240 and cam[0].data[..., 2].mean() < 15  # RGB order
    assert got["cam_depth_compressedDepth"][0].data[3, 3] == pytest.approx(2.0)
    audio = got["audio"]
    assert len(audio) == 5 and audio[1].t_ns == 2 * 10 ** 8
    assert audio[0].data.shape == (3200, 2) and audio[0].data[0, 0] == pytest.approx(0.5)


def test_cut_off_bag_reads_its_prefix(tmp_path):
    """``ros2 bag record`` killed: the folder has no metadata.yaml and its .mcap no summary or
    footer; the complete chunks are read, and the summary says the file is cut off."""
    test_bag_written_by_mcap_ros2_writer(tmp_path)
    from edgebind.record import open_recording
    full = (tmp_path / "other.mcap").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "cut_0.mcap").write_bytes(full[:len(full) * 6 // 10])
    with open_recording(tmp_path / "other.mcap") as rec:
        total = sum(1 for _ in rec.samples())
    with open_recording(tmp_path / "cut") as rec:
        n = sum(1 for _ in rec.samples())
        s = rec.summary()
    assert 0 < n < total and not s.complete
    assert any("last complete record" in line for line in s.skipped)
