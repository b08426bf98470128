"""Message definitions that rosbags' built-in typestores lack: ``audio_common_msgs``.

Two public packages use that name with different fields, and bags carry their own definitions,
so reading takes whichever a bag embeds (``convert.audio`` tells them apart by field names).
These texts are for writing bags and for bags that embed no definitions:

- ``"ros-drivers"``: ``audio_common`` of ROS 1 and its ROS 2 port (``AudioData`` raw bytes,
  ``AudioDataStamped``, ``AudioInfo`` with rate/channels/``sample_format`` strings such as S16LE);
- ``"mgonzs13"``: the ROS 2 ``audio_common`` (``AudioStamped`` = header + ``Audio`` = typed
  ``AudioData`` arrays + ``AudioInfo`` with a PortAudio ``format`` code).
"""
from __future__ import annotations

from typing import Any

ROS_DRIVERS = {
    "audio_common_msgs/msg/AudioData": "uint8[] data\n",
    "audio_common_msgs/msg/AudioDataStamped":
        "std_msgs/Header header\naudio_common_msgs/AudioData audio\n",
    "audio_common_msgs/msg/AudioInfo": (
        "# Number of channels\nuint8 channels\n"
        "# Sampling rate [Hz]\nuint32 sample_rate\n"
        "# Audio format (e.g. S16LE)\nstring sample_format\n"
        "# Amount of audio data per second [bits/s]\nuint32 bitrate\n"
        "# Audio coding format (e.g. WAVE, MP3)\nstring coding_format\n"),
}

MGONZS13 = {
    "audio_common_msgs/msg/AudioData": (
        "float32[] float32_data\nint32[] int32_data\nint16[] int16_data\nint8[] int8_data\n"
        "uint8[] uint8_data\n"),
    "audio_common_msgs/msg/AudioInfo": "int32 format\nint32 channels\nint32 rate\nint32 chunk\n",
    "audio_common_msgs/msg/Audio":
        "audio_common_msgs/AudioData audio_data\naudio_common_msgs/AudioInfo info\n",
    "audio_common_msgs/msg/AudioStamped": "std_msgs/Header header\naudio_common_msgs/Audio audio\n",
}

FLAVOURS = {"ros-drivers": ROS_DRIVERS, "mgonzs13": MGONZS13}


def typestore(flavour: str = "ros-drivers", ros1: bool = False) -> Any:
    """rosbags' ROS 2 Humble (or ROS 1 Noetic) typestore with ``audio_common_msgs`` added."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    types: dict[str, Any] = {}
    for name, text in FLAVOURS[flavour].items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store
