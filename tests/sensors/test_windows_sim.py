"""Windows from the simulated world: the same windows live from the world, from a recording
replayed as fast as possible, and from a replay source paced faster than real time."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from edgebind.sensors.windows import WindowAssembler
from tests.sensors.test_windows import assert_same

sim = pytest.importorskip("edgebind.sim")
NS = 1_000_000_000
START = 1000 * NS


@pytest.fixture(scope="module")
def world():
    if not hasattr(sim, "World"):
        pytest.skip("edgebind.sim.World not available")
    return sim.World("default", seed=5, duration_s=4.0, start_ns=START)


def windows_of(infos, samples):
    wa = WindowAssembler(infos, window_s=2.0, hop_s=0.5, imu_rows=800)
    out = []
    for s in samples:
        wa.push(s)
        out += wa.poll()
    return {ws.t_end_ns: ws for ws in out + wa.flush()}, wa


def test_sim_windows_are_complete_and_model_ready(world):
    sets, wa = windows_of(world.stream_infos, world.samples())
    full = [ws for ws in sets.values() if ws.t_end_ns >= START + 2 * NS]
    assert len(full) >= 4
    for ws in full:
        assert set(ws.windows) == {"vision", "depth", "thermal", "audio", "imu"}, ws.skipped
        assert ws.windows["vision"].data.shape == (224, 224, 3)
        assert ws.windows["depth"].data.dtype == np.float32 and ws.windows["depth"].data.ndim == 2
        assert ws.windows["thermal"].data.shape == (120, 160)
        assert ws.windows["audio"].meta["zero_filled_frames"] == 0
        assert ws.windows["audio"].data.shape == (32000, 1)
    st = wa.stats
    assert st["late"] == st["out_of_order"] == st["clock_jumps"] == st["invalid"] == 0


def test_replay_at_any_speed_gives_identical_windows(world, tmp_path):
    from edgebind.record import Recorder, open_recording
    from edgebind.sensors.sources.replay import ReplaySource
    direct, _ = windows_of(world.stream_infos, world.samples())
    path = tmp_path / "w.mcap"
    with Recorder(path) as rec:
        for info in world.stream_infos:
            rec.add_stream(info)
        for s in sim.World("default", seed=5, duration_s=4.0, start_ns=START).samples():
            rec.write(s)
    with open_recording(path) as r:
        fast, _ = windows_of(list(r.streams.values()), r.samples(speed=None))
    assert_same(direct, fast)
    # A paced replay source delivering from its own thread (4x real time: 1 s of wall time).
    src = ReplaySource(path, speed=4.0)
    wa = WindowAssembler(src.streams, window_s=2.0, hop_s=0.5, imu_rows=800)
    got, lock = [], threading.Lock()

    def on_sample(s):
        with lock:
            wa.push(s)
            got.extend(wa.poll())

    src.start(on_sample)
    try:
        import time
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(h.ended for h in src.health().values()):
            time.sleep(0.05)
    finally:
        src.stop()
    with lock:
        got.extend(wa.flush())
    assert_same(direct, {ws.t_end_ns: ws for ws in got})
