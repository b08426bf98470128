"""Write Samples as a ROS 2 bag (``edgebind record --format ros2``): a rosbag2 folder with MCAP
storage and ``metadata.yaml``, CDR-serialised standard messages, through rosbags' writer.

| modality | topic | message |
|---|---|---|
| vision | ``/<stream>/image_raw`` | ``sensor_msgs/Image`` rgb8 |
| depth | ``/<stream>/image_raw`` | ``sensor_msgs/Image`` 32FC1 metres (NaN = no reading) |
| thermal | ``/<stream>/image_raw`` | ``sensor_msgs/Image`` 32FC1 kelvin |
| audio | ``/<stream>/audio`` + ``/<stream>/audio_info`` | ``audio_common_msgs/AudioDataStamped`` F32LE interleaved; one ``AudioInfo`` first |
| imu | ``/<stream>/imu`` | ``sensor_msgs/Imu``, one message per row; orientation unknown (covariance[0] = -1, REP 145) |

Bag time and ``header.stamp`` are the sample's host-monotonic ``t_ns`` (IMU: each row's time);
``frame_id`` is the stream id. The clock (``edgebind.clock``), the StreamInfo of each stream and a calibration profile are kept
in ``metadata.yaml``'s ``custom_data`` (``edgebind.stream_info.<stream>``,
``edgebind.calibration``), where ``ros2 bag info`` ignores them; EdgeBind's reader uses them to
give back the same stream names, infos and times.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from edgebind.record.writer import checked_time
from edgebind.sample import Sample, StreamInfo

_TOPIC = {"vision": "image_raw", "depth": "image_raw", "thermal": "image_raw",
          "audio": "audio", "imu": "imu"}
_TYPE = {"vision": "sensor_msgs/msg/Image", "depth": "sensor_msgs/msg/Image",
         "thermal": "sensor_msgs/msg/Image", "audio": "audio_common_msgs/msg/AudioDataStamped",
         "imu": "sensor_msgs/msg/Imu"}
_INFO = "audio_common_msgs/msg/AudioInfo"
CLOCK_KEY, CLOCK = "edgebind.clock", "host monotonic ns"
INFO_PREFIX = "edgebind.stream_info."


def topic_for(info: StreamInfo) -> str:
    """The bag topic the writer gives a stream."""
    return f"/{info.stream}/{_TOPIC.get(info.modality, 'data')}"


class RosBagWriter:
    """``RecordingWriter``'s interface (``add_stream``, ``write``, ``add_calibration``,
    ``streams``, ``close``, context manager) writing a rosbag2 folder at ``path``."""

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False,
                 edgebind_metadata: bool = True, **_: Any) -> None:
        try:
            from rosbags.rosbag2 import StoragePlugin, Writer
        except ImportError:
            raise RuntimeError("--format ros2 needs the rosbags package (pip install "
                               "'edgebind[ros]' or pip install rosbags)") from None
        from edgebind.record.ros.msgdefs import typestore
        self.path = Path(path)
        if self.path.exists():
            if not overwrite:
                raise FileExistsError(f"{self.path} exists; pass --overwrite to replace it")
            if not (self.path / "metadata.yaml").is_file():
                raise FileExistsError(f"{self.path} exists and is not a rosbag2 folder; not "
                                      f"replacing it")
            shutil.rmtree(self.path)
        self._store = typestore()
        self._bag = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._bag.open()
        # False: a bag as any ROS tool would write it (tests and the equivalence script)
        self._meta = edgebind_metadata
        if self._meta:
            self._bag.set_custom_data(CLOCK_KEY, CLOCK)
        self._streams: dict[str, tuple[StreamInfo, Any]] = {}
        self._info_conns: dict[str, Any] = {}
        self._closed = False

    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {k: v[0] for k, v in self._streams.items()}

    def add_stream(self, info: StreamInfo) -> Any:
        self._check_open()
        if info.stream in self._streams:
            raise ValueError(f"stream {info.stream!r} is already registered")
        if info.modality not in _TYPE:
            raise ValueError(f"stream {info.stream!r}: modality {info.modality!r} has no ROS "
                             f"message mapping")
        conn = self._bag.add_connection(topic_for(info), _TYPE[info.modality], typestore=self._store)
        if info.modality == "audio":
            self._info_conns[info.stream] = self._bag.add_connection(
                f"/{info.stream}/audio_info", _INFO, typestore=self._store)
        self._streams[info.stream] = (info, conn)
        if self._meta:
            self._bag.set_custom_data(INFO_PREFIX + info.stream,
                                      json.dumps(info.to_dict(), sort_keys=True))
        return conn

    def add_calibration(self, profile: Mapping[str, Any], source: str = "") -> None:
        self._check_open()
        self._bag.set_custom_data("edgebind.calibration", json.dumps(
            {"source": source, "profile": profile}, sort_keys=True))

    def write(self, sample: Sample) -> None:
        self._check_open()
        info, conn = self._streams.get(sample.stream, (None, None))
        t = checked_time(sample, info)
        if info.modality == "imu":
            for row_t, msg in self._imu(sample):
                self._put(conn, row_t, msg)
            return
        if info.modality == "audio":
            if sample.stream in self._info_conns:   # the format once, before the first chunk
                data = np.asarray(sample.data)
                ch = int(data.shape[1]) if data.ndim == 2 else 1
                self._put(self._info_conns.pop(sample.stream), t, self._store.types[_INFO](
                    channels=ch, sample_rate=int(round(info.rate_hz)), sample_format="F32LE",
                    bitrate=int(round(info.rate_hz)) * 32 * ch, coding_format="wave"))
            self._put(conn, t, self._audio(sample, t))
        else:
            self._put(conn, t, self._image(sample, t))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._bag.close()

    def __enter__(self) -> RosBagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------------
    def _put(self, conn: Any, t: int, msg: Any) -> None:
        self._bag.write(conn, t, self._store.serialize_cdr(msg, conn.msgtype))

    def _header(self, t: int, frame: str) -> Any:
        ty = self._store.types
        return ty["std_msgs/msg/Header"](
            stamp=ty["builtin_interfaces/msg/Time"](sec=t // 10 ** 9, nanosec=t % 10 ** 9),
            frame_id=frame)

    def _image(self, s: Sample, t: int) -> Any:
        a = np.asarray(s.data)
        if s.modality == "vision":
            if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
                raise ValueError(f"camera data must be uint8 H×W×3; got {a.dtype} {a.shape}")
            enc, px = "rgb8", a
        else:
            if a.ndim != 2:
                raise ValueError(f"{s.modality} data must be H×W; got {a.shape}")
            enc, px = "32FC1", a.astype("<f4")
        h, w = px.shape[:2]
        raw = np.ascontiguousarray(px).view(np.uint8).reshape(-1)
        return self._store.types["sensor_msgs/msg/Image"](
            header=self._header(t, s.stream), height=h, width=w, encoding=enc, is_bigendian=0,
            step=raw.size // max(h, 1), data=raw)

    def _audio(self, s: Sample, t: int) -> Any:
        a = np.asarray(s.data)
        if a.ndim != 2:
            raise ValueError(f"audio data must be frames×channels; got {a.shape}")
        raw = np.ascontiguousarray(a.astype("<f4")).view(np.uint8).reshape(-1)
        ty = self._store.types
        return ty["audio_common_msgs/msg/AudioDataStamped"](
            header=self._header(t, s.stream), audio=ty["audio_common_msgs/msg/AudioData"](raw))

    def _imu(self, s: Sample) -> list[tuple[int, Any]]:
        a = np.asarray(s.data, dtype=np.float64).reshape(-1, 6)
        rows = s.row_t_ns if s.row_t_ns is not None else np.full(len(a), s.t_ns)
        ty = self._store.types
        V3, Q = ty["geometry_msgs/msg/Vector3"], ty["geometry_msgs/msg/Quaternion"]
        cov0, unknown = np.zeros(9), np.zeros(9)
        unknown[0] = -1.0   # REP 145: no orientation estimate
        out = []
        for t, r in zip(np.asarray(rows, dtype=np.int64).tolist(), a.tolist()):
            out.append((t, ty["sensor_msgs/msg/Imu"](
                header=self._header(t, s.stream), orientation=Q(x=0.0, y=0.0, z=0.0, w=1.0),
                orientation_covariance=unknown,
                angular_velocity=V3(x=r[3], y=r[4], z=r[5]), angular_velocity_covariance=cov0,
                linear_acceleration=V3(x=r[0], y=r[1], z=r[2]),
                linear_acceleration_covariance=cov0)))
        return out

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"recorder for {self.path} is closed")
