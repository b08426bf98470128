"""The calibration profile: round trips (JSON, TOML, sidecars), partial updates, validation,
device/space mismatches, and a fuzzed loader."""
from __future__ import annotations

import json
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.profile import (SCHEMA, AudioCalibration, CameraCalibration, ImuCalibration,
                              Profile, ProfileError, ProfileMismatchError, ThermalCalibration,
                              dumps_json, dumps_toml)
from edgebind.space import SpaceMismatchError


def full_profile() -> Profile:
    p = Profile(device="robot-7", space_id="ebs1-0123456789abcdef0123")
    imu = p.stream("imu0")
    imu.time_offset_ns = -1_250_000
    imu.sensor = "bmi088:1"
    imu.imu = ImuCalibration(accel_bias=[0.1, -0.2, 0.05], accel_scale=[[1.01, 0.002, 0], [0, 0.99, 0], [0, 0, 1.0]],
                             gyro_bias=[1e-3, -2e-3, 5e-4], rotation=_rot(0.05),
                             noise={"gyro_noise_density": 2.1e-4})
    p.stream("cam").camera = CameraCalibration(np.array([[600, 0, 320], [0, 610, 240], [0, 0, 1.0]]),
                                               [-0.2, 0.05, 0, 0, 0.01], (640, 480), 0.12)
    rng = np.random.default_rng(0)
    p.stream("thermal").thermal = ThermalCalibration(gain=1.0 + 0.01 * rng.standard_normal((12, 16)),
                                                     offset=-3.5)
    p.stream("mic").audio = AudioCalibration(6.0, -62.5, -8.0, 0.0)
    p.stream("mic").time_offset_ns = 37_300_000
    p.thresholds = {"glass_breaking": 0.31, "dog barking": 0.27}
    p.quant = {"folder": "calib", "samples": {"vision": 64}}
    p.note("imu", stream="imu0")
    return p


