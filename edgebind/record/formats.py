"""The recording formats ``open_recording`` reads, and how each is recognised from its bytes.

- ``edgebind``: EdgeBind's own MCAP layout (``reader.RecordingReader``);
- ``rosbag2``: a rosbag2 folder (``metadata.yaml`` with MCAP or sqlite3 storage; or, cut off
  before ``metadata.yaml`` was written, one ROS 2 ``.mcap``), a bare
  ``.mcap`` whose profile is ``ros2``, or a ``.db3`` file (``ros.reader.RosBagReader``);
- ``rosbag1``: a ROS 1 ``.bag`` file (``#ROSBAG V2.0``).

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
    """``edgebind``, ``rosbag2`` or ``rosbag1``."""
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
    if head.startswith(ROSBAG1_MAGIC) and p.suffix == ".bag":
        return "rosbag1"
    if head.startswith(SQLITE_MAGIC) and p.suffix == ".db3":
        return "rosbag2"
    if head.startswith(MCAP_MAGIC) and p.suffix == ".mcap" and mcap_profile(p) == "ros2":
        return "rosbag2"
    return "edgebind"


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
    "edgebind": _edgebind, "rosbag2": _rosbag("rosbag2"), "rosbag1": _rosbag("rosbag1")}


def open_any(path: str | os.PathLike, limits: Any = None, topics: Any = None) -> Any:
    return OPENERS[detect(path)](path, limits, topics)
