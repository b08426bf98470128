"""ROS bags in and out, read and written with ``rosbags`` (pure Python; imported lazily, so the
device side imports without it). Lives under ``edgebind.record`` because a bag is one more
recording format: ``open_recording`` dispatches to it (``edgebind.record.formats``).

Reading (``RosBagReader``): rosbag2 folders (MCAP or sqlite3 storage), bare ROS 2 ``.mcap`` and
``.db3`` files, ROS 1 ``.bag`` files. Message mapping:

- ``sensor_msgs/Image``: rgb8/bgr8/rgba8/bgra8/mono8 -> camera (``vision``) uint8 H×W×3 RGB;
  16UC1/mono16 -> ``depth`` in millimetres (REP 118) -> float32 metres, 0 -> NaN; 32FC1 ->
  depth metres as is; ``thermal`` (chosen by the topic map, or a topic name containing thermal,
  lwir, temperature, lepton, boson or flir) 16-bit in centikelvin (0.01 K per count, as FLIR
  Lepton's radiometric output), 32FC1 in kelvin. ``scale``/``offset`` in the topic map override
  (value = raw * scale + offset). Row padding (``step``) and big-endian data are handled.
- ``sensor_msgs/CompressedImage``: jpeg/png (OpenCV, else Pillow); ``compressedDepth`` 16-bit
  png as 16UC1.
- ``sensor_msgs/Imu``: one ``[ax ay az gx gy gz]`` row per message from linear_acceleration
  (m/s², gravity included, REP 145) and angular_velocity (rad/s), body axes as published (REP
  103 x forward, y left, z up); orientation is not used.
- audio (``audio_common_msgs``): ``AudioData`` / ``AudioDataStamped`` (raw PCM bytes; format
  from the paired ``AudioInfo`` topic: ``<topic>_info`` or ``audio_info`` beside it, the only
  AudioInfo topic, or the topic map; S16LE, S32LE, F32LE, S8, U8) and ``AudioStamped``
  (typed arrays with their PortAudio format) -> float32 frames×channels in [-1, 1].
- any other type: listed in ``summary()`` (modality "") and in ``skipped``, never replayed.

Time: one timeline in ns per bag. A message's time is its ``header.stamp`` where the type has a
header and the topic's stamps are all set and within 10 s of the bag's receive time, else the
bag's receive time; the topic map's ``stamp`` overrides. Times are offsets from the earliest
first sample of the bag's streams (``metadata["time_origin_ns"]``), so a wall-clock epoch
becomes 0 at the first message; ``ReplaySource(rebase=True)`` moves them onto "now".

Damage: a ROS 2 MCAP bag cut off before its summary is read up to its last complete record
(``salvage.py``); a bag rosbags cannot open otherwise raises ``RecordingError``.

Writing (``RosBagWriter``, ``edgebind record --format ros2``): a rosbag2 folder with MCAP
storage, CDR, standard types (see ``writer.py``).
"""
from edgebind.record.ros.topics import TopicRule, load_topics, stream_name

__all__ = ["TopicRule", "load_topics", "stream_name"]