def _rot(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


@pytest.mark.parametrize("suffix", ["json", "toml"])
def test_round_trip_keeps_everything(tmp_path, suffix):
    p = full_profile()
    path = p.save(tmp_path / f"robot.{suffix}")
    assert (tmp_path / "robot.thermal.thermal_gain.npy").is_file()  # large array as a sidecar
    text = path.read_text()
    assert "thermal_gain.npy" in text and SCHEMA in text
    q = Profile.load(path, device="robot-7", space_id="ebs1-0123456789abcdef0123")
    assert q.device == "robot-7" and q.thresholds == p.thresholds
    assert q.time_offsets_ns() == {"imu0": -1_250_000, "mic": 37_300_000}
    np.testing.assert_allclose(q.streams["thermal"].thermal.gain, p.streams["thermal"].thermal.gain,
                               rtol=1e-6)
    np.testing.assert_allclose(q.streams["imu0"].imu.accel_scale, p.streams["imu0"].imu.accel_scale)
    assert q.streams["cam"].camera.size == (640, 480)
    assert q.streams["mic"].audio.noise_floor_dbfs == -62.5
    assert q.to_dict() == p.to_dict() or _same_except_arrays(q, p)


def _same_except_arrays(a: Profile, b: Profile) -> bool:
    da, db = a.to_dict(), b.to_dict()
    ga, gb = da["streams"]["thermal"]["thermal"].pop("gain"), db["streams"]["thermal"]["thermal"].pop("gain")
    return da == db and np.allclose(ga, gb, rtol=1e-6)


def test_imu_correction_undoes_the_error_model():
    p = full_profile()
    cal = p.streams["imu0"].imu
    rng = np.random.default_rng(1)
    true = rng.standard_normal((50, 6))
    measured = np.hstack([true[:, :3] @ cal.accel_scale.T + cal.accel_bias,
                          true[:, 3:] @ cal.gyro_scale.T + cal.gyro_bias])
    fix = p.imu_correction("imu0")
    out = fix(measured)
    assert out.dtype == np.float32 and out.shape == (50, 6)
    np.testing.assert_allclose(out[:, :3], true[:, :3] @ cal.rotation.T, atol=1e-4)
    np.testing.assert_allclose(out[:, 3:], true[:, 3:] @ cal.rotation.T, atol=1e-4)
    assert p.imu_correction("cam") is None and p.imu_correction("nope") is None
    assert set(p.imu_corrections()) == {"imu0"}
    with pytest.raises(ValueError, match="N×6"):
        fix(np.zeros((4, 3)))


def test_thermal_correction_and_size_check():
    p = full_profile()
    f = p.thermal_correction("thermal")
    raw = np.full((12, 16), 300.0, np.float32)
    np.testing.assert_allclose(f(raw), p.streams["thermal"].thermal.gain * 300.0 - 3.5, rtol=1e-6)
    with pytest.raises(ValueError, match="gain map"):
        f(np.zeros((10, 10), np.float32))


def test_update_keeps_other_parts(tmp_path):
    path = full_profile().save(tmp_path / "p.json")
    p = Profile.load_or_new(path, device="robot-7")
    p.stream("imu0").time_offset_ns = 5
    p.thresholds["glass_breaking"] = 0.4
    p.save(path)
    q = Profile.load(path)
    assert q.streams["imu0"].time_offset_ns == 5
    assert q.streams["imu0"].imu is not None and q.streams["cam"].camera.rms == 0.12
    assert q.thresholds == {"glass_breaking": 0.4, "dog barking": 0.27}
    assert q.quant["samples"] == {"vision": 64}


def test_mismatch_errors(tmp_path):
    path = full_profile().save(tmp_path / "p.toml")
    with pytest.raises(ProfileMismatchError, match="robot-7.*robot-9"):
        Profile.load(path, device="robot-9")
    with pytest.raises(SpaceMismatchError, match="ebs1-ffff"):
        Profile.load(path, space_id="ebs1-ffff")
    with pytest.raises(ProfileMismatchError):
        Profile.load_or_new(path, device="robot-9")
    # No device or space stated: loads.
    Profile.load(path)


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(schema="edgebind.profile/9"), "schema"),
    (lambda d: d.update(colour="red"), r"unknown key\(s\) \['colour'\]"),
    (lambda d: d["streams"]["imu0"].update(time_offset_ns=1.5), r"streams.imu0.time_offset_ns: expected an integer"),
    (lambda d: d["streams"]["imu0"]["imu"].update(accel_bias=[1, 2]), r"streams.imu0.imu.accel_bias: expected numbers of shape 3"),
    (lambda d: d["streams"]["imu0"]["imu"].update(gyro_bias=[1, "x", 3]), "gyro_bias"),
    (lambda d: d["streams"]["imu0"]["imu"].update(rotation=[[2, 0, 0], [0, 1, 0], [0, 0, 1]]), "rotation matrix"),
    (lambda d: d["streams"]["imu0"]["imu"].update(accel_scale=[0, 1, 1]), "singular"),
    (lambda d: d["streams"]["cam"]["camera"].update(K=[[0, 0, 1], [0, 1, 1], [0, 0, 1]]), "focal"),
    (lambda d: d["streams"]["cam"]["camera"].pop("dist"), "missing key 'dist'"),
    (lambda d: d["streams"]["cam"]["camera"].update(size=[640.5, 480]), "width, height"),
    (lambda d: d["thresholds"].update(x="high"), r"thresholds.x: expected a number"),
    (lambda d: d["thresholds"].update(x=float("nan")), "finite"),
    (lambda d: d["streams"]["mic"]["audio"].update(clipping_ratio=2.0), r"clipping_ratio: expected a number in"),
    (lambda d: d["streams"]["thermal"]["thermal"].update(gain="../etc/passwd.npy"), "no folders"),
    (lambda d: d["streams"]["thermal"]["thermal"].update(gain="missing.npy"), "is missing"),
    (lambda d: d.update(streams=[1, 2]), "streams: expected a table"),
])
def test_invalid_profiles_name_the_key(tmp_path, mutate, match):
    full_profile().save(tmp_path / "p.json")
    d = json.loads((tmp_path / "p.json").read_text())
    mutate(d)
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(ProfileError, match=match) as exc:
        Profile.load(tmp_path / "bad.json")
    assert "bad.json" in str(exc.value)


