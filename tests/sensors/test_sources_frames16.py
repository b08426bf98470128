"""Depth and thermal sources from real 16-bit image files, and their unit conversions."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgebind.sensors import DepthSource, ThermalSource, open_source, parse_stream_configs
from edgebind.sensors.sources.thermal import y16_frame


def write_u16(folder, frames, name="d%05d.png") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        assert cv2.imwrite(str(folder / (name % i)), f)
    return str(folder / name)


def test_depth_sequence_mm_to_metres_with_invalid(tmp_path):
    rng = np.random.default_rng(0)
    raw = [rng.integers(0, 9000, (30, 40), dtype=np.uint16) for _ in range(5)]
    raw[0][:3, :3] = 0
    pattern = write_u16(tmp_path / "depth", raw)
    src = DepthSource("d0", path=pattern, fps=15.0, realtime=False)
    got = list(src.iter_samples(timeout_s=10))
    assert len(got) == 5
    for s, r in zip(got, raw):
        assert s.modality == "depth" and s.data.dtype == np.float32 and s.data.shape == (30, 40)
        valid = r != 0
        np.testing.assert_array_equal(s.data[valid], r[valid].astype(np.float32) * np.float32(0.001))
        assert np.isnan(s.data[~valid]).all()
    assert np.isnan(got[0].data[:3, :3]).all()
    d = np.diff([s.t_ns for s in got])
    np.testing.assert_allclose(d, 1e9 / 15, atol=1)
    info = src.streams[0]
    assert info.shape == (30, 40) and info.rate_hz == 15.0 and "metres" in info.units


def test_depth_scale_from_config_and_8bit_file_rejected(tmp_path):
    raw = [np.full((4, 5), 1000, np.uint16)]
    pattern = write_u16(tmp_path / "d", raw)
    cv2.imwrite(str(tmp_path / "d" / "d00001.png"), np.zeros((4, 5), np.uint8))  # wrong depth
    cfg = parse_stream_configs([{"name": "d1", "kind": "depth", "path": pattern,
                                 "depth_scale": 0.0001, "realtime": False}], "cfg.toml")[0]
    src = open_source(cfg)
    got = list(src.iter_samples(timeout_s=5))
    assert len(got) == 1 and np.allclose(got[0].data, 0.1)
    h = src.health()["d1"]
    assert h.errors == 1 and "16-bit" in h.last_error and h.dropped == 1


def test_thermal_sequence_centikelvin(tmp_path):
    raw = [np.full((12, 16), 29815, np.uint16) + np.arange(16, dtype=np.uint16) for _ in range(3)]
    pattern = write_u16(tmp_path / "t", raw, name="t%03d.tiff")
    src = ThermalSource("th", path=pattern, fps=8.7, realtime=False)
    got = list(src.iter_samples(timeout_s=5))
    assert len(got) == 3
    np.testing.assert_allclose(got[0].data[0, :3], [298.15, 298.16, 298.17], atol=1e-3)
    assert got[0].data.dtype == np.float32 and got[0].modality == "thermal"
    off = ThermalSource("th2", path=pattern, scale=0.1, offset=-10.0, realtime=False)
    s = next(off.iter_samples())
    np.testing.assert_allclose(s.data[0, 0], 2981.5 - 10.0, rtol=1e-6)


def test_y16_buffer_layouts():
    img = np.arange(6 * 4, dtype=np.uint16).reshape(4, 6) * 100
    assert y16_frame(img, None, None) is img
    flat = img.astype("<u2").view(np.uint8).reshape(1, -1)  # OpenCV's raw 1×N byte buffer
    np.testing.assert_array_equal(y16_frame(flat, 6, 4), img)
    with pytest.raises(OSError, match="width and height"):
        y16_frame(flat, None, None)
    with pytest.raises(OSError, match="needs"):
        y16_frame(flat[:, :10], 6, 4)


def test_empty_folder_and_argument_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    src = DepthSource("e", path=str(tmp_path / "empty"), backoff=(0.01, 0.02))
    assert list(src.iter_samples(timeout_s=0.2)) == []
    h = src.health()["e"]
    assert h.state == "disconnected" and "no files match" in h.last_error
    with pytest.raises(ValueError, match="exactly one"):
        DepthSource("x")
    with pytest.raises(ValueError, match="depth_scale"):
        DepthSource("x", path="p", depth_scale=0)
    with pytest.raises(ValueError, match="scale"):
        ThermalSource("x", path="p", scale=float("nan"))


def test_sequence_patterns_with_and_without_a_file_prefix(tmp_path, monkeypatch):
    from edgebind.sensors.sources._files import list_sequence
    d = tmp_path / "seq"
    d.mkdir()
    for i in (10, 2, 1):
        (d / f"{i:06d}.png").write_bytes(b"x")
        (d / f"img{i:03d}.png").write_bytes(b"x")
    (d / "0000001.png").write_bytes(b"x")          # 7 digits: not %06d
    assert [f.name for f in list_sequence(f"{d}/%06d.png")] == ["000001.png", "000002.png",
                                                                "000010.png"]
    assert [f.name for f in list_sequence(f"{d}/img%03d.png")] == ["img001.png", "img002.png",
                                                                   "img010.png"]
    assert len(list_sequence(f"{d}/img%d.png")) == 3
    monkeypatch.chdir(d)                            # a bare pattern: the current folder
    assert [f.name for f in list_sequence("img%03d.png")][0] == "img001.png"
    with pytest.raises(FileNotFoundError, match="no files match"):
        list_sequence(f"{d}/depth%06d.png")


def test_live_depth_and_thermal_without_a_camera_are_disconnected_with_a_reason():
    # The real OpenCV code paths (OpenNI2 depth backend, V4L2 Y16 thermal) run; with no such
    # device here they must end up disconnected with a message, never raise or hang.
    d = DepthSource("kinect", device=7, backend="openni2", backoff=(0.01, 0.02))
    assert list(d.iter_samples(timeout_s=0.3)) == []
    h = d.health()["kinect"]
    assert h.state == "disconnected" and h.errors >= 1
    assert "depth device 7" in h.last_error and "OpenNI2" in h.last_error
    t = ThermalSource("lepton", device="/dev/video-edgebind-none", width=160, height=120,
                      backoff=(0.01, 0.02))
    assert list(t.iter_samples(timeout_s=0.3)) == []
    h = t.health()["lepton"]
    assert h.state == "disconnected" and "/dev/video-edgebind-none" in h.last_error
    with pytest.raises(ValueError, match="serial numbers need backend 'realsense'"):
        DepthSource("x", device="f0123", backend="openni2")
