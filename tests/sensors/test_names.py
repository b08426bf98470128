"""Rates are ``*_hz`` in the Python API; the old keywords and factory names still work."""
from __future__ import annotations

import warnings

import pytest

from edgebind.sensors import (BridgeSource, CameraSource, DepthSource, bridge_thermal_source,
                              imu_source, jetson_csi_pipeline, open_source, parse_stream_configs)


def test_rate_hz_and_its_deprecated_aliases():
    cam = CameraSource("c", device=0, rate_hz=25.0)
    assert cam.rate_hz == cam.fps == 25.0 and cam.streams[0].rate_hz == 25.0
    with pytest.warns(DeprecationWarning, match="fps= is deprecated, use rate_hz="):
        old = CameraSource("c", device=0, fps=25.0)
    assert old.rate_hz == 25.0
    with pytest.raises(TypeError, match="not both"):
        CameraSource("c", device=0, rate_hz=25.0, fps=30.0)
    with pytest.warns(DeprecationWarning):
        assert DepthSource("d", path="x/%04d.png", fps=5.0).rate_hz == 5.0
    with pytest.warns(DeprecationWarning):
        assert jetson_csi_pipeline(fps=60.0) == jetson_csi_pipeline(rate_hz=60.0)
    with pytest.warns(DeprecationWarning):
        b = BridgeSource("loop://", imu_rate=400.0, thermal_stream="t", thermal_rate=8.0)
    assert (b.imu_rate_hz, b.thermal_rate_hz, b.imu_rate) == (400.0, 8.0, 400.0)


def test_bridge_classmethods_and_the_old_factory_names():
    imu = BridgeSource.imu("imu0", port="loop://", imu_rate_hz=200.0)
    assert (imu.imu_stream, imu.thermal_stream, imu.imu_rate_hz) == ("imu0", None, 200.0)
    th = BridgeSource.thermal("mlx", port="loop://")
    assert (th.imu_stream, th.thermal_stream) == (None, "mlx")
    assert imu_source == BridgeSource.imu and bridge_thermal_source == BridgeSource.thermal


def test_config_keys_stay_and_reach_the_renamed_keywords():
    cfgs = parse_stream_configs([
        {"name": "c", "kind": "camera", "device": 0, "fps": 12.0},
        {"name": "i", "kind": "imu", "port": "loop://", "rate": 100.0, "batch": 10,
         "thermal_stream": "t", "thermal_rate": 4.0},
        {"name": "th", "kind": "thermal", "port": "loop://x", "fps": 2.0},
        {"name": "m", "kind": "microphone", "rate": 48000},
        {"name": "d", "kind": "depth", "path": "d/%04d.png", "fps": 5.0},
    ], "robot.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)     # configs use the new keywords
        cam, imu, th, mic, depth = (open_source(c) for c in cfgs)
    assert cam.rate_hz == 12.0 and depth.rate_hz == 5.0
    assert (imu.imu_rate_hz, imu.imu_batch, imu.thermal_rate_hz) == (100.0, 10, 4.0)
    assert th.thermal_stream == "th" and th.thermal_rate_hz == 2.0


def test_record_names():
    from edgebind.record import Recorder, RecordingReader, RecordingWriter, Replay
    assert Recorder is RecordingWriter and Replay is RecordingReader
