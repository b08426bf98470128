"""sample_clip: shapes, determinism, labels, non-triviality, bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.sim import CAPTIONS, EVENTS, QUIET, sample_clip


@pytest.mark.parametrize("event", EVENTS)
def test_clip_shapes_and_labels(event):
    c = sample_clip(np.random.default_rng(1), event, window_s=2.0, overlap_p=0.0)
    assert c.event == event and c.events == (event,) and c.caption in CAPTIONS[event]
    assert c.vision.dtype == np.uint8 and c.vision.shape == (224, 224, 3)
    assert c.depth.dtype == np.float32 and c.depth.shape == (224, 224) and c.depth.min() >= 0
    assert c.thermal.dtype == np.float32 and c.thermal.shape == (120, 160)
    assert c.audio.dtype == np.float32 and c.audio.shape == (32000,)
    assert np.abs(c.audio).max() <= 1.0
    assert c.imu.dtype == np.float32 and c.imu.shape == (800, 6)
    assert c.imu_t_ns.dtype == np.int64 and c.imu_t_ns[-1] == 2 * 10**9
    assert np.all(np.diff(c.imu_t_ns) == 2_500_000)


def test_clip_deterministic_under_seed():
    a = sample_clip(np.random.default_rng(42))
    b = sample_clip(np.random.default_rng(42))
    assert a.event == b.event and a.caption == b.caption
    for f in ("vision", "depth", "thermal", "audio", "imu", "imu_t_ns"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


def test_event_none_draws_all_events():
    rng = np.random.default_rng(0)
    seen = {sample_clip(rng, window_s=0.5).event for _ in range(40)}
    assert seen == set(EVENTS)


def test_overlap_adds_second_event_but_not_to_quiet():
    c = sample_clip(np.random.default_rng(3), "dog_barking", overlap_p=1.0)
    assert c.events[0] == "dog_barking" and len(c.events) == 2 and QUIET not in c.events
    q = sample_clip(np.random.default_rng(3), QUIET, overlap_p=1.0)
    assert q.events == (QUIET,)


def test_other_window_lengths():
    c = sample_clip(np.random.default_rng(0), "footsteps", window_s=5.0)
    assert c.audio.shape == (80000,) and c.imu.shape == (2000, 6)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown event 'explosion'"):
        sample_clip(rng, "explosion")
    with pytest.raises(ValueError, match="window_s"):
        sample_clip(rng, window_s=-1.0)
    with pytest.raises(ValueError, match="difficulty"):
        sample_clip(rng, difficulty=-0.5)
    with pytest.raises(ValueError, match="Generator"):
        sample_clip(0)


def test_overlapping_event_is_active_in_the_window():
    for seed in range(5):
        c = sample_clip(np.random.default_rng(seed), "machine_running", overlap_p=1.0)
        w_ns = int(c.window_s * 1e9)
        occ = {o["event"]: o for o in c.meta["occurrences"]}
        assert set(occ) == set(c.events)
        for o in occ.values():
            assert o["t_start_ns"] < w_ns and o["t_end_ns"] > 0
        # The clip's own event is active at the frame (the window's end).
        assert occ["machine_running"]["t_start_ns"] < w_ns <= occ["machine_running"]["t_end_ns"]


def test_difficulty_scales_nuisance():
    """Harder clips are noisier: quiet-room audio floor and camera noise go up."""
    def floor(d):
        vals = []
        for s in range(6):
            c = sample_clip(np.random.default_rng(s), QUIET, difficulty=d)
            vals.append(np.sqrt(np.mean(c.audio.astype(np.float64) ** 2)))
        return np.median(vals)
    assert floor(2.5) > 1.5 * floor(0.5)


def test_two_draws_of_an_event_differ():
    rng = np.random.default_rng(9)
    a, b = sample_clip(rng, "footsteps"), sample_clip(rng, "footsteps")
    assert np.mean(np.abs(a.vision.astype(float) - b.vision.astype(float))) > 10
    assert abs(np.corrcoef(a.audio, b.audio)[0, 1]) < 0.2
    assert np.abs(a.thermal - b.thermal).mean() > 0.5


def test_modalities_subset_is_the_same_clip():
    full = sample_clip(np.random.default_rng(5), "glass_breaking")
    part = sample_clip(np.random.default_rng(5), "glass_breaking", modalities=("vision", "imu"))
    assert part.depth is None and part.thermal is None and part.audio is None
    assert np.array_equal(full.vision, part.vision) and np.array_equal(full.imu, part.imu)
    assert full.caption == part.caption
    with pytest.raises(ValueError, match="unknown modality 'lidar'"):
        sample_clip(np.random.default_rng(5), modalities=("lidar",))
