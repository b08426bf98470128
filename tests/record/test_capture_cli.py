"""`edgebind record`: real sources (OpenCV image sequences, MCAP replay, the simulated world)
into real MCAP files, read back with the recording reader."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgebind.cli import main
from edgebind.record import Recorder, open_recording
from edgebind.sample import Sample, StreamInfo
from tests.conftest import wait_until

NS = 1_000_000_000


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    import cv2
    d = tmp_path / "frames"
    d.mkdir()
    for i in range(40):
        img = np.zeros((48, 64, 3), np.uint8)
        img[:, : i + 1] = (i * 6, 255 - i * 6, 100)
        cv2.imwrite(str(d / f"f{i:04d}.png"), img)
    return d


@pytest.fixture
def imu_recording(tmp_path: Path) -> Path:
    """A short recording of an IMU stream, to replay as a second (threaded) source."""
    p = tmp_path / "imu_src.mcap"
    t0 = 10 * NS
    with Recorder(p) as rec:
        rec.add_stream(StreamInfo("imu0", "imu", 400.0, (-1, 6), "SI", "test"))
        for b in range(60):
            rt = t0 + np.arange(b * 20, b * 20 + 20, dtype=np.int64) * (NS // 400)
            rec.write(Sample("imu0", "imu", int(rt[0]), np.full((20, 6), b, np.float32),
                             row_t_ns=rt))
    return p


def write_config(tmp_path: Path, frames_dir: Path, imu_recording: Path | None, loop=False) -> Path:
    text = (f'[[streams]]\nname = "cam"\nkind = "camera"\npath = "{frames_dir}/f%04d.png"\n'
            f'fps = 20\n' + ("loop = true\n" if loop else ""))
    if imu_recording is not None:
        text += (f'\n[[streams]]\nname = "rep"\nkind = "replay"\npath = "{imu_recording}"\n'
                 f'speed = 1\nrebase = true\n')
    p = tmp_path / "sensors.toml"
    p.write_text(text)
    return p


def test_record_config_with_two_sources_and_profile(tmp_path, frames_dir, imu_recording, capsys):
    from edgebind.profile import Profile, StreamCalibration
    prof = tmp_path / "profile.json"
    Profile(device="robot-7", streams={"cam": StreamCalibration(time_offset_ns=1234)}).save(prof)
    cfg = write_config(tmp_path, frames_dir, imu_recording)
    out = tmp_path / "run.mcap"
    rc = main(["record", "--config", str(cfg), "--out", str(out), "--duration", "1.0",
               "--profile", str(prof), "--json", "--quiet"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stopped_by"].startswith("duration")
    with open_recording(out) as rec:
        s = rec.summary()
        assert s.complete and not s.skipped
        assert set(s.channels) == {"cam", "imu0"}
        # 1 s of sample time from the earliest sample: 20 frames at 20 fps, 20 IMU batches of
        # 50 ms; the two sources start a few ms apart (and a sample delivered just before an
        # older one of the other source is kept), so allow a little at the edges.
        assert 17 <= s.channels["cam"].message_count <= 21
        assert 16 <= s.channels["imu0"].message_count <= 21
        assert summary["messages"] == {k: c.message_count for k, c in s.channels.items()}
        cam = rec.streams["cam"]
        assert cam.modality == "vision" and cam.rate_hz == 20.0
        assert rec.streams["imu0"].rate_hz == 400.0
        assert rec.calibration["device"] == "robot-7"
        assert rec.calibration["streams"]["cam"]["time_offset_ns"] == 1234
        frames = [x for x in rec.samples(streams=["cam"])]
        assert frames[0].data.shape == (48, 64, 3)
        # Written BGR (B = 6 i, R = 100) by cv2.imwrite, recorded RGB, in order, none missing.
        assert [int(f.data[0, 0, 0]) for f in frames] == [100] * len(frames)
        assert [int(f.data[0, 0, 2]) for f in frames] == [6 * i for i in range(len(frames))]
        ts = [f.t_ns for f in frames]
        assert np.all(np.diff(ts) > 0)
        last = max(c.last_t_ns for c in s.channels.values())
        first = min(c.first_t_ns for c in s.channels.values())
        assert last - first < 1.0 * NS


def test_record_sim_through_the_same_path(tmp_path, capsys):
    sim = pytest.importorskip("edgebind.sim")
    if not hasattr(sim, "World"):
        pytest.skip("edgebind.sim.World not available yet")
    out = tmp_path / "sim.mcap"
    rc = main(["record", "--sim", "default", "--seed", "3", "--duration", "2", "--out", str(out),
               "--quiet"])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    with open_recording(out) as rec:
        s = rec.summary()
        assert s.complete
        infos = rec.streams
        assert {i.modality for i in infos.values()} == {"vision", "depth", "thermal", "audio", "imu"}
        for name, info in infos.items():
            n = s.channels[name].message_count
            span = (s.channels[name].last_t_ns - s.channels[name].first_t_ns) / NS
            assert n > 0 and span < 2.0
            per_s = {"audio": 16000 / 512, "imu": 400 / 20}.get(info.modality, info.rate_hz)
            assert abs(n - 2.0 * per_s) <= 2, (name, n)


def test_interrupt_leaves_a_valid_file(tmp_path, frames_dir):
    cfg = write_config(tmp_path, frames_dir, None, loop=True)
    out = tmp_path / "cut.mcap"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if out.exists():
            out.unlink()
        p = subprocess.Popen([sys.executable, "-m", "edgebind.cli", "record", "--config", str(cfg),
                              "--out", str(out), "--chunk-size", "4096"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            # Generous bounds, not timings: on a busy machine start-up alone can take many
            # seconds, and a signal sent before recording began would prove nothing.
            started = wait_until(lambda: out.exists() and out.stat().st_size >= 20_000
                                 or p.poll() is not None, timeout=240, interval=0.1)
            assert started and p.poll() is None, "edgebind record never wrote 20 KB"
            p.send_signal(sig)
            stdout, stderr = p.communicate(timeout=240)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 0, stderr.decode()
        assert b"interrupted" in stdout
        with open_recording(out) as rec:
            s = rec.summary()
            assert s.complete and not s.skipped and s.channels["cam"].message_count > 5


def test_user_errors_are_one_clear_line(tmp_path, frames_dir, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[streams]]\nname = "cam"\nkind = "camara"\npath = "x.mp4"\n')
    assert main(["record", "--config", str(bad), "--out", str(tmp_path / "a.mcap")]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and "kind" in err and "Traceback" not in err
    assert main(["record", "--sim", "--out", str(tmp_path / "b.mcap")]) == 1
    assert "--duration" in capsys.readouterr().err
    exists = tmp_path / "c.mcap"
    exists.write_bytes(b"keep me")
    assert main(["record", "--config", str(write_config(tmp_path, frames_dir, None)),
                 "--out", str(exists), "--duration", "1"]) == 1
    assert "--overwrite" in capsys.readouterr().err and exists.read_bytes() == b"keep me"
    assert main(["record", "--config", str(tmp_path / "missing.toml"), "--out",
                 str(tmp_path / "d.mcap")]) == 1
    assert "missing.toml" in capsys.readouterr().err
    deep = tmp_path / "deep.toml"   # 100k-deep nesting: one line naming the file, no traceback
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["record", "--config", str(deep), "--out", str(tmp_path / "e.mcap")]) == 1
    err = capsys.readouterr().err
    assert "deep.toml" in err and "Traceback" not in err and "RecursionError" not in err
    assert not any((tmp_path / n).exists() for n in ("a.mcap", "d.mcap", "e.mcap"))


def test_killed_recorder_leaves_a_replayable_file(tmp_path, frames_dir):
    # Power loss, as near as a test gets: SIGKILL, no handler runs, no footer is written.
    # Everything up to the last complete chunk must replay, frames bit-exact, and the reader,
    # the replay CLI and a ReplaySource must all say what was skipped.
    import cv2
    from edgebind.sensors.sources.replay import ReplaySource
    cfg = write_config(tmp_path, frames_dir, None, loop=True)
    out = tmp_path / "killed.mcap"
    p = subprocess.Popen([sys.executable, "-m", "edgebind.cli", "record", "--config", str(cfg),
                          "--out", str(out), "--chunk-size", "8192", "--compression", "none",
                          "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:   # a bound for a busy machine, not a timing
        wait_until(lambda: out.exists() and out.stat().st_size >= 60_000 or p.poll() is not None,
                   timeout=240, interval=0.05)
    finally:
        p.kill()
        p.wait(10)
    assert out.stat().st_size >= 60_000
    with open_recording(out) as rec:
        s = rec.summary()
        frames = list(rec.samples())
    assert not s.complete and s.truncated_at == out.stat().st_size
    assert any("truncated" in x for x in s.skipped)
    assert len(frames) == s.channels["cam"].message_count >= 5
    pngs = sorted(frames_dir.glob("f*.png"))
    for i, f in enumerate(frames):
        want = cv2.cvtColor(cv2.imread(str(pngs[i % len(pngs)])), cv2.COLOR_BGR2RGB)
        assert np.array_equal(f.data, want), i
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay", str(out), "--summary",
                        "--json"], capture_output=True, text=True, timeout=240)
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d["complete"] is False and d["skipped"]
    assert d["channels"]["cam"]["message_count"] == len(frames)
    src = ReplaySource(out, speed=0)
    got = list(src.iter_samples(timeout_s=20))
    assert [g.t_ns for g in got] == [f.t_ns for f in frames]
    assert src.skipped and "truncated" in src.skipped[0]
    assert "truncated" in (src.health()["cam"].last_error or "")


def test_record_config_with_every_file_kind_and_sim(tmp_path, frames_dir):
    # One TOML with a camera sequence, 16-bit depth (mm) and thermal (centikelvin) sequences
    # and two streams of the simulated world: each lands in its channel, in SI units, with
    # Foxglove-readable image encodings.
    import cv2
    sim = pytest.importorskip("edgebind.sim")
    if not hasattr(sim, "World"):
        pytest.skip("edgebind.sim.World not available yet")
    (tmp_path / "d").mkdir()
    (tmp_path / "t").mkdir()
    for i in range(12):
        d = np.full((6, 8), 1000 + 100 * i, np.uint16)
        d[0, 0] = 0                                           # no reading -> NaN
        cv2.imwrite(str(tmp_path / "d" / f"{i:03d}.png"), d)
        cv2.imwrite(str(tmp_path / "t" / f"{i:03d}.png"), np.full((4, 5), 29315 + i, np.uint16))
    cfg = tmp_path / "all.toml"
    cfg.write_text(
        f'[[streams]]\nname = "cam"\nkind = "camera"\npath = "{frames_dir}/f%04d.png"\nfps = 20\n\n'
        f'[[streams]]\nname = "depth0"\nkind = "depth"\npath = "{tmp_path}/d/%03d.png"\n'
        f'fps = 10\ndepth_scale = 0.001\n\n'
        f'[[streams]]\nname = "therm0"\nkind = "thermal"\npath = "{tmp_path}/t"\nfps = 10\n'
        f'scale = 0.01\n\n'
        f'[[streams]]\nname = "world"\nkind = "sim"\nscenario = "default"\nseed = 2\n'
        f'duration = 5.0\nstreams = ["mic", "imu"]\n')
    out = tmp_path / "all.mcap"
    assert main(["record", "--config", str(cfg), "--out", str(out), "--duration", "1.0",
                 "--quiet"]) == 0
    with open_recording(out) as rec:
        s = rec.summary()
        assert s.complete and not s.skipped
        assert set(s.channels) == {"cam", "depth0", "therm0", "mic", "imu"}
        assert all(c.message_count > 0 for c in s.channels.values())
        assert {k: c.schema for k, c in s.channels.items()} == {
            "cam": "foxglove.RawImage", "depth0": "foxglove.RawImage",
            "therm0": "foxglove.RawImage", "mic": "edgebind.AudioChunk",
            "imu": "edgebind.ImuBatch"}
        depth = list(rec.samples(streams=["depth0"]))
        therm = list(rec.samples(streams=["therm0"]))
        imu = list(rec.samples(streams=["imu"]))
    for i, f in enumerate(depth):
        assert f.data.dtype == np.float32 and np.isnan(f.data[0, 0])
        assert f.data[1, 1] == pytest.approx((1000 + 100 * i) * 0.001)
    for i, f in enumerate(therm):
        assert f.data[0, 0] == pytest.approx(293.15 + 0.01 * i, abs=1e-4)
    assert all(b.row_t_ns is not None and b.data.shape[1] == 6 for b in imu)
    from mcap.reader import make_reader
    with open(out, "rb") as fh:
        enc = {ch.topic: json.loads(m.data)["encoding"] for sc, ch, m in
               make_reader(fh).iter_messages(topics=["/depth0", "/therm0", "/cam"])}
    assert enc == {"/depth0": "32FC1", "/therm0": "32FC1", "/cam": "rgb8"}


def test_a_stream_that_cannot_open_is_reported_not_fatal(tmp_path, frames_dir, capsys):
    cfg = tmp_path / "half.toml"
    cfg.write_text(f'[[streams]]\nname = "cam"\nkind = "camera"\npath = "{frames_dir}/f%04d.png"\n'
                   f'fps = 20\n\n[[streams]]\nname = "depth0"\nkind = "depth"\n'
                   f'path = "{tmp_path}/nowhere/%06d.png"\n')
    out = tmp_path / "half.mcap"
    assert main(["record", "--config", str(cfg), "--out", str(out), "--duration", "1.0",
                 "--quiet", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["messages"]["depth0"] == 0 and d["messages"]["cam"] >= 17
    assert "no files match" in d["source_errors"]["depth0"] and "nowhere" in d["source_errors"]["depth0"]
    with open_recording(out) as rec:
        ch = rec.summary().channels
    assert ch["depth0"].message_count == 0 and ch["cam"].message_count == d["messages"]["cam"]


def test_config_paths_are_relative_to_the_config_file(tmp_path, frames_dir, monkeypatch):
    cfg = tmp_path / "rel.toml"
    cfg.write_text('[[streams]]\nname = "cam"\nkind = "camera"\npath = "frames/f%04d.png"\n'
                   'fps = 40\nrealtime = false\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["record", "--config", str(cfg), "--out", "r.mcap", "--quiet"]) == 0
    with open_recording(elsewhere / "r.mcap") as rec:
        assert rec.summary().channels["cam"].message_count == 40


def test_daemon_config_profile_is_embedded(tmp_path, frames_dir, capsys):
    # `edgebind record --config edgebind.toml` with the robot's daemon config: its own
    # `profile` (relative to the config) goes into the recording without --profile.
    from edgebind.profile import Profile, StreamCalibration
    (tmp_path / "cal").mkdir()
    Profile(device="robot-9", streams={"cam": StreamCalibration(time_offset_ns=-5)}).save(
        tmp_path / "cal" / "robot.toml")
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text('profile = "cal/robot.toml"\nbundle = "nowhere"\n\n[[streams]]\nname = "cam"\n'
                   'kind = "camera"\npath = "frames/f%04d.png"\nrealtime = false\n')
    assert main(["record", "--config", str(cfg), "--out", str(tmp_path / "p.mcap"),
                 "--quiet"]) == 0
    with open_recording(tmp_path / "p.mcap") as rec:
        assert rec.calibration["device"] == "robot-9"
        assert rec.calibration["streams"]["cam"]["time_offset_ns"] == -5
    capsys.readouterr()
    cfg.write_text('profile = "cal/missing.toml"\n\n[[streams]]\nname = "cam"\nkind = "camera"\n'
                   'path = "frames/f%04d.png"\n')
    assert main(["record", "--config", str(cfg), "--out", str(tmp_path / "q.mcap")]) == 1
    err = capsys.readouterr().err
    assert "edgebind.toml" in err and "'profile'" in err and "missing.toml" in err
    assert not (tmp_path / "q.mcap").exists()


def test_signals_stop_the_recording_without_raising_in_the_middle_of_anything():
    # Ctrl-C / SIGTERM set the stop event; no KeyboardInterrupt lands inside a lock's
    # acquire-to-with window (a source's health() runs every 50 ms), where it would leave the
    # lock held and the shutdown hanging on it.
    import signal as sig
    import threading
    from edgebind.record.capture_cli import _signals_set
    before = {s: sig.getsignal(s) for s in (sig.SIGINT, sig.SIGTERM)}
    for first in (sig.SIGTERM, sig.SIGINT):
        stop = threading.Event()
        restore, received = _signals_set(stop)
        try:
            sig.raise_signal(first)
            assert stop.is_set() and received == [first]
            assert sig.getsignal(sig.SIGINT) is sig.default_int_handler   # a second Ctrl-C
        finally:                                                           # interrupts for real
            restore()
        assert {s: sig.getsignal(s) for s in (sig.SIGINT, sig.SIGTERM)} == before


def test_capture_refuses_two_streams_of_one_name(tmp_path):
    from edgebind.record.capture_cli import capture
    from edgebind.sensors import SimSource
    out = tmp_path / "dup.mcap"
    with pytest.raises(ValueError, match="appear more than once"):
        capture([SimSource(seed=1), SimSource(seed=2)], out, duration_s=1)
    assert not out.exists()
