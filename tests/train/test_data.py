"""Training data: cache folders, sim windows, and camera-paired windows from a real MCAP file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.train.data import ArrayDataset, load_cache, save_cache


def test_cache_round_trip_and_partial_cache(tmp_path):
    arrays = {"imu": np.random.default_rng(0).normal(size=(6, 6, 2000)).astype(np.float16),
              "label": np.arange(6, dtype=np.int16)}
    save_cache(tmp_path / "c", arrays, {"source": "test"})
    ds = load_cache(tmp_path / "c")
    assert len(ds) == 6 and ds.meta["source"] == "test"
    batch = ds.take(np.array([4, 1, 3]))
    assert batch["imu"].dtype == np.float32 and batch["label"].dtype == np.int64
    assert np.array_equal(batch["label"], [4, 1, 3])
    np.testing.assert_array_equal(batch["imu"], arrays["imu"][[4, 1, 3]].astype(np.float32))
    (tmp_path / "c" / "meta.json").unlink()
    with pytest.raises(FileNotFoundError, match="not a training cache"):
        load_cache(tmp_path / "c")
    with pytest.raises(ValueError, match="differ in length"):
        ArrayDataset({"a": np.zeros(3), "b": np.zeros(4)}, {})


def test_sim_windows_are_deterministic_and_labelled():
    pytest.importorskip("edgebind.sim")
    from edgebind.sim import EVENTS
    from edgebind.train.simdata import render
    a = render(8, seed=3, keys=("imu", "depth"))
    b = render(8, seed=3, keys=("imu", "depth"), workers=2)
    for k in a.keys():
        np.testing.assert_array_equal(a.arrays[k], b.arrays[k])
    assert sorted(a.arrays["label"].tolist()) == list(range(len(EVENTS)))  # class-balanced
    assert a.arrays["imu"].shape == (8, 6, 2000) and a.arrays["depth"].shape == (8, 1, 224, 224)
    assert a.arrays["text"].shape == (8, 77)
    assert a.arrays["events"][np.arange(8), a.arrays["label"]].all()
    assert np.isfinite(a.arrays["imu"].astype(np.float32)).all()


def test_mcap_recording_gives_camera_paired_windows(tmp_path):
    pytest.importorskip("edgebind.sim")
    from edgebind.record import Recorder
    from edgebind.sim import World
    from edgebind.train.mcapdata import pairs_from_recordings

    world = World("default", seed=1, duration_s=3.0)
    path = tmp_path / "sim.mcap"
    with Recorder(path) as rec:
        for info in world.stream_infos:
            rec.add_stream(info)
        for s in world.samples():
            rec.write(s)
    ds = pairs_from_recordings([path], window_s=2.0, hop_s=0.5)
    # windows end every 0.5 s from t = 2 s to the end of the 3 s recording
    assert 2 <= len(ds) <= 3, (len(ds), ds.meta["skipped"])
    assert set(ds.keys()) == {"vision", "audio", "depth", "thermal", "imu"}
    assert ds.arrays["audio"].shape[1:] == (1, 128, 204)
    assert ds.arrays["imu"].shape[1:] == (6, 2000)
    assert json.dumps(ds.meta)  # plain JSON metadata
    with pytest.raises(ValueError, match="no complete paired windows"):
        pairs_from_recordings([path], window_s=10.0)


def test_world_windows_are_cut_like_the_pipeline_and_labelled():
    pytest.importorskip("edgebind.sim")
    from edgebind.sim import EVENTS, World
    from edgebind.sim.events import QUIET
    from edgebind.train.worlddata import world_windows

    ds = world_windows(1, 11, scenario="default", duration_s=12.0, difficulty=0.5, hop_s=1.0)
    # windows end every 1 s from t = 2 s (the first full 2 s window) to the world's end
    assert 10 <= len(ds) <= 11, len(ds)
    assert ds.arrays["vision"].shape[1:] == (3, 224, 224)
    assert ds.arrays["audio"].shape[1:] == (1, 128, 204)
    assert ds.arrays["imu"].shape[1:] == (6, 2000)
    for k in ("vision", "audio", "depth", "thermal", "imu"):
        assert np.isfinite(ds.arrays[k].astype(np.float32)).all(), k
    # labels follow the ground truth: an event is marked active exactly where it overlaps
    world = World("default", seed=11, duration_s=12.0, difficulty=0.5)
    ends = world.start_ns + np.arange(2, 2 + len(ds)) * 1_000_000_000
    for i, t1 in enumerate(ends):
        truth = world.labels_between(int(t1) - 2_000_000_000, int(t1))
        marked = {EVENTS[j] for j in np.flatnonzero(ds.arrays["events"][i])}
        assert marked == truth, (i, marked, truth)
        assert EVENTS[ds.arrays["label"][i]] in truth | {QUIET}
    # the same world again gives the same arrays (seeded, worker-independent)
    again = world_windows(1, 11, scenario="default", duration_s=12.0, difficulty=0.5, hop_s=1.0)
    np.testing.assert_array_equal(again.arrays["audio"], ds.arrays["audio"])
    with pytest.raises(ValueError, match="unknown scenario"):
        world_windows(1, 0, scenario="nowhere")
