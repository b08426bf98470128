"""ReplaySource over a real MCAP file written with edgebind.record.Recorder."""
from __future__ import annotations

import time

import numpy as np
import pytest

from edgebind.record import Recorder
from edgebind.sample import Sample, StreamInfo
from edgebind.sensors import ReplaySource, open_source, parse_stream_configs


def write_recording(path, t0: int = 5_000_000_000) -> list[Sample]:
    rng = np.random.default_rng(0)
    written = []
    with Recorder(path) as rec:
        rec.add_stream(StreamInfo("cam", "vision", 10.0, (8, 12, 3), "RGB uint8"))
        rec.add_stream(StreamInfo("mic", "audio", 1000.0, (50, 1), "float32 [-1, 1]"))
        rec.add_stream(StreamInfo("imu", "imu", 200.0, (-1, 6), "m/s^2, rad/s"))
        for k in range(10):  # 1 s: 10 frames, 20 audio chunks, 20 imu batches, interleaved
            t = t0 + k * 100_000_000
            s = Sample("cam", "vision", t, rng.integers(0, 256, (8, 12, 3), dtype=np.uint8))
            rec.write(s)
            written.append(s)
            for j in range(2):
                ta = t + j * 50_000_000
                a = Sample("mic", "audio", ta, rng.standard_normal((50, 1)).astype(np.float32))
                rows = ta + np.arange(10, dtype=np.int64) * 5_000_000
                m = Sample("imu", "imu", ta, rng.standard_normal((10, 6)).astype(np.float32),
                           row_t_ns=rows)
                rec.write(a)
                rec.write(m)
                written += [a, m]
    return written


def key(s: Sample):
    return (s.stream, s.t_ns)


def test_fast_replay_preserves_everything(tmp_path):
    path = tmp_path / "rec.mcap"
    written = write_recording(path)
    src = ReplaySource(path, speed=0)
    assert {i.stream for i in src.streams} == {"cam", "mic", "imu"}
    got = list(src.iter_samples(timeout_s=20))
    assert len(got) == len(written)
    by = {key(s): s for s in written}
    for s in got:
        w = by[key(s)]
        assert s.modality == w.modality and np.array_equal(s.data, w.data)
        if s.row_t_ns is not None:
            assert np.array_equal(s.row_t_ns, w.row_t_ns)
    assert [s.t_ns for s in got] == sorted(s.t_ns for s in got)
    h = src.health()
    assert h["cam"].samples == 10 and h["mic"].samples == 20 and h["imu"].samples == 20
    assert all(v.ended for v in h.values())


def test_realtime_rebased_subset(tmp_path):
    path = tmp_path / "rec.mcap"
    write_recording(path)
    cfg = parse_stream_configs([{"name": "rp", "kind": "replay", "path": str(path),
                                 "speed": 2.0, "streams": ["cam", "imu"], "rebase": True}],
                               "t.toml")[0]
    src = open_source(cfg)
    assert {i.stream for i in src.streams} == {"cam", "imu"}
    start = time.monotonic_ns()
    got, arrival = [], []
    for s in src.iter_samples(timeout_s=20):
        arrival.append(time.monotonic_ns())
        got.append(s)
    assert {s.stream for s in got} == {"cam", "imu"} and len(got) == 30
    t = np.array([s.t_ns for s in got])
    # Rebased onto now, spacing preserved (0.95 s of recording); played at twice real time.
    assert start <= t[0] <= start + 200_000_000
    assert t[-1] - t[0] == 950_000_000
    assert 0.9 * 0.475e9 <= arrival[-1] - arrival[0] <= 0.475e9 + 0.4e9
    imu = [s for s in got if s.stream == "imu"]
    assert all(s.row_t_ns[0] == s.t_ns for s in imu)


def test_missing_file_and_bad_stream(tmp_path):
    src = ReplaySource(tmp_path / "none.mcap", name="rp", backoff=(0.01, 0.02))
    assert list(src.iter_samples(timeout_s=0.2)) == []
    h = src.health()["rp"]
    assert h.state == "disconnected" and "none.mcap" in h.last_error
    path = tmp_path / "rec.mcap"
    write_recording(path)
    bad = ReplaySource(path, name="rp2", streams=["cam", "lidar"], backoff=(0.01, 0.02))
    assert list(bad.iter_samples(timeout_s=0.2)) == []
    assert "lidar" in bad.health()["rp2"].last_error
    with pytest.raises(ValueError, match="rebase"):
        ReplaySource(path, loop=True)
