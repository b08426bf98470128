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
