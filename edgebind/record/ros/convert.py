"""ROS messages -> EdgeBind sample arrays (the mapping is documented in ``__init__``).

Pure functions of one deserialised message (rosbags' message classes; only attribute access is
used, so ROS 1 and ROS 2 definitions of the same message both work)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
IMU = "sensor_msgs/msg/Imu"
AUDIO_DATA = "audio_common_msgs/msg/AudioData"
AUDIO_DATA_STAMPED = "audio_common_msgs/msg/AudioDataStamped"
AUDIO_STAMPED = "audio_common_msgs/msg/AudioStamped"
AUDIO_INFO = "audio_common_msgs/msg/AudioInfo"
AUDIO_TYPES = (AUDIO_DATA, AUDIO_DATA_STAMPED, AUDIO_STAMPED)
SUPPORTED = (IMAGE, COMPRESSED, IMU) + AUDIO_TYPES

# encoding -> (numpy dtype without byte order, channels)
ENCODINGS = {"rgb8": ("u1", 3), "bgr8": ("u1", 3), "rgba8": ("u1", 4), "bgra8": ("u1", 4),
             "mono8": ("u1", 1), "8UC1": ("u1", 1), "mono16": ("u2", 1), "16UC1": ("u2", 1),
             "32FC1": ("f4", 1)}
# Default value = raw * scale for (modality, integer?): REP 118 depth in mm or m; thermal
# cameras' 16-bit radiometric output in centikelvin (FLIR Lepton TLinear, 0.01 K per count).
DEFAULT_SCALE = {("depth", True): 0.001, ("depth", False): 1.0,
                 ("thermal", True): 0.01, ("thermal", False): 1.0}
PCM = {"S16LE": ("<i2", 32768.0, 0.0), "S32LE": ("<i4", 2147483648.0, 0.0),
       "F32LE": ("<f4", 1.0, 0.0), "S8": ("i1", 128.0, 0.0), "U8": ("u1", 128.0, 128.0)}
# mgonzs13 audio_common: AudioInfo.format is a PortAudio sample format code.
PA_FORMATS = {1: ("float32_data", 1.0), 2: ("int32_data", 2147483648.0),
              8: ("int16_data", 32768.0), 16: ("int8_data", 128.0), 32: ("uint8_data", 128.0)}
_THERMAL_WORDS = ("thermal", "lwir", "temperature", "lepton", "boson", "flir")


@dataclass
class AudioFormat:
    sample_rate: int
    channels: int
    sample_format: str = "S16LE"
    assumed: bool = False


def guess_modality(topic: str, msgtype: str, encoding: str = "") -> str | None:
    """The modality a message type (and image encoding) most likely carries; None: not ours."""
    if msgtype == IMU:
        return "imu"
    if msgtype in AUDIO_TYPES:
        return "audio"
    if msgtype not in (IMAGE, COMPRESSED):
        return None
    enc = encoding.lower()
    if not any(k in enc for k in ("16uc1", "mono16", "32fc1", "compresseddepth")):
        return "vision"
    return "thermal" if any(w in topic.lower() for w in _THERMAL_WORDS) else "depth"


def image(msg: Any, modality: str, scale: float | None, offset: float) -> np.ndarray:
    """sensor_msgs/Image -> uint8 H×W×3 RGB (vision) or float32 H×W (depth m, thermal K)."""
    enc = msg.encoding
    if enc not in ENCODINGS:
        raise ValueError(f"image encoding {enc!r} is not supported ({', '.join(ENCODINGS)})")
    kind, ch = ENCODINGS[enc]
    dt = np.dtype(kind).newbyteorder(">" if msg.is_bigendian else "<")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row = w * ch * dt.itemsize
    buf = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if step < row or buf.size < h * step:
        raise ValueError(f"{enc} image {w}x{h}: step {step} and {buf.size} data bytes do not "
                         f"hold it")
    px = np.ascontiguousarray(buf[:h * step].reshape(h, step)[:, :row]).view(dt)
    px = px.reshape((h, w, ch) if ch > 1 else (h, w))
    return pixels(px, enc, modality, scale, offset)


def pixels(px: np.ndarray, enc: str, modality: str, scale: float | None,
           offset: float) -> np.ndarray:
    if modality == "vision":
        if px.dtype != np.uint8:
            raise ValueError(f"a camera stream needs 8-bit pixels, got {enc}")
        if px.ndim == 2:
            return np.repeat(px[:, :, None], 3, axis=2)
        rgb = px[:, :, 2::-1] if enc.startswith("bgr") else px[:, :, :3]
        return np.ascontiguousarray(rgb)
    if px.ndim != 2:
        raise ValueError(f"a {modality} stream needs one value per pixel, got {enc}")
    integer = px.dtype.kind in "ui"
    if scale is None:
        if (modality, integer) not in DEFAULT_SCALE or px.dtype == np.uint8:
            raise ValueError(f"{modality} in {enc} has no standard scale: give 'scale' (and "
                             f"'offset') for this topic in the topic map")
        scale = DEFAULT_SCALE[(modality, integer)]
    out = px.astype(np.float32) * np.float32(scale) + np.float32(offset)
    if modality == "depth" and integer:
        out[px == 0] = np.nan      # REP 118: 0 = no reading; EdgeBind depth: NaN = invalid
    return out


def compressed(msg: Any, modality: str, scale: float | None, offset: float) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png, and compressedDepth's 16-bit png)."""
    fmt = str(msg.format)
    data = bytes(msg.data)
    if "compresseddepth" in fmt.lower():
        if "32fc1" in fmt.lower():
            raise ValueError("compressedDepth of 32FC1 (quantised inverse depth) is not "
                             "supported; record depth as 16UC1")
        data = data[12:]   # compressed_depth_image_transport's 12-byte config header
    px = _decode(data, fmt)
    if px.ndim == 3:   # OpenCV/Pillow decode colour as BGR(A) here (see _decode)
        px = px[:, :, 2::-1] if px.shape[2] >= 3 else px[:, :, 0]
        enc = "rgb8"
    else:
        enc = {np.dtype(np.uint8): "mono8", np.dtype(np.uint16): "16UC1"}.get(px.dtype, "?")
    return pixels(np.ascontiguousarray(px), enc, modality, scale, offset)


