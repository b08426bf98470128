"""The calibration profile (``"schema": "edgebind.profile/1"``): what ``edgebind-calibrate``
measured on one robot, read by the daemon and the window assembler. Torch-free, numpy only.

A profile is JSON or TOML (chosen by the file suffix), per device and per stream::

    schema = "edgebind.profile/1"
    device = "robot-7"                 # the robot (host) it was measured on
    space_id = "ebs1-..."              # embedding space the thresholds belong to (optional)
    [streams.imu0]
    time_offset_ns = -1250000          # corrected time = recorded t_ns + time_offset_ns
    [streams.imu0.imu]                 # measured = scale @ true + bias; see ImuCalibration
    accel_bias = [0.02, -0.01, 0.05]
    [thresholds]
    glass_breaking = 0.31

Large arrays (per-pixel thermal gain/offset) live in sidecar ``.npy`` files next to the profile,
referenced by file name. Every calibration command updates its own part and keeps the rest.
Invalid files raise :class:`ProfileError` naming the file, the key and what was expected; a
profile for another device or embedding space raises :class:`ProfileMismatchError`.

Modules: ``schema`` (the records), ``parse`` (validating a loaded document), ``io`` (files),
``apply`` (a profile -> per-stream corrections for the window assembler).
"""
from edgebind.profile.apply import assembler_kwargs_from_profile, audio_gain
from edgebind.profile.io import dumps_json, dumps_toml
from edgebind.profile.schema import (MAX_HISTORY, SCHEMA, AudioCalibration, CameraCalibration,
                                     ImuCalibration, Profile, ProfileError, ProfileMismatchError,
                                     ProfileSpaceMismatchError, StreamCalibration,
                                     ThermalCalibration)

__all__ = [
    "MAX_HISTORY", "SCHEMA", "AudioCalibration", "CameraCalibration", "ImuCalibration", "Profile",
    "ProfileError", "ProfileMismatchError", "ProfileSpaceMismatchError", "StreamCalibration",
    "ThermalCalibration", "assembler_kwargs_from_profile", "audio_gain", "dumps_json",
    "dumps_toml",
]
