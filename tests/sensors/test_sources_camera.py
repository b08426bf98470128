"""CameraSource through real OpenCV capture: image sequences and lossless video files."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from edgebind.sensors import CameraSource, jetson_csi_pipeline

W, H = 64, 48


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """Random RGB frames (noise: any channel swap or lossy step shows)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def write_sequence(folder, rgb: list[np.ndarray], start: int = 0) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(rgb):
        assert cv2.imwrite(str(folder / f"f{i + start:04d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return str(folder / "f%04d.png")


def write_lossless_video(path, rgb: list[np.ndarray], fps: float) -> str | None:
    """Writes with the first lossless codec this OpenCV build can encode; None if none."""
    for fourcc in ("FFV1", "HFYU", "png ", "MPNG"):
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
        if not w.isOpened():
            continue
        for f in rgb:
            w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        w.release()
        return fourcc
    return None


def check_stamps(samples, fps: float) -> None:
    t = np.array([s.t_ns for s in samples], dtype=np.int64)
    d = np.diff(t)
    assert (d > 0).all()
    np.testing.assert_allclose(d, 1e9 / fps, atol=1.0)  # exactly 1/fps (rounded to ns)


def test_png_sequence_bit_exact_fast(tmp_path):
    src_frames = frames(12)
    pattern = write_sequence(tmp_path / "seq", src_frames, start=1)
    cam = CameraSource("cam0", path=pattern, fps=25.0, realtime=False)
    t_before = time.monotonic_ns()
    got = list(cam.iter_samples(timeout_s=20))
    assert len(got) == len(src_frames)
    for s, f in zip(got, src_frames):
        assert s.stream == "cam0" and s.modality == "vision"
        assert s.data.dtype == np.uint8 and s.data.shape == (H, W, 3)
        assert np.array_equal(s.data, f)  # RGB, bit-exact
    check_stamps(got, 25.0)
    assert got[0].t_ns >= t_before
    info = cam.streams[0]
    assert info.shape == (H, W, 3) and info.rate_hz == 25.0 and info.modality == "vision"
    h = cam.health()["cam0"]
    assert h.samples == 12 and h.ended and h.state == "disconnected" and h.errors == 0


def test_lossless_video_realtime_pacing(tmp_path):
    src_frames = frames(8, seed=1)
    path = tmp_path / "clip.avi"
    fourcc = write_lossless_video(path, src_frames, fps=20.0)
    if fourcc is None:
        pytest.skip("this OpenCV build cannot write any lossless codec (image sequences cover it)")
    cam = CameraSource("cam1", path=str(path), realtime=True)  # fps from the file
    got, arrival = [], []
    for s in cam.iter_samples(timeout_s=20):
        arrival.append(time.monotonic_ns())
        got.append(s)
    assert len(got) == 8, fourcc
    assert all(np.array_equal(s.data, f) for s, f in zip(got, src_frames)), fourcc
    check_stamps(got, 20.0)
    # Real-time pacing: never delivered before its stamp, and the whole clip takes ~7/20 s.
    assert all(a >= s.t_ns for a, s in zip(arrival, got))
    assert arrival[-1] - arrival[0] >= 0.9 * 7 / 20 * 1e9
    assert cam.streams[0].rate_hz == 20.0


def test_glob_sequence_and_loop(tmp_path):
    src_frames = frames(3, seed=2)
    write_sequence(tmp_path / "g", src_frames)
    cam = CameraSource("cam2", path=str(tmp_path / "g" / "*.png"), fps=100.0, realtime=False,
                       loop=True)
    got = list(cam.iter_samples(max_samples=7))
    assert [int(np.argmax([np.array_equal(s.data, f) for f in src_frames])) for s in got] == \
        [0, 1, 2, 0, 1, 2, 0]
    check_stamps(got, 100.0)  # a loop keeps the spacing


def test_corrupt_frame_is_skipped_and_counted(tmp_path):
    src_frames = frames(4, seed=3)
    pattern = write_sequence(tmp_path / "c", src_frames)
    (tmp_path / "c" / "f0002.png").write_bytes(b"not a png at all")
    cam = CameraSource("cam3", path=str(tmp_path / "c"), fps=10.0, realtime=False)
    got = list(cam.iter_samples(timeout_s=10))
    assert len(got) == 3
    assert np.array_equal(got[2].data, src_frames[3])
    assert got[2].t_ns - got[1].t_ns == pytest.approx(2e8, abs=1)  # the gap stays visible
    h = cam.health()["cam3"]
    assert h.errors == 1 and h.dropped == 1 and "f0002.png" in h.last_error
    assert pattern  # the printf pattern and the folder name the same files


def test_missing_file_is_disconnected_not_a_crash(tmp_path):
    cam = CameraSource("gone", path=str(tmp_path / "nope.avi"), backoff=(0.02, 0.05))
    seen = []
    cam.start(seen.append)
    try:
        time.sleep(0.4)
        h = cam.health()["gone"]
        assert h.state == "disconnected"
        assert h.errors >= 2  # retried with backoff
        assert "nope.avi" in h.last_error and h.samples == 0
        # The file appears: the source picks it up on its next retry.
        write_lossless_video(tmp_path / "nope.avi", frames(3), 30.0) or pytest.skip("no codec")
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(seen) == 3
    finally:
        cam.stop()
    assert cam.health()["gone"].samples == 3


def test_undecodable_video_is_an_error_not_an_empty_stream(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    cam = CameraSource("bad", path=str(bad), backoff=(0.01, 0.02))
    assert list(cam.iter_samples(timeout_s=0.3)) == []
    h = cam.health()["bad"]
    assert h.state == "disconnected" and not h.ended and h.errors >= 1
    assert "bad.avi" in h.last_error


def test_slow_consumer_never_blocks_capture(tmp_path):
    pattern = write_sequence(tmp_path / "s", frames(40, seed=4))
    cam = CameraSource("cam4", path=pattern, fps=1000.0, realtime=False, queue_size=4)
    release = threading.Event()
    got = []

    def slow(s):
        release.wait(5)
        got.append(s)

    cam.start(slow)
    try:
        deadline = time.monotonic() + 10
        while not cam.health()["cam4"].ended and time.monotonic() < deadline:
            time.sleep(0.01)
        h = cam.health()["cam4"]
        assert h.ended and h.samples == 40  # capture finished while the consumer was stuck
        release.set()
    finally:
        cam.stop()
    h = cam.health()["cam4"]
    # Everything captured was either delivered or counted as dropped, and memory stayed bounded.
    assert len(got) + h.dropped == 40
    assert len(got) <= 4 + 1


def test_arguments_and_csi_pipeline():
    with pytest.raises(ValueError, match="exactly one of"):
        CameraSource("x", device=0, path="a.avi")
    p = jetson_csi_pipeline(sensor_id=1, width=1280, height=720, fps=29.97, flip_method=2)
    assert p.startswith("nvarguscamerasrc sensor-id=1 ")
    assert "framerate=(fraction)2997/100" in p and "flip-method=2" in p
    assert p.rstrip().endswith("appsink drop=true max-buffers=1 sync=false")
    with pytest.raises(ValueError, match="flip_method"):
        jetson_csi_pipeline(flip_method=9)


def test_gstreamer_without_support_is_a_clear_health_error():
    from edgebind.sensors.sources.camera import opencv_has_gstreamer

    if opencv_has_gstreamer():
        pytest.skip("this OpenCV has GStreamer")
    cam = CameraSource("csi", pipeline=jetson_csi_pipeline(), backoff=(0.01, 0.02))
    assert list(cam.iter_samples(timeout_s=0.2)) == []
    h = cam.health()["csi"]
    assert h.state == "disconnected" and "GStreamer" in h.last_error


class _Http:
    """A real local HTTP server for a folder (what an IP camera's HTTP stream looks like to
    OpenCV's FFmpeg backend); ``stop()`` takes the 'camera' off the network."""

    def __init__(self, folder) -> None:
        import functools
        import http.server

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a):  # noqa: D401 - keep test output clean
                pass

        self.srv = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        self.port = self.srv.server_address[1]
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def stop(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def test_url_stream_bit_exact_then_network_loss_is_disconnected(tmp_path):
    src_frames = frames(10, seed=7)
    write_lossless_video(tmp_path / "v.avi", src_frames, 10.0) or pytest.skip("no lossless codec")
    http = _Http(tmp_path)
    url = f"http://127.0.0.1:{http.port}/v.avi"
    try:
        cam = CameraSource("ipcam", url=url, backoff=(0.05, 0.1))
        got = list(cam.iter_samples(max_samples=10, timeout_s=10))
        assert len(got) == 10
        for s, f in zip(got, src_frames):
            np.testing.assert_array_equal(s.data, f)       # RGB, lossless, in order
        assert all(np.diff([s.t_ns for s in got]) > 0)      # stamped at grab(), monotonic
    finally:
        http.stop()
    # The camera drops off the network: reconnect attempts fail, health says why; no crash.
    cam = CameraSource("ipcam", url=url, backoff=(0.02, 0.05))
    assert list(cam.iter_samples(timeout_s=0.5)) == []
    h = cam.health()["ipcam"]
    assert h.state == "disconnected" and h.errors >= 2 and url in h.last_error
