"""SimSource beyond one World: no duration runs indefinitely (a chain of worlds with new seeds),
long durations are split into worlds of at most a segment, and only the current world is held."""
from __future__ import annotations

import gc

import numpy as np
import pytest

pytest.importorskip("edgebind.sim")

from edgebind.sensors import SimSource, open_source, parse_stream_configs  # noqa: E402
from edgebind.sensors.sources import simulated  # noqa: E402
from edgebind.sim import World  # noqa: E402


def _worlds_alive() -> int:
    gc.collect()
    return sum(isinstance(o, World) for o in gc.get_objects())


def test_no_duration_runs_on_through_many_worlds_with_bounded_state(monkeypatch):
    monkeypatch.setattr(simulated, "SEGMENT_S", 2.0)
    src = SimSource(scenario="overlap", seed=10, speed=0, streams=["imu"])
    assert src.duration_s is None and src.total_s is None
    seeds, t, alive = set(), [], 0
    for s in src.iter_samples(max_samples=40 * 12):     # 12 worlds of 2 s, 20 batches / s
        t.append(s.t_ns)
        seeds.add(src.world.seed)
        if len(t) % 40 == 0:
            alive = max(alive, _worlds_alive())
    assert seeds == set(range(10, 22))
    # One continuous 400 Hz stream across the joins, never more than the current world held
    # (plus the one the constructor built for the stream list, already gone).
    assert np.all(np.diff(t) == 50_000_000)
    assert alive == 1
    assert not src.health()["imu"].ended


def test_config_without_duration_is_endless_and_over_a_day_is_accepted():
    cfg = parse_stream_configs([{"name": "s", "kind": "sim", "speed": 0, "streams": ["mic"]}],
                               "t.toml")[0]
    src = open_source(cfg)
    assert src.total_s is None and src.segment_s <= simulated.SEGMENT_S
    week = SimSource(duration_s=7 * 86400.0, speed=0)
    assert week.total_s == 7 * 86400.0
    assert week.segment_s <= simulated.SEGMENT_S
    assert week.segment_s * round(week.total_s / week.segment_s) == pytest.approx(week.total_s)


def test_long_duration_is_split_into_equal_worlds_and_ends_on_time(monkeypatch):
    monkeypatch.setattr(simulated, "SEGMENT_S", 2.0)
    src = SimSource(scenario="quiet", seed=1, duration_s=5.0, speed=0, streams=["imu"])
    assert src.segment_s == pytest.approx(5.0 / 3)
    got = list(src.iter_samples(timeout_s=60))
    assert src.health()["imu"].ended and src.world.seed == 3
    t = np.array([s.t_ns for s in got])
    assert np.all(np.diff(t) > 0)
    assert 4.9e9 <= t[-1] + 50_000_000 - t[0] <= 5.1e9


def test_loop_keeps_its_run_length_and_never_ends(monkeypatch):
    src = SimSource(scenario="quiet", duration_s=0.5, speed=0, streams=["imu"], loop=True)
    got = list(src.iter_samples(max_samples=60))      # 3 runs of 10 batches... and more
    assert len(got) == 60 and src.world.seed == 5
    assert np.all(np.diff([s.t_ns for s in got]) == 50_000_000)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "10"])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="duration_s"):
        SimSource(duration_s=bad)


def test_endless_demo_repeats_every_minute():
    src = SimSource(scenario="demo", speed=0, streams=["imu"])
    assert src.total_s is None and src.segment_s == simulated.DEMO_SEGMENT_S