def _decode(data: bytes, fmt: str) -> np.ndarray:
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        px = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if px is None:
            raise ValueError(f"CompressedImage ({fmt!r}): not a decodable jpeg/png")
        return px
    import io

    from PIL import Image
    try:
        im = Image.open(io.BytesIO(data))
        px = np.asarray(im)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad message
        raise ValueError(f"CompressedImage ({fmt!r}): not decodable ({exc})") from None
    return px[:, :, 2::-1] if px.ndim == 3 else px   # BGR, as OpenCV gives


def imu(msg: Any) -> np.ndarray:
    """sensor_msgs/Imu -> one [ax ay az gx gy gz] row (REP 103/145: m/s² with gravity, rad/s,
    body axes as published; the calibration profile's axes apply as for a live IMU)."""
    a, g = msg.linear_acceleration, msg.angular_velocity
    return np.array([[a.x, a.y, a.z, g.x, g.y, g.z]], dtype=np.float32)


def audio_info(msg: Any) -> AudioFormat:
    """audio_common_msgs/AudioInfo (either package) -> AudioFormat."""
    if hasattr(msg, "sample_format"):
        coding = str(getattr(msg, "coding_format", "") or "wave").lower()
        if coding not in ("wave", "wav", "pcm", "raw"):
            raise ValueError(f"audio coding {coding!r} is not supported (raw PCM only)")
        return AudioFormat(int(msg.sample_rate), int(msg.channels), str(msg.sample_format))
    return AudioFormat(int(msg.rate), int(msg.channels), f"pa:{int(msg.format)}")


def audio(msg: Any, fmt: AudioFormat | None) -> np.ndarray:
    """One audio message -> float32 frames×channels in [-1, 1]."""
    inner = getattr(msg, "audio", msg)
    if hasattr(inner, "audio_data"):   # mgonzs13 AudioStamped: format in the message itself
        info = inner.info
        field, full = PA_FORMATS.get(int(info.format), (None, 0.0))
        if field is None:
            raise ValueError(f"AudioInfo.format {info.format} is not supported")
        raw = np.asarray(getattr(inner.audio_data, field))
        ch = max(1, int(info.channels))
        off = 128.0 if field == "uint8_data" else 0.0
        x = (raw.astype(np.float32) - off) / np.float32(full)
        return x[:len(x) // ch * ch].reshape(-1, ch)
    if fmt is None:
        raise ValueError("no AudioInfo for this audio topic: give sample_rate/channels/"
                         "sample_format (or info_topic) in the topic map")
    if fmt.sample_format.upper() not in PCM:
        raise ValueError(f"sample_format {fmt.sample_format!r} is not supported "
                         f"({', '.join(PCM)})")
    dt, full, off = PCM[fmt.sample_format.upper()]
    buf = np.asarray(inner.data, dtype=np.uint8).tobytes()
    width = np.dtype(dt).itemsize * fmt.channels
    x = np.frombuffer(buf[:len(buf) // width * width], dtype=dt).astype(np.float32)
    return ((x - np.float32(off)) / np.float32(full)).reshape(-1, fmt.channels)
