"""Small real ROS bags written with rosbags' own writers (the tests' independent writer)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import missing

T0 = 1_700_000_000 * 10 ** 9     # an epoch wall-clock start, as a real robot's bag has
LATENCY = 5_000_000              # receive time = stamp + 5 ms


def need_rosbags():
    try:
        import rosbags  # noqa: F401
    except ImportError:
        missing("rosbags is not installed (pip install rosbags)")


def _header(store, t: int, frame: str):
    H = store.types["std_msgs/msg/Header"]
    T = store.types["builtin_interfaces/msg/Time"]
    stamp = T(sec=t // 10 ** 9, nanosec=t % 10 ** 9)
    if store.fielddefs["std_msgs/msg/Header"][1][0][0] == "seq":   # ROS 1
        return H(seq=0, stamp=stamp, frame_id=frame)
    return H(stamp=stamp, frame_id=frame)


def messages(store, seconds: float = 1.0, ros1: bool = False):
    """(topic, msgtype, receive_ns, message) for a robot: camera 30 fps rgb8, depth 16UC1 mm,
    thermal 32FC1 K, audio AudioData + AudioInfo (16 kHz S16LE), IMU 400 Hz, one unsupported
    std_msgs/String topic; in receive order."""
    ty = store.types
    Image, Imu = ty["sensor_msgs/msg/Image"], ty["sensor_msgs/msg/Imu"]
    V3, Q = ty["geometry_msgs/msg/Vector3"], ty["geometry_msgs/msg/Quaternion"]
    out = []
    rng = np.random.default_rng(0)
    for i in range(int(30 * seconds)):
        t = T0 + i * 10 ** 9 // 30
        rgb = np.full((48, 64, 3), i % 256, np.uint8)
        rgb[..., 0] = 200
        out.append(("/camera/color/image_raw", "sensor_msgs/msg/Image", t + LATENCY,
                    Image(header=_header(store, t, "camera"), height=48, width=64,
                          encoding="bgr8", is_bigendian=0, step=64 * 3,
                          data=rgb[..., ::-1].reshape(-1).copy())))
        mm = np.full((24, 32), 1500 + i, np.uint16)
        mm[0, 0] = 0
        out.append(("/camera/depth/image_raw", "sensor_msgs/msg/Image", t + LATENCY + 1,
                    Image(header=_header(store, t, "depth"), height=24, width=32,
                          encoding="16UC1", is_bigendian=0, step=64,
                          data=mm.view(np.uint8).reshape(-1).copy())))
    for i in range(int(9 * seconds)):
        t = T0 + i * 10 ** 9 // 9
        k = np.full((12, 16), 300.0 + i, np.float32)
        out.append(("/thermal/image", "sensor_msgs/msg/Image", t + LATENCY,
                    Image(header=_header(store, t, "thermal"), height=12, width=16,
                          encoding="32FC1", is_bigendian=0, step=64,
                          data=k.view(np.uint8).reshape(-1).copy())))
    info = ty["audio_common_msgs/msg/AudioInfo"](channels=1, sample_rate=16000,
                                                  sample_format="S16LE", bitrate=256000,
                                                  coding_format="wave")
    out.append(("/audio/audio_info", "audio_common_msgs/msg/AudioInfo", T0, info))
    for i in range(int(10 * seconds)):
        pcm = (rng.standard_normal(1600) * 3000).astype("<i2")
        out.append(("/audio/audio", "audio_common_msgs/msg/AudioData",
                    T0 + i * 10 ** 8 + LATENCY,
                    ty["audio_common_msgs/msg/AudioData"](data=pcm.view(np.uint8).copy())))
    for i in range(int(400 * seconds)):
        t = T0 + i * 10 ** 9 // 400
        out.append(("/imu/data", "sensor_msgs/msg/Imu", t + LATENCY,
                    Imu(header=_header(store, t, "imu"), orientation=Q(x=0, y=0, z=0, w=1),
                        orientation_covariance=np.array([-1.0] + [0.0] * 8),
                        angular_velocity=V3(x=0.01, y=0.02, z=i / 1000),
                        angular_velocity_covariance=np.zeros(9),
                        linear_acceleration=V3(x=0.1, y=0.0, z=9.81),
                        linear_acceleration_covariance=np.zeros(9))))
    out.append(("/chatter", "std_msgs/msg/String", T0 + 1, ty["std_msgs/msg/String"](data="hi")))
    out.sort(key=lambda m: m[2])
    return out


def write_ros2(path: Path, storage: str = "mcap", seconds: float = 1.0) -> Path:
    from rosbags.rosbag2 import StoragePlugin, Writer

    from edgebind.record.ros.msgdefs import typestore
    store = typestore()
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    conns = {}
    with Writer(path, version=9, storage_plugin=plugin) as w:
        for topic, typ, r, msg in messages(store, seconds):
            if topic not in conns:
                conns[topic] = w.add_connection(topic, typ, typestore=store)
            w.write(conns[topic], r, store.serialize_cdr(msg, typ))
    return path


def write_ros1(path: Path, seconds: float = 1.0) -> Path:
    from rosbags.rosbag1 import Writer

    from edgebind.record.ros.msgdefs import typestore
    store = typestore(ros1=True)
    conns = {}
    with Writer(path) as w:
        for topic, typ, r, msg in messages(store, seconds, ros1=True):
            if topic not in conns:
                conns[topic] = w.add_connection(topic, typ, typestore=store)
            w.write(conns[topic], r, store.serialize_ros1(msg, typ))
    return path
