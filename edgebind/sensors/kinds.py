"""The kinds of ``[[streams]]`` table, one registry entry each (:data:`SOURCE_KINDS`): the kind's
keys (a checker and a help line per key), which keys select the device, the checks across keys,
and how its Source is made. A new kind of source is a new entry here, as a new sink is one in
``edgebind.sinks.config.SINK_KINDS``; the parser (``edgebind.sensors.config``) reads them all
the same way.

Config keys are the file format and do not change; ``params`` maps the few whose Python keyword
is spelled differently (``fps`` -> ``rate_hz``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from edgebind.sensors.base import Source
from edgebind.validate import Checker, boolean, choice, integer, number, string


@dataclass(frozen=True)
class Key:
    """One allowed key: a checker that returns the cleaned value or raises ValueError(expected)."""

    check: Checker
    help: str


# ---- checkers only streams need (the general ones are edgebind.validate's) --------------------
def _nonneg(hi: float) -> Checker:
    return number(0.0, hi, f"a number >= 0 up to {hi:g}")


def _device(v: Any) -> int | str:
    if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, int) and v < 0) \
            or (isinstance(v, str) and not v.strip()):
        raise ValueError("a device index (integer >= 0) or a device name/path (string)")
    return v


def _stream_names(v: Any) -> list[str]:
    if not isinstance(v, list) or not v or not all(isinstance(s, str) and s for s in v):
        raise ValueError("a non-empty list of stream names (strings)")
    return list(v)


def _latency(v: Any) -> str | float:
    if v in ("low", "high"):
        return v
    try:
        return number(hi=10.0, above=0)(v)
    except ValueError:
        raise ValueError("'low', 'high' or a positive number of seconds up to 10") from None


def _scale(v: Any) -> float:
    """Kelvin per raw count: any sign (a camera may count down), never 0."""
    want = "a non-zero number up to 1e+06"
    if number(-1e6, 1e6, want)(v) == 0:
        raise ValueError(want)
    return float(v)


NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
# Every rate and duration has a sane range: ``fps = 1e300`` is a typo, not a camera.
_FPS = number(hi=1000, above=0)

COMMON: dict[str, Key] = {
    "name": Key(string, "stream id (letters, digits, _ . -); the MCAP topic is /<name>"),
    "kind": Key(string, "camera | microphone | depth | thermal | imu | replay | sim"),
    "queue_size": Key(integer(1, 1_000_000),
                      "samples buffered for a slow consumer (oldest dropped beyond)"),
}

_FRAME = {
    "width": Key(integer(1, 16384), "frame width in pixels (requested from live devices)"),
    "height": Key(integer(1, 16384), "frame height in pixels"),
    "fps": Key(_FPS, "frames per second (live: requested; files: playback rate)"),
    "realtime": Key(boolean, "files: play at fps in real time (true) or as fast as possible"),
    "loop": Key(boolean, "files: start again at the end"),
}


# ---- checks across keys: each raises ValueError(message) -------------------------------------
def _files_only(o: dict[str, Any]) -> None:
    if "path" not in o and ("realtime" in o or "loop" in o):
        raise ValueError("keys 'realtime' and 'loop' only apply to files ('path')")


def _depth_checks(o: dict[str, Any]) -> None:
    recording = str(o.get("path", "")).lower().endswith((".bag", ".db3"))
    if "align_to" in o and o.get("backend") != "realsense" and not recording:
        raise ValueError("key 'align_to' needs backend = \"realsense\" or a RealSense recording")
    _files_only(o)


def _camera_checks(o: dict[str, Any]) -> None:
    if "flip_method" in o and "csi_sensor" not in o:
        raise ValueError("key 'flip_method' only applies with 'csi_sensor'")
    _files_only(o)


def _thermal_checks(o: dict[str, Any]) -> None:
    if "port" in o:
        for k in ("scale", "offset", "width", "height", "realtime", "loop"):
            if k in o:
                raise ValueError(f"key {k!r} does not apply to a firmware-bridge thermal stream "
                                 "('port'); its frames arrive in kelvin at the device's size")
    elif "baudrate" in o:
        raise ValueError("key 'baudrate' only applies with 'port'")
    _files_only(o)


def _replay_checks(o: dict[str, Any]) -> None:
    if o.get("loop") and not o.get("rebase"):
        raise ValueError("key 'loop' needs 'rebase = true' (replayed timestamps would repeat)")


# ---- constructors: (name, options as keywords) -> Source; each imports its source lazily -----
def _camera(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.camera import CameraSource, jetson_csi_pipeline

    if "csi_sensor" in kw:
        kw["pipeline"] = jetson_csi_pipeline(
            kw.pop("csi_sensor"), kw.get("width", 1280), kw.get("height", 720),
            kw.get("rate_hz", 30.0), kw.pop("flip_method", 0))
        kw["backend"] = "gstreamer"
    return CameraSource(name, **kw)


def _microphone(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.microphone import MicrophoneSource
    return MicrophoneSource(name, **kw)


def _depth(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.depth import DepthSource
    return DepthSource(name, **kw)


def _thermal(name: str, kw: dict[str, Any]) -> Source:
    if "port" in kw:     # a thermal array on the firmware bridge: its rate is configured there
        from edgebind.sensors.sources.imu import BridgeSource
        return BridgeSource.thermal(name, thermal_rate_hz=kw.pop("rate_hz", None), **kw)
    from edgebind.sensors.sources.thermal import ThermalSource
    return ThermalSource(name, **kw)


def _imu(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.imu import BridgeSource
    return BridgeSource.imu(name, **kw)


def _replay(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.replay import ReplaySource
    return ReplaySource(kw.pop("path"), name=name, **kw)


def _sim(name: str, kw: dict[str, Any]) -> Source:
    from edgebind.sensors.sources.simulated import SimSource
    return SimSource(name=name, **kw)


@dataclass(frozen=True)
class SourceKind:
    """One ``kind`` of stream table. ``one_of``: exactly one of these keys selects the device;
    ``checks``: what single keys cannot say (raises ValueError); ``params``: config key ->
    the constructor's keyword where they differ; ``stream_keys``: keys naming further streams
    the table delivers (their names must be unique too); ``build(name, keywords)`` makes the
    Source."""

    keys: dict[str, Key]
    build: Callable[[str, dict[str, Any]], Source]
    one_of: tuple[str, ...] = ()
    checks: Callable[[dict[str, Any]], None] | None = None
    params: dict[str, str] = field(default_factory=dict)
    stream_keys: tuple[str, ...] = ()


_SPEED = Key(_nonneg(1000), "1 real time, 2 twice as fast, 0 as fast as possible")

SOURCE_KINDS: dict[str, SourceKind] = {
    "camera": SourceKind({
        "device": Key(_device, "camera index or /dev/videoN"),
        "path": Key(string, "video file or image sequence (frames/%04d.png, frames/*.png)"),
        "url": Key(string, "network stream (rtsp://, http://)"),
        "pipeline": Key(string, "GStreamer pipeline ending in appsink"),
        "csi_sensor": Key(integer(0, 255), "Jetson CSI camera sensor-id (builds the "
                                           "nvarguscamerasrc pipeline from width/height/fps)"),
        "flip_method": Key(integer(0, 7), "Jetson CSI: nvvidconv flip-method"),
        "backend": Key(choice("auto", "v4l2", "ffmpeg", "gstreamer", "images"),
                       "OpenCV capture backend"),
        **_FRAME,
    }, _camera, ("device", "path", "url", "pipeline", "csi_sensor"), _camera_checks,
        {"fps": "rate_hz"}),
    "microphone": SourceKind({
        "device": Key(_device, "PortAudio device index or (part of its) name; default input "
                               "when absent"),
        "rate": Key(integer(1, 1_000_000), "sample rate, frames/s"),
        "channels": Key(integer(1, 256), "number of channels"),
        "block": Key(integer(0, 1 << 20), "frames per block (0: the host API chooses)"),
        "latency": Key(_latency, "'low', 'high' or seconds"),
    }, _microphone, params={"rate": "rate_hz"}),
    "depth": SourceKind({
        "device": Key(_device, "device index (openni2/astra) or serial number (realsense)"),
        "path": Key(string, "16-bit depth image sequence (depth/%06d.png, a glob or a folder)"),
        "backend": Key(choice("openni2", "astra", "realsense"), "live depth backend"),
        "depth_scale": Key(number(hi=1000, above=0), "metres per raw unit (0.001 for millimetres)"),
        "align_to": Key(choice("color"), "RealSense: map depth into the colour camera's pixels"),
        **_FRAME,
    }, _depth, ("device", "path"), _depth_checks, {"fps": "rate_hz"}),
    "thermal": SourceKind({
        "device": Key(_device, "UVC Y16 camera index or /dev/videoN (PureThermal/Lepton)"),
        "path": Key(string, "16-bit thermal image sequence"),
        "port": Key(string, "firmware-bridge serial port / pyserial URL (frames already in "
                            "kelvin)"),
        "baudrate": Key(integer(1, 100_000_000), "firmware bridge: serial baud rate"),
        "scale": Key(_scale, "kelvin per raw count (0.01 for centikelvin)"),
        "offset": Key(number(-1e6, 1e6), "kelvin added after scaling"),
        **_FRAME,
    }, _thermal, ("device", "path", "port"), _thermal_checks, {"fps": "rate_hz"}),
    "imu": SourceKind({
        "port": Key(string, "firmware-bridge serial port / pyserial URL"),
        "baudrate": Key(integer(1, 100_000_000), "serial baud rate"),
        "rate": Key(number(hi=100_000, above=0), "IMU output data rate to configure, rows/s"),
        "batch": Key(integer(1, 100_000), "IMU rows per message to configure"),
        "thermal_stream": Key(string, "also deliver this device's thermal array under this name"),
        "thermal_rate": Key(_FPS, "thermal frame rate to configure"),
    }, _imu, ("port",), None,
        {"rate": "imu_rate_hz", "batch": "imu_batch", "thermal_rate": "thermal_rate_hz"},
        ("thermal_stream",)),
    "replay": SourceKind({
        "path": Key(string, "recording: EdgeBind MCAP, ROS 2 bag (folder, .mcap, .db3) or ROS 1 .bag"),
        "topics": Key(string, "ROS bags: topic map TOML (default <bag>.topics.toml beside it)"),
        "speed": _SPEED,
        "streams": Key(_stream_names, "only these recorded streams (default: all)"),
        "rebase": Key(boolean, "shift timestamps so the first sample is stamped now"),
        "loop": Key(boolean, "play again at the end (needs rebase = true)"),
    }, _replay, ("path",), _replay_checks),
    "sim": SourceKind({
        "scenario": Key(string, "edgebind.sim scenario (default, demo, ...)"),
        "seed": Key(integer(0, 2**63 - 1), "random seed (same seed, same world)"),
        "duration": Key(number(hi=1e7, above=0), "seconds of simulated time"),
        "speed": _SPEED,
        "streams": Key(_stream_names, "only these simulated streams (default: all)"),
        "loop": Key(boolean, "start the next run (seed + 1) at the end"),
        "difficulty": Key(_nonneg(3), "world difficulty 0-3 (default 1.0; the default model "
                                      "was trained at 0.5)"),
    }, _sim, params={"duration": "duration_s"}),
}

# Each kind's keys (as listed in docs/sensors.md).
KINDS: dict[str, dict[str, Key]] = {kind: k.keys for kind, k in SOURCE_KINDS.items()}
