"""Live sensors (torch-free): sources for cameras, microphones, depth, thermal, IMU (firmware
bridge), MCAP replay and the simulated world, all behind one :class:`Source` interface, plus
stream configuration. See docs/sensors.md.

    from edgebind.sensors import CameraSource
    with CameraSource("cam0", device=0, width=640, height=480, rate_hz=30) as cam:
        for sample in cam.iter_samples(max_samples=10):
            print(sample.t_ns, sample.data.shape)          # uint8 H×W×3 RGB
"""
from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import Backoff, EndOfStream, HealthState, HealthStatus, Source
from edgebind.sensors.config import (KINDS, StreamConfig, StreamConfigError, load_stream_configs,
                                     open_source, open_sources, parse_stream_configs)
from edgebind.sensors.kinds import SOURCE_KINDS, SourceKind
from edgebind.sensors.sources import (AdcClock, BridgeSource, CameraSource, DepthSource,
                                      MicrophoneSource, ReplaySource, SimSource, ThermalSource,
                                      bridge_thermal_source, imu_source, jetson_csi_pipeline)
from edgebind.sensors.ring import RingBuffer
from edgebind.sensors.windows import Window, WindowAssembler, WindowSet


def __getattr__(name: str):
    # Old home of two calibration helpers, now in edgebind.profile.apply: loaded on use, so
    # importing sensors never loads the profile package.
    if name in ("audio_gain", "assembler_kwargs_from_profile"):
        from edgebind.sensors import windows
        return getattr(windows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdcClock", "Backoff", "BridgeSource", "CameraSource", "DepthSource", "EndOfStream",
    "HealthState", "HealthStatus", "KINDS", "MicrophoneSource", "ReplaySource", "SOURCE_KINDS",
    "Sample", "SimSource", "Source", "SourceKind", "StreamConfig", "StreamConfigError",
    "StreamInfo", "ThermalSource",
    "bridge_thermal_source", "imu_source", "jetson_csi_pipeline", "load_stream_configs",
    "open_source", "open_sources", "parse_stream_configs",
    "RingBuffer", "Window", "WindowAssembler", "WindowSet",
]
