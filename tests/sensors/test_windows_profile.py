"""Calibration-profile corrections in the window assembler, from a real Profile saved to and
loaded from disk (TOML with a per-pixel thermal sidecar)."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.profile import AudioCalibration, ImuCalibration, Profile, ThermalCalibration
from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.windows import WindowAssembler, assembler_kwargs_from_profile, audio_gain
from tests.sensors.test_windows import (INFOS, NS, RATE, T0, audio, by_end, frames, imu, run,
                                        tone, world)

BIAS = np.array([0.3, -0.2, 0.1, 0.01, -0.02, 0.03])


def saved_profile(tmp_path, gain_map: np.ndarray | None = None) -> Profile:
    p = Profile(device="robot-7")
    p.stream("cam").time_offset_ns = -NS // 15          # the camera stamps one frame late
    p.stream("imu").imu = ImuCalibration(accel_bias=BIAS[:3], gyro_bias=BIAS[3:],
                                         accel_scale=[2.0, 2.0, 2.0])
    gain = np.full((4, 4), 0.5, np.float32) if gain_map is None else gain_map
    gain[0, 1] = 2.0                                     # one pixel differs: a real map
    p.stream("th").thermal = ThermalCalibration(gain=gain, offset=10.0)
    p.stream("mic").audio = AudioCalibration(gain_db=20.0 * np.log10(1.5))
    path = p.save(tmp_path / "robot.toml")
    assert (tmp_path / "robot.th.thermal_gain.npy").is_file()
    return Profile.load(path, device="robot-7")


def test_from_profile_applies_every_correction(tmp_path):
    prof = saved_profile(tmp_path)
    plain = by_end(run(WindowAssembler(INFOS), world()))[3.0]
    wa = WindowAssembler.from_profile(INFOS, prof, window_s=2.0, hop_s=0.5)
    ws = by_end(run(wa, world()))[3.0]
    assert wa.stats["invalid"] == 0, wa.stats["last_error"]
    # Time offset: frame 46 (stamped 3.067 s) now lies at 3.0 s.
    assert plain.windows["vision"].data[0, 0, 0] == 45 and ws.windows["vision"].data[0, 0, 0] == 46
    # Thermal: per-pixel gain map + offset.
    raw = plain.windows["thermal"].data                  # 280 + frame index, every pixel
    got = ws.windows["thermal"].data
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[0, 0], 0.5 * raw[0, 0] + 10.0, rtol=1e-6)
    np.testing.assert_allclose(got[0, 1], 2.0 * raw[0, 1] + 10.0, rtol=1e-6)
    # Audio: +3.5 dB (x1.5); the test tone peaks at 0.5, so nothing clips.
    np.testing.assert_allclose(ws.windows["audio"].data, plain.windows["audio"].data * 1.5,
                               rtol=1e-5)
    # IMU: measured = scale * true + bias  ->  true = (measured - bias) / scale (accel only).
    t = (ws.windows["imu"].timestamps_ns - T0) / NS
    d = ws.windows["imu"].data
    np.testing.assert_allclose(d[:, 0], (t - BIAS[0]) / 2.0, atol=1e-5)
    np.testing.assert_allclose(d[:, 5], t - BIAS[5], atol=1e-5)


def test_audio_gain_clips_and_is_pure():
    x = np.array([[0.1], [0.6], [-0.9]], np.float32)
    y = audio_gain(6.0)(x)
    np.testing.assert_allclose(y[:, 0], [0.1 * 10 ** 0.3, 1.0, -1.0], rtol=1e-6)
    assert y.dtype == np.float32 and x[1, 0] == np.float32(0.6)
    with pytest.raises(ValueError, match="finite"):
        audio_gain(float("nan"))


def test_generic_corrections_for_any_stream():
    # A depth correction (e.g. a mounting offset) and a vision correction (e.g. inverting a
    # flipped sensor's image) through the same `corrections` argument.
    infos = [StreamInfo("cam", "vision", 15, (8, 8, 3), ""), StreamInfo("d", "depth", 8, (4, 4), "m")]
    depth = [Sample("d", "depth", s.t_ns, s.data - 279.0) for s in frames("th", "thermal", 8, 4.0)]
    samples = sorted(frames("cam", "vision", 15, 4.0) + depth, key=lambda s: s.t_ns)
    wa = WindowAssembler(infos, corrections={"cam": lambda f: 255 - f, "d": lambda m: m + 0.25})
    ws = by_end(run(wa, samples))[3.0]
    assert ws.windows["vision"].data[0, 0, 0] == 255 - 45
    assert ws.windows["depth"].data[0, 0] == pytest.approx(24 + 1 + 0.25)


def test_bad_corrections_drop_the_sample_with_a_reason():
    bad = {"cam": lambda f: f.astype(np.float32),          # vision must stay uint8
           "th": lambda f: f[:2],                           # wrong shape
           "mic": lambda x: x * np.nan}                     # NaN audio
    wa = WindowAssembler(INFOS, corrections=bad)
    sets = run(wa, world(3.0))
    st = wa.stats
    assert st["streams"]["cam"]["invalid"] > 0 and st["streams"]["th"]["invalid"] > 0
    assert st["streams"]["mic"]["invalid"] > 0 and st["streams"]["imu"]["invalid"] == 0
    assert all(set(ws.windows) == {"imu"} for ws in sets if ws.windows)
    with pytest.raises(ValueError, match=r"corrections\['cam'\] must be callable"):
        WindowAssembler(INFOS, corrections={"cam": 1.0})
    with pytest.raises(ValueError, match="both"):
        WindowAssembler(INFOS, imu_corrections={"imu": abs}, corrections={"imu": abs})


def test_profile_that_does_not_fit_the_streams_is_refused(tmp_path):
    prof = saved_profile(tmp_path)
    wrong_size = [i if i.stream != "th" else StreamInfo("th", "thermal", 8, (120, 160), "K")
                  for i in INFOS]
    with pytest.raises(ValueError, match=r"'th' thermal gain map is 4x4 .* 120x160"):
        WindowAssembler.from_profile(wrong_size, prof)
    wrong_kind = [i if i.stream != "mic" else StreamInfo("mic", "imu", 400, (-1, 6), "")
                  for i in INFOS]
    with pytest.raises(ValueError, match="'mic' has audio calibration, but the stream is imu"):
        WindowAssembler.from_profile(wrong_kind, prof)
    with pytest.raises(ValueError, match="comes from the profile"):
        WindowAssembler.from_profile(INFOS, prof, time_offsets_ns={})
    with pytest.raises(ValueError, match="expected an edgebind.profile.Profile"):
        assembler_kwargs_from_profile({"streams": []})
    # Unknown frame size (-1): accepted now; a frame that does not fit is dropped and counted.
    unknown = [i if i.stream != "th" else StreamInfo("th", "thermal", 8, (-1, -1), "K")
               for i in INFOS]
    wa = WindowAssembler.from_profile(unknown, prof)
    big = Sample("th", "thermal", T0, np.zeros((6, 6), np.float32))
    wa.push(big)
    assert wa.stats["invalid"] == 1 and "gain map" in wa.stats["last_error"]


def test_empty_profile_changes_nothing():
    kw = assembler_kwargs_from_profile(Profile(device="x"), INFOS)
    assert kw == {"time_offsets_ns": {}, "imu_corrections": {}, "corrections": {}}
    samples = audio(3.0) + imu(3.0)
    a = by_end(run(WindowAssembler(INFOS[1:3]), sorted(samples, key=lambda s: s.t_ns)))
    b = by_end(run(WindowAssembler.from_profile(INFOS[1:3], Profile()),
                   sorted(samples, key=lambda s: s.t_ns)))
    np.testing.assert_array_equal(a[2.5].windows["audio"].data[:, 0],
                                  tone(np.arange(int(0.5 * RATE), int(2.5 * RATE))))
    np.testing.assert_array_equal(a[2.5].windows["audio"].data, b[2.5].windows["audio"].data)
