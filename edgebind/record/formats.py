"""The recording formats ``open_recording`` reads, and how each is recognised from its bytes.

- ``edgebind``: EdgeBind's own MCAP layout (``reader.RecordingReader``);
- ``rosbag2``: a rosbag2 folder (``metadata.yaml`` with MCAP or sqlite3 storage; or, cut off
  before ``metadata.yaml`` was written, one ROS 2 ``.mcap``), a bare
  ``.mcap`` whose profile is ``ros2``, or a ``.db3`` file (``ros.reader.RosBagReader``);
- ``rosbag1``: a ROS 1 ``.bag`` file (``#ROSBAG V2.0``);
- ``realsense``: a RealSense SDK recording (a ``.bag``/``.db3`` whose topics are the SDK's
  ``/device_0/...``), read through librealsense, which knows its depth units (ROS readers
  would assume millimetres; the SDK may record 0.1 mm).

Anything else goes to the EdgeBind reader, whose errors say what a recording must look like.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, Callable

MCAP_MAGIC = b"\x89MCAP0\r\n"
ROSBAG1_MAGIC = b"#ROSBAG V2.0"
SQLITE_MAGIC = b"SQLite format 3\x00"
REALSENSE_TOPICS = "/device_0/"   # every topic of a RealSense SDK recording starts so


def mcap_profile(path: Path) -> str | None:
    """The profile string of an MCAP file's header record, or None if it has none."""
    try:
        with open(path, "rb") as f:
            head = f.read(8 + 1 + 8 + 4 + 64)
    except OSError:
        return None
    if head[:8] != MCAP_MAGIC or len(head) < 21 or head[8] != 0x01:
        return None
    (n,) = struct.unpack_from("<I", head, 17)
    return head[21:21 + n].decode("utf-8", "replace") if n <= 64 else None


def detect(path: str | os.PathLike) -> str:
    """``edgebind``, ``rosbag2``, ``rosbag1`` or ``realsense``."""
    p = Path(path)
    if p.is_dir():
        if (p / "metadata.yaml").is_file():
            return "rosbag2"
        # ros2 bag record killed before writing metadata.yaml: the folder's one ROS 2 .mcap
        files = list(p.glob("*.mcap"))
        ros2 = len(files) == 1 and mcap_profile(files[0]) == "ros2"
        return "rosbag2" if ros2 else "edgebind"
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return "edgebind"   # missing or unreadable: the EdgeBind reader says so
    if p.suffix.lower() in (".bag", ".db3") and sniff_realsense(p):
        return "realsense"   # before the ROS rules: these files are ROS bags too
    if head.startswith(ROSBAG1_MAGIC) and p.suffix == ".bag":
        return "rosbag1"
    if head.startswith(SQLITE_MAGIC) and p.suffix == ".db3":
        return "rosbag2"
    if head.startswith(MCAP_MAGIC) and p.suffix == ".mcap" and mcap_profile(p) == "ros2":
        return "rosbag2"
    return "edgebind"


def sniff_realsense(path: str | os.PathLike) -> bool:
    """A ROS 1 bag or rosbag2 sqlite file whose topics are the RealSense SDK's
    ``/device_0/...`` (sniffed from the bytes, without librealsense)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    if head.startswith(ROSBAG1_MAGIC):
        return REALSENSE_TOPICS.encode() in head
    if head.startswith(SQLITE_MAGIC):
        import sqlite3
        try:
            with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as db:
                names = [r[0] for r in db.execute("SELECT name FROM topics")]
        except sqlite3.Error:
            return False
        return any(n.startswith(REALSENSE_TOPICS) for n in names)
    return False


def _realsense_recording(path: Any, limits: Any, topics: Any) -> Any:
    from edgebind.sensors.sources.realsense_recording import RealSenseRecording
    return RealSenseRecording(path, limits, topics)


def _edgebind(path: Any, limits: Any, topics: Any) -> Any:
    from edgebind.record.reader import RecordingReader
    if topics is not None:
        raise ValueError(f"{path}: a topic map applies to ROS bags only; this is an EdgeBind "
                         f"recording")
    return RecordingReader(path, limits)


def _rosbag(kind: str) -> Callable[[Any, Any, Any], Any]:
    def open_bag(path: Any, limits: Any, topics: Any) -> Any:
        from edgebind.record.ros.reader import RosBagReader
        return RosBagReader(path, limits, topics=topics, kind=kind)
    return open_bag


# format -> opener(path, limits, topics); a new format adds a detect rule and an entry here.
OPENERS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "edgebind": _edgebind, "rosbag2": _rosbag("rosbag2"), "rosbag1": _rosbag("rosbag1"),
    "realsense": _realsense_recording}


def open_any(path: str | os.PathLike, limits: Any = None, topics: Any = None) -> Any:
    return OPENERS[detect(path)](path, limits, topics)
