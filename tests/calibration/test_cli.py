"""`edgebind-calibrate` end to end on real MCAP recordings written by Recorder."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgebind.calibration.cli import main
from edgebind.profile import Profile
from edgebind.sample import StreamInfo
from tests.calibration.render import SIZE, poses, render_view
from tests.calibration.synth import (G, audio_info, imu_info, imu_rows, six_position_truth,
                                     tap_signals, write_recording)
from tests.conftest import REPO

T0 = 5_000_000_000
G_BIAS = np.array([0.01, -0.02, 0.005])
A_BIAS = np.array([0.12, -0.08, 0.2])


def run_cli(capsys, *argv) -> dict:
    rc = main([*map(str, argv), "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    return json.loads(out)


@pytest.fixture(scope="module")
def still_imu(tmp_path_factory):
    rate, n = 200.0, int(200.0 * 70)
    up = np.array([0.05, -0.04, 1.0])
    up = up / np.linalg.norm(up) * G
    rows = imu_rows(np.tile(up, (n, 1)), np.zeros((n, 3)), gyro_bias=G_BIAS, accel_noise=0.003,
                    gyro_noise=3e-4, rate=rate, seed=3)
    t = T0 + np.round(np.arange(n) * 1e9 / rate).astype(np.int64)
    return write_recording(tmp_path_factory.mktemp("rec") / "still.mcap",
                           {"imu0": {"info": imu_info(rate=rate), "rows": (t, rows)}})


@pytest.fixture(scope="module")
def taps(tmp_path_factory):
    # Taps at random times: a person's taps are not locked to the IMU's sample clock, so the
    # 2.5 ms sample grid averages out over several taps.
    taps_s = np.sort(np.random.default_rng(11).uniform(1, 9, 8))
    (ti, rows), (ta, x) = tap_signals(taps_s, 10.0, 0.0373, seed=4)
    return write_recording(tmp_path_factory.mktemp("rec") / "taps.mcap", {
        "imu0": {"info": imu_info(rate=400.0), "rows": (T0 + (ti * 1e9).astype(np.int64), rows)},
        "mic": {"info": audio_info(), "audio": (T0 + int(ta[0] * 1e9), x)}})


def test_imu_still_then_sync_then_audio_share_one_profile(tmp_path, capsys, still_imu, taps):
    prof = tmp_path / "robot.toml"
    r = run_cli(capsys, "imu", "--recording", still_imu, "--profile", prof)
    assert r["estimates"]["mode"] == "still"
    assert np.abs(np.array(r["estimates"]["gyro_bias"]) - G_BIAS).max() < 5e-4
    assert r["plots"] and all(p.endswith(".png") for p in r["plots"])
    assert (tmp_path / "robot_plots" / "imu_allan_imu0.png").stat().st_size > 1000
    p = Profile.load(prof)
    cal = p.streams["imu0"].imu
    assert cal is not None and p.streams["imu0"].sensor == "bmi088:test"
    assert cal.noise["gyro_noise_density"] == pytest.approx(3e-4, rel=0.2)
    # The gravity alignment makes the still reading point straight up.
    still = p.imu_correction("imu0")(np.array([[0.05, -0.04, 1.0, 0, 0, 0]]) * G / 1.00205)
    assert abs(still[0, 0]) < 0.02 and abs(still[0, 1]) < 0.02

    r = run_cli(capsys, "sync", "--recording", taps, "--streams", "imu0", "mic", "--profile", prof)
    assert abs(r["estimates"]["offset_ms"] + 37.3) < 1.0
    p = Profile.load(prof)
    assert abs(p.time_offsets_ns()["mic"] + 37_300_000) < 1_000_000
    assert p.time_offsets_ns()["imu0"] == 0
    assert p.streams["imu0"].imu is not None          # the IMU part was kept

    r = run_cli(capsys, "audio", "--recording", taps, "--profile", prof, "--no-plots")
    assert r["stream"] == "mic" and r["plots"] == []
    p = Profile.load(prof)
    assert p.streams["mic"].audio.noise_floor_dbfs < -40
    assert [h["command"] for h in p.history] == ["imu", "sync", "audio"]


def test_imu_six_position_recording(tmp_path, capsys):
    rate = 200.0
    acc, gyr = six_position_truth(rate)
    rows = imu_rows(acc, gyr, accel_bias=A_BIAS, accel_scale=np.diag([1.02, 0.98, 1.01]),
                    gyro_bias=G_BIAS, accel_noise=0.002, gyro_noise=2e-4, rate=rate, seed=5)
    t = T0 + np.round(np.arange(len(rows)) * 1e9 / rate).astype(np.int64)
    rec = write_recording(tmp_path / "six.mcap", {"imu0": {"info": imu_info(rate=rate), "rows": (t, rows)}})
    r = run_cli(capsys, "imu", "--recording", rec, "--profile", tmp_path / "p.json")
    assert r["estimates"]["mode"] == "six" and r["passed"]
    assert np.abs(np.array(r["estimates"]["accel_bias"]) - A_BIAS).max() < 0.01
    np.testing.assert_allclose(r["estimates"]["accel_scale_factors"], [1.02, 0.98, 1.01], atol=0.002)


def test_camera_from_recording(tmp_path, capsys):
    frames = []
    for i, (rv, tv) in enumerate(poses(12)):
        g = render_view(rv, tv, seed=i)
        frames.append((T0 + i * 200_000_000, np.repeat(g[:, :, None], 3, axis=2)))
    info = StreamInfo("cam0", "vision", 5.0, (480, 640, 3), "RGB uint8", "uvc:test")
    rec = write_recording(tmp_path / "cam.mcap", {"cam0": {"info": info, "frames": frames}})
    r = run_cli(capsys, "camera", "--recording", rec, "--profile", tmp_path / "p.json",
                "--square", "0.03")
    e = r["estimates"]
    assert e["fx"] == pytest.approx(600, rel=0.01) and e["fy"] == pytest.approx(610, rel=0.01)
    assert e["cx"] == pytest.approx(320, rel=0.01) and e["cy"] == pytest.approx(244, rel=0.01)
    assert e["views_used"] == 12 and e["size"] == list(SIZE)
    assert isinstance(e["coverage_gaps"], list)
    cam = Profile.load(tmp_path / "p.json").streams["cam0"].camera
    assert cam.size == SIZE and cam.rms < 0.5


def test_thermal_two_point_from_two_recordings(tmp_path, capsys):
    rng = np.random.default_rng(0)
    info = StreamInfo("th0", "thermal", 8.0, (12, 16), "raw counts", "lepton:test")
    recs = []
    for T in (293.15, 333.15):
        raw = (T - 150.0) / 0.04          # gain 0.04 K/count, offset 150 K
        frames = [(T0 + i * 125_000_000, (raw + 0.5 * rng.standard_normal((12, 16))).astype(np.float32))
                  for i in range(40)]
        recs.append(write_recording(tmp_path / f"t{T:.0f}.mcap", {"th0": {"info": info, "frames": frames}}))
    r = run_cli(capsys, "thermal", "--recording", *recs, "--ref-k", "293.15", "333.15",
                "--profile", tmp_path / "p.json")
    assert r["estimates"]["gain"] == pytest.approx(0.04, rel=1e-3)
    assert r["estimates"]["offset"] == pytest.approx(150.0, abs=0.1)
    t = Profile.load(tmp_path / "p.json").thermal_correction("th0")
    assert float(t(np.full((12, 16), (310 - 150) / 0.04)).mean()) == pytest.approx(310, abs=0.05)


def test_thresholds_from_scores_file(tmp_path, capsys):
    from tests.calibration.test_thresholds import background
    bg = np.stack([background(6, 1), background(6, 2) + 0.05], axis=1)
    f = tmp_path / "scores.npz"
    np.savez(f, anchors=np.array(["glass_breaking", "dog_barking"]), hop_s=0.5, background=bg,
             positives_glass_breaking=np.array([0.6, 0.5, 0.45, 0.2]))
    r = run_cli(capsys, "thresholds", "--scores", f, "--target-fa", "2", "--profile",
                tmp_path / "p.json")
    th = Profile.load(tmp_path / "p.json").thresholds
    assert set(th) == {"glass_breaking", "dog_barking"}
    assert th["dog_barking"] > th["glass_breaking"]
    a = r["estimates"]["anchors"]["glass_breaking"]
    assert a["background_fa_per_hour"] <= 2 and a["recall_at_threshold"] == 0.75
    assert any("thresholds_pr_glass_breaking" in p for p in r["plots"])


def test_quant_writes_the_folder_export_reads(tmp_path, capsys, taps):
    from edgebind.export.calibration_data import from_folder, resolve
    out = tmp_path / "int8"
    r = run_cli(capsys, "quant", "--recording", taps, "--profile", tmp_path / "p.json",
                "--out", out, "--count", "8")
    assert set(r["estimates"]["samples"]) == {"imu", "audio"}
    cs = from_folder(out, "audio", batch=4)
    assert cs.held_out.shape[1:] == (3, 1, 128, 204) and np.isfinite(cs.held_out).all()
    assert from_folder(out, "imu").held_out.shape[1:] == (6, 2000)
    assert Profile.load(tmp_path / "p.json").quant["folder"] == str(out)
    # The export toolchain also takes the recording directly.
    cs2 = resolve(str(taps), "imu")
    assert cs2.held_out.shape[1:] == (6, 2000) and sum(len(b) for b in cs2.calibration) > 0


def test_errors_are_one_clear_line(tmp_path, capsys, still_imu):
    rc = main(["imu", "--recording", str(still_imu), "--stream", "nope", "--profile",
               str(tmp_path / "p.json")])
    err = capsys.readouterr().err
    assert rc == 1 and "has no stream 'nope'" in err and "imu0 (imu)" in err
    assert not (tmp_path / "p.json").exists()
    Profile(device="robot-9").save(tmp_path / "q.json")
    rc = main(["imu", "--recording", str(still_imu), "--profile", str(tmp_path / "q.json"),
               "--device", "robot-7"])
    assert rc == 1 and "robot-9" in capsys.readouterr().err
    rc = main(["camera", "--recording", str(still_imu), "--profile", str(tmp_path / "r.json")])
    assert rc == 1 and "no vision or thermal stream" in capsys.readouterr().err


def test_console_entry_points(tmp_path, taps):
    for cmd in ([sys.executable, "-m", "edgebind.cli", "calibrate"],
                [sys.executable, "-m", "edgebind.calibration.cli"]):
        r = subprocess.run([*cmd, "audio", "--recording", str(taps), "--profile",
                            str(tmp_path / "p.toml"), "--no-plots"],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "calibrate audio (mic)" in r.stdout and "noise floor" in r.stdout
    assert Profile.load(tmp_path / "p.toml").streams["mic"].audio is not None


def _quiet_recording(path, seconds: float, seed: int, tap_at: float | None = None):
    rng = np.random.default_rng(seed)
    rate = 16000
    x = (0.01 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
    if tap_at is not None:
        i = int(tap_at * rate)
        x[i:i + 4000] += (0.6 * rng.standard_normal(4000) * np.exp(-np.arange(4000) / 800)).astype(np.float32)
    n = int(seconds * 200)
    t = T0 + np.round(np.arange(n) * 1e9 / 200).astype(np.int64)
    rows = imu_rows(np.tile([0, 0, G], (n, 1)), np.zeros((n, 3)), accel_noise=0.003,
                    gyro_noise=3e-4, seed=seed)
    return write_recording(path, {"mic": {"info": audio_info(), "audio": (T0, np.clip(x, -1, 1))},
                                  "imu0": {"info": imu_info(), "rows": (t, rows)}})


@pytest.mark.slow
def test_thresholds_from_recordings_through_the_pipeline(tmp_path, capsys):
    from tests.pipeline.assets_helper import bundle_and_anchors
    bundle, anchors = bundle_and_anchors()
    bg = [_quiet_recording(tmp_path / f"bg{i}.mcap", 15.0, i) for i in range(2)]
    pos = _quiet_recording(tmp_path / "pos.mcap", 6.0, 9, tap_at=3.0)
    prof = tmp_path / "p.json"
    r = run_cli(capsys, "thresholds", "--recording", *bg, "--bundle", bundle, "--anchors", anchors,
                "--positives", f"glass_breaking={pos}", "--target-fa", "3600", "--profile", prof)
    p = Profile.load(prof)
    from edgebind.embedder import Embedder
    space = Embedder.from_bundle(bundle).space_id
    assert p.space_id == space
    assert "glass_breaking" in p.thresholds and len(p.thresholds) >= 7
    a = r["estimates"]["anchors"]["glass_breaking"]
    assert a["positive_clips"] == 1 and a["background_alarms"] <= a["allowed_alarms"]
    assert r["estimates"]["background_hours"] == pytest.approx(2 * 13.5 / 3600, rel=0.15)
    # The same profile against another embedding space is refused.
    p.space_id = "ebs1-00000000000000000000"
    p.save(prof)
    rc = main(["thresholds", "--recording", str(bg[0]), "--bundle", str(bundle), "--anchors",
               str(anchors), "--profile", str(prof)])
    assert rc == 1 and "embedding space" in capsys.readouterr().err


def test_camera_from_image_folder(tmp_path, capsys):
    import cv2
    folder = tmp_path / "views"
    folder.mkdir()
    for i, (rv, tv) in enumerate(poses(10, seed=1)):
        cv2.imwrite(str(folder / f"v{i:02d}.png"), render_view(rv, tv, seed=i))
    (folder / "notes.txt").write_text("not an image")
    r = run_cli(capsys, "camera", "--images", folder, "--stream", "front", "--square", "0.03",
                "--profile", tmp_path / "p.json", "--no-plots")
    assert r["estimates"]["fx"] == pytest.approx(600, rel=0.01)
    assert Profile.load(tmp_path / "p.json").streams["front"].camera is not None
    rc = main(["camera", "--images", str(folder), "--cols", "7", "--profile", str(tmp_path / "q.json")])
    assert rc == 1 and "inner corners" in capsys.readouterr().err


def test_thermal_flat_field_dry_run_and_strict(tmp_path, capsys):
    rng = np.random.default_rng(2)
    fpn = rng.standard_normal((12, 16)).astype(np.float32)
    info = StreamInfo("th0", "thermal", 8.0, (12, 16), "K", "lepton:test")
    frames = [(T0 + i * 125_000_000, 300 + fpn + 0.02 * rng.standard_normal((12, 16)).astype(np.float32))
              for i in range(30)]
    rec = write_recording(tmp_path / "flat.mcap", {"th0": {"info": info, "frames": frames}})
    prof = tmp_path / "p.json"
    r = run_cli(capsys, "thermal", "--recording", rec, "--flat-field", "--profile", prof, "--dry-run")
    assert r["estimates"]["non_uniformity_after_k"] < 0.05 < r["estimates"]["non_uniformity_before_k"]
    assert not prof.exists()                          # --dry-run leaves the profile alone
    r = run_cli(capsys, "thermal", "--recording", rec, "--flat-field", "--profile", prof)
    assert (tmp_path / "p.th0.thermal_offset.npy").is_file()
    fix = Profile.load(prof).thermal_correction("th0")
    assert float(np.std(fix(frames[0][1]))) < 0.1
    # --strict: a failing check (30 s of IMU < the recommended 60 s) gives exit status 3.
    n = 200 * 30
    rows = imu_rows(np.tile([0, 0, G], (n, 1)), np.zeros((n, 3)), accel_noise=0.003, gyro_noise=3e-4)
    t = T0 + np.round(np.arange(n) * 1e9 / 200).astype(np.int64)
    imu = write_recording(tmp_path / "short.mcap", {"imu0": {"info": imu_info(), "rows": (t, rows)}})
    assert main(["imu", "--recording", str(imu), "--profile", str(prof), "--strict", "--no-plots"]) == 3
    out = capsys.readouterr().out
    assert "FAIL  still duration" in out


def test_a_hostile_detector_config_is_one_line_naming_the_file(tmp_path, capsys, still_imu):
    deep = tmp_path / "detector.toml"
    deep.write_text("detector = " + "[" * 100_000 + "]" * 100_000 + "\n")
    rc = main(["thresholds", "--recording", str(still_imu), "--anchors",
               str(tmp_path / "anchors.json"), "--detector", str(deep), "--profile",
               str(tmp_path / "p.json")])
    err = capsys.readouterr().err
    assert rc == 1 and f"{deep}: invalid TOML: nested too deeply" in err, err
    assert "Traceback" not in err
