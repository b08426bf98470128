"""The message mapping of edgebind.record.ros.convert on hand-made messages (no bag needed):
encodings, row padding, byte order, scales, audio formats; and stamps on another clock."""
from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from edgebind.record.ros import convert as C


def _img(px: np.ndarray, enc: str, pad: int = 0, big: bool = False):
    h, w = px.shape[:2]
    raw = px.astype(px.dtype.newbyteorder(">" if big else "<")).view(np.uint8).reshape(h, -1)
    raw = np.concatenate([raw, np.zeros((h, pad), np.uint8)], axis=1)
    return NS(encoding=enc, height=h, width=w, step=raw.shape[1], is_bigendian=int(big),
              data=raw.reshape(-1))


def test_colour_encodings_become_rgb():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert (C.image(_img(rgb, "rgb8", pad=4), "vision", None, 0) == rgb).all()   # step padding
    assert (C.image(_img(rgb[..., ::-1].copy(), "bgr8"), "vision", None, 0) == rgb).all()
    rgba = np.concatenate([rgb, np.full((2, 3, 1), 9, np.uint8)], axis=2)
    assert (C.image(_img(rgba, "rgba8"), "vision", None, 0) == rgb).all()
    bgra = np.concatenate([rgb[..., ::-1], np.full((2, 3, 1), 9, np.uint8)], axis=2)
    assert (C.image(_img(bgra, "bgra8"), "vision", None, 0) == rgb).all()
    mono = C.image(_img(rgb[..., 0].copy(), "mono8"), "vision", None, 0)
    assert mono.shape == (2, 3, 3) and (mono[..., 2] == rgb[..., 0]).all()


def test_depth_and_thermal_scales():
    mm = np.array([[0, 1000], [2500, 65535]], np.uint16)
    d = C.image(_img(mm, "16UC1", big=True), "depth", None, 0)        # big-endian honoured
    assert np.isnan(d[0, 0]) and d[0, 1] == 1.0 and d[1, 0] == 2.5
    ck = np.array([[30000, 31000]], np.uint16)                          # centikelvin
    assert C.image(_img(ck, "mono16"), "thermal", None, 0).tolist() == [[300.0, 310.0]]
    celsius = np.array([[20.0, 36.6]], np.float32)
    t = C.image(_img(celsius, "32FC1"), "thermal", 1.0, 273.15)
    assert t[0, 1] == pytest.approx(309.75)
    with pytest.raises(ValueError, match="no standard scale"):
        C.image(_img(np.zeros((1, 1), np.uint8), "mono8"), "thermal", None, 0)
    with pytest.raises(ValueError, match="not supported"):
        C.image(_img(np.zeros((1, 1), np.uint8), "bayer_rggb8"), "vision", None, 0)
    with pytest.raises(ValueError, match="do not hold it"):
        C.image(NS(encoding="rgb8", height=4, width=4, step=12, is_bigendian=0,
                   data=np.zeros(10, np.uint8)), "vision", None, 0)


def test_guessing_and_audio_formats():
    assert C.guess_modality("/cam/depth", C.IMAGE, "16UC1") == "depth"
    assert C.guess_modality("/flir/image", C.IMAGE, "mono16") == "thermal"
    assert C.guess_modality("/cam", C.COMPRESSED, "jpeg") == "vision"
    assert C.guess_modality("/x", "nav_msgs/msg/Odometry") is None
    pcm = np.array([0, 16384, -32768], "<i2").view(np.uint8)
    x = C.audio(NS(data=pcm), C.AudioFormat(16000, 1, "S16LE"))
    assert x[:, 0].tolist() == [0.0, 0.5, -1.0]
    stereo = np.array([0.25, -0.25, 0.5, -0.5], "<f4").view(np.uint8)
    y = C.audio(NS(header=None, audio=NS(data=stereo)), C.AudioFormat(48000, 2, "F32LE"))
    assert y.shape == (2, 2) and y[1].tolist() == [0.5, -0.5]
    u8 = C.audio(NS(data=np.array([128, 255, 0], np.uint8)), C.AudioFormat(8000, 1, "U8"))
    assert u8[0, 0] == 0.0 and u8[2, 0] == -1.0
    with pytest.raises(ValueError, match="not supported"):
        C.audio_info(NS(channels=1, sample_rate=16000, sample_format="S16LE", bitrate=0,
                        coding_format="mp3"))
    with pytest.raises(ValueError, match="no AudioInfo"):
        C.audio(NS(data=pcm), None)


def test_stamps_on_a_device_clock_fall_back_to_receive_time(tmp_path):
    from tests.record.rosbag_helpers import need_rosbags
    need_rosbags()
    from rosbags.rosbag2 import StoragePlugin, Writer

    from edgebind.record import open_recording
    from edgebind.record.ros.msgdefs import typestore
    store = typestore()
    ty = store.types
    V3, Q = ty["geometry_msgs/msg/Vector3"], ty["geometry_msgs/msg/Quaternion"]
    t0 = 1_700_000_000 * 10 ** 9
    with Writer(tmp_path / "b", version=9, storage_plugin=StoragePlugin.MCAP) as w:
        c = w.add_connection("/imu", "sensor_msgs/msg/Imu", typestore=store)
        for i in range(10):   # stamped by the IMU's own clock: microseconds since boot
            stamp = ty["builtin_interfaces/msg/Time"](sec=0, nanosec=1000 * i + 5)
            msg = ty["sensor_msgs/msg/Imu"](
                header=ty["std_msgs/msg/Header"](stamp=stamp, frame_id="imu"),
                orientation=Q(x=0, y=0, z=0, w=1), orientation_covariance=np.zeros(9),
                angular_velocity=V3(x=0, y=0, z=0), angular_velocity_covariance=np.zeros(9),
                linear_acceleration=V3(x=0, y=0, z=9.8), linear_acceleration_covariance=np.zeros(9))
            w.write(c, t0 + i * 10 ** 7, store.serialize_cdr(msg, "sensor_msgs/msg/Imu"))
    with open_recording(tmp_path / "b") as rec:
        assert rec.streams["imu"].extra["time"] == "bag receive time"
        assert [s.t_ns for s in rec.samples()][:3] == [0, 10 ** 7, 2 * 10 ** 7]
        assert any("uses receive times" in line for line in rec.summary().skipped)
