"""Sensor sources (one module per kind); see edgebind.sensors and docs/sensors.md."""
from edgebind.sensors.sources.camera import CameraSource, jetson_csi_pipeline
from edgebind.sensors.sources.depth import DepthSource
from edgebind.sensors.sources.imu import BridgeSource, bridge_thermal_source, imu_source
from edgebind.sensors.sources.microphone import AdcClock, MicrophoneSource
from edgebind.sensors.sources.replay import ReplaySource
from edgebind.sensors.sources.simulated import SimSource
from edgebind.sensors.sources.thermal import ThermalSource

__all__ = ["AdcClock", "BridgeSource", "CameraSource", "DepthSource", "MicrophoneSource",
           "ReplaySource", "SimSource", "ThermalSource", "bridge_thermal_source", "imu_source",
           "jetson_csi_pipeline"]
