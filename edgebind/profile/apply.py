"""A profile turned into per-stream corrections: the one place calibration is applied.

What the window assembler takes (``edgebind.sensors.windows.WindowAssembler``): time offsets
(ns added to a stream's timestamps) and callables that map a stream's raw IMU rows, thermal
frame or audio chunk to its corrected form. The assembler only calls what it is given; it never
imports this package, so sensors work without a profile.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from edgebind.sample import StreamInfo

if TYPE_CHECKING:
    from edgebind.profile.schema import ImuCalibration, Profile, ThermalCalibration

Correction = Callable[[np.ndarray], np.ndarray]


# -- the corrections --------------------------------------------------------------------------
def correct_imu(cal: "ImuCalibration", rows: np.ndarray) -> np.ndarray:
    """N×6 ``[ax ay az gx gy gz]`` as measured -> corrected, in body axes (float32): undo
    ``measured = scale @ true + bias`` for each sensor, then rotate sensor axes to body axes."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != 6:
        raise ValueError(f"IMU correction expects N×6 rows, got shape {rows.shape}")
    a = np.linalg.solve(cal.accel_scale, (rows[:, :3] - cal.accel_bias).T).T
    g = np.linalg.solve(cal.gyro_scale, (rows[:, 3:] - cal.gyro_bias).T).T
    return np.concatenate([a @ cal.rotation.T, g @ cal.rotation.T], axis=1).astype(np.float32)


def correct_thermal(cal: "ThermalCalibration", frame: np.ndarray) -> np.ndarray:
    """``kelvin = gain * raw + offset`` (float32); a per-pixel map must fit the frame."""
    frame = np.asarray(frame, dtype=np.float32)
    for name in ("gain", "offset"):
        v = getattr(cal, name)
        if isinstance(v, np.ndarray) and v.shape != frame.shape[:2]:
            raise ValueError(f"thermal {name} map is {v.shape}, frame is {frame.shape[:2]}")
    return (cal.gain * frame + cal.offset).astype(np.float32)


def audio_gain(gain_db: float) -> Correction:
    """The correction for an audio input gain in dB: ``x · 10^(dB/20)``, clipped to [-1, 1]
    (what an ADC with that much more gain would have delivered). Pure."""
    db = float(gain_db)
    if not math.isfinite(db):
        raise ValueError(f"audio gain must be a finite number of dB, got {gain_db!r}")
    g = np.float32(10.0 ** (db / 20.0))

    def apply(x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=np.float32) * g, -1.0, 1.0)

    apply.gain_db = db  # type: ignore[attr-defined]   # for people inspecting a correction
    return apply


# -- a profile -> the assembler's arguments ---------------------------------------------------
def assembler_kwargs_from_profile(profile: "Profile", stream_infos: Iterable[StreamInfo] = ()
                                  ) -> dict[str, Any]:
    """``time_offsets_ns``, ``imu_corrections`` and ``corrections`` (thermal gain/offset, audio
    gain) for ``WindowAssembler`` from an ``edgebind.profile.Profile``.

    With ``stream_infos`` a calibration that cannot fit its stream is refused now, with a
    message naming the stream, instead of dropping every sample later: a thermal or audio
    section on a stream of another modality, or a per-pixel thermal map whose size differs
    from the stream's known frame size.
    """
    infos = {i.stream: i for i in stream_infos}
    streams = getattr(profile, "streams", None)
    if not isinstance(streams, Mapping):
        raise ValueError(f"expected an edgebind.profile.Profile, got {type(profile).__name__}")
    corrections: dict[str, Correction] = {}
    for name, cal in streams.items():
        info = infos.get(name)
        if cal.thermal is not None:
            _check_modality(info, name, "thermal", ("thermal",))
            _check_map_size(info, name, cal.thermal)
            corrections[name] = cal.thermal.correct
        gain_db = cal.audio.gain_db if cal.audio is not None else None
        if gain_db is not None and gain_db != 0.0:
            _check_modality(info, name, "audio", ("audio",))
            if name in corrections:
                raise ValueError(f"profile stream {name!r} has both thermal and audio "
                                 "calibration; a stream is one or the other")
            corrections[name] = audio_gain(gain_db)
    imu = {k: s.imu.correct for k, s in streams.items() if s.imu is not None}
    for name in imu:
        _check_modality(infos.get(name), name, "imu", ("imu",))
    offsets = {k: int(s.time_offset_ns) for k, s in streams.items()
               if s.time_offset_ns is not None}
    return {"time_offsets_ns": offsets, "imu_corrections": imu, "corrections": corrections}


def _check_modality(info: StreamInfo | None, name: str, section: str,
                    allowed: tuple[str, ...]) -> None:
    if info is not None and info.modality not in allowed:
        raise ValueError(f"calibration profile: stream {name!r} has {section} calibration, but "
                         f"the stream is {info.modality}; check the profile's stream names")


def _check_map_size(info: StreamInfo | None, name: str, cal: Any) -> None:
    if info is None or cal is None or len(info.shape) < 2 or min(info.shape[:2]) <= 0:
        return
    for key in ("gain", "offset"):
        v = getattr(cal, key, None)
        if isinstance(v, np.ndarray) and v.ndim == 2 and tuple(v.shape) != tuple(info.shape[:2]):
            raise ValueError(f"calibration profile: stream {name!r} thermal {key} map is "
                             f"{v.shape[0]}x{v.shape[1]} (H×W) but the stream's frames are "
                             f"{info.shape[0]}x{info.shape[1]}; recalibrate this camera")