def test_corrupt_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ProfileError, match="invalid JSON"):
        Profile.load(tmp_path / "a.json")
    (tmp_path / "a.toml").write_text("schema = = 1")
    with pytest.raises(ProfileError, match="invalid TOML"):
        Profile.load(tmp_path / "a.toml")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ProfileError, match="UTF-8"):
        Profile.load(tmp_path / "b.json")
    (tmp_path / "s.npy").write_bytes(b"garbage")
    d = Profile().to_dict()
    d["streams"] = {"t": {"thermal": {"gain": "s.npy"}}}
    (tmp_path / "c.json").write_text(json.dumps(d))
    with pytest.raises(ProfileError, match="not a valid .npy"):
        Profile.load(tmp_path / "c.json")
    with pytest.raises(FileNotFoundError):
        Profile.load(tmp_path / "none.json")


def test_hand_written_toml_with_short_scale(tmp_path):
    (tmp_path / "p.toml").write_text(f'''schema = "{SCHEMA}"
device = "r1"
[streams.imu0.imu]
accel_scale = [1.01, 0.99, 1.0]
[thresholds]
"glass breaking" = 0.3
''')
    p = Profile.load(tmp_path / "p.toml")
    np.testing.assert_allclose(np.diag(p.streams["imu0"].imu.accel_scale), [1.01, 0.99, 1.0])
    assert p.thresholds == {"glass breaking": 0.3}
    assert p.time_offsets_ns() == {}


names = st.text(alphabet=string.ascii_letters + string.digits + " _-.\"\\/é\t", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(device=names, thresholds=st.dictionaries(names, st.floats(-2, 2, allow_nan=False), max_size=4),
       offsets=st.dictionaries(names, st.integers(-2**62, 2**62), max_size=4))
def test_fuzz_round_trip_toml_and_json(tmp_path, device, thresholds, offsets):
    p = Profile(device=device, thresholds=dict(thresholds))
    for k, v in offsets.items():
        p.stream(k).time_offset_ns = v
    for suffix in ("toml", "json"):
        q = Profile.load(p.save(tmp_path / f"f.{suffix}"))
        assert q.device == device and q.thresholds == p.thresholds
        assert q.time_offsets_ns() == p.time_offsets_ns()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(streams=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
       extra=st.dictionaries(st.sampled_from(["device", "space_id", "thresholds", "quant", "history", "x"]),
                             json_values, max_size=3))
def test_fuzz_loader_never_crashes(streams, extra):
    d = {"schema": SCHEMA, "streams": streams, **extra}
    try:
        p = Profile.from_dict(d, source="fuzz")
    except ProfileError as exc:
        assert "fuzz" in str(exc)
        return
    # Whatever loads must save (JSON and TOML) and load again to the same thing.
    again = Profile.from_dict(json.loads(dumps_json(p.to_dict())), source="again")
    assert again.to_dict() == p.to_dict()
    import tomllib
    assert Profile.from_dict(tomllib.loads(dumps_toml(p.to_dict())), source="t").to_dict() == p.to_dict()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    for suffix in ("json", "toml", "cfg"):
        f = d / f"x.{suffix}"
        f.write_bytes(data)
        with pytest.raises(ProfileError):
            Profile.load(f)


def test_toml_writer_output_is_valid_toml():
    import tomllib
    d = full_profile().to_dict()
    assert tomllib.loads(dumps_toml(d))["streams"]["imu0"]["time_offset_ns"] == -1_250_000
