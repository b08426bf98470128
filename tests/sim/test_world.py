"""World: streams, determinism, ordering, ground truth, scenarios, bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.sim import EVENTS, QUIET, SCENARIOS, World


def _collect(world: World, streams=None):
    return list(world.samples(streams))


def test_stream_infos_match_contract():
    infos = {i.stream: i for i in World("quiet", seed=1, duration_s=1.0).stream_infos}
    assert set(infos) == {"camera", "depth", "thermal", "mic", "imu"}
    assert infos["camera"].modality == "vision" and infos["camera"].rate_hz == 15.0
    assert infos["camera"].shape == (224, 224, 3)
    assert infos["depth"].shape == (224, 224) and infos["depth"].units == "m"
    assert infos["thermal"].rate_hz == 8.0 and infos["thermal"].shape == (120, 160)
    assert infos["mic"].rate_hz == 16000.0 and infos["imu"].rate_hz == 400.0


def test_shapes_dtypes_units_and_rates():
    samples = _collect(World("default", seed=3, duration_s=2.0))
    by = {}
    for s in samples:
        by.setdefault(s.stream, []).append(s)
    assert len(by["camera"]) == 30 and len(by["depth"]) == 30 and len(by["thermal"]) == 16
    assert len(by["mic"]) == 63 and len(by["imu"]) == 40        # 2 s / 32 ms, 2 s / 50 ms
    for s in by["camera"]:
        assert s.data.dtype == np.uint8 and s.data.shape == (224, 224, 3)
    for s in by["depth"]:
        d = s.data
        assert d.dtype == np.float32 and d.shape == (224, 224)
        assert np.all(np.isfinite(d)) and d.min() >= 0.0 and d.max() <= 8.0
        assert 0.0 < np.mean(d == 0) < 0.5       # some holes, mostly valid
    for s in by["thermal"]:
        t = s.data
        assert t.dtype == np.float32 and t.shape == (120, 160)
        assert 250.0 < float(np.median(t)) < 310.0 and t.max() < 700.0
    for s in by["mic"]:
        assert s.data.dtype == np.float32 and s.data.shape == (512, 1)
        assert np.all(np.abs(s.data) <= 1.0)
    for s in by["imu"]:
        assert s.data.dtype == np.float32 and s.data.shape == (20, 6)
        assert s.row_t_ns.dtype == np.int64 and s.row_t_ns[0] == s.t_ns
        assert np.all(np.diff(s.row_t_ns) == 2_500_000)
        g = np.linalg.norm(s.data[:, :3], axis=1)
        assert np.all(np.abs(g - 9.81) < 1.5)


def test_samples_time_ordered_and_within_duration():
    w = World("default", seed=5, duration_s=3.0, start_ns=10**12)
    ts = [s.t_ns for s in w.samples()]
    assert ts == sorted(ts)
    assert ts[0] == 10**12 and ts[-1] < 10**12 + 3 * 10**9


def test_deterministic_under_seed_and_differs_across_seeds():
    a = _collect(World("default", seed=11, duration_s=1.0))
    b = _collect(World("default", seed=11, duration_s=1.0))
    c = _collect(World("default", seed=12, duration_s=1.0))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.stream == y.stream and x.t_ns == y.t_ns
        assert np.array_equal(x.data, y.data)
    cams_a = [s.data for s in a if s.stream == "camera"]
    cams_c = [s.data for s in c if s.stream == "camera"]
    assert np.mean(np.abs(cams_a[0].astype(float) - cams_c[0].astype(float))) > 5.0


def test_stream_subset_matches_full_stream():
    full = [s for s in World("default", seed=2, duration_s=1.5).samples() if s.stream == "mic"]
    sub = list(World("default", seed=2, duration_s=1.5).samples(["mic"]))
    assert len(full) == len(sub)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(full, sub))


def test_timeline_and_label_at():
    w = World("default", seed=7, duration_s=120.0)
    tl = w.timeline
    assert {o.event for o in tl} == set(EVENTS) - {QUIET}
    assert [o.t_start_ns for o in tl] == sorted(o.t_start_ns for o in tl)
    for o in tl:
        assert o.t_end_ns > o.t_start_ns and o.caption
        mid = (o.t_start_ns + o.t_end_ns) // 2
        assert o.event in w.label_at(mid)
        assert o.event in w.label_at(o.t_start_ns)
    gaps = [t for t in range(0, 120 * 10**9, 10**8) if w.label_at(t) == {QUIET}]
    assert len(gaps) > 50      # quiet gaps exist
    # Overlap: some time has two labels.
    assert any(len(w.label_at(t)) > 1 for t in range(0, 120 * 10**9, 5 * 10**7))


def test_demo_scenario_each_event_once_well_separated():
    w = World("demo", seed=0, duration_s=60.0)
    tl = w.timeline
    assert sorted(o.event for o in tl) == sorted(set(EVENTS) - {QUIET})
    for a, b in zip(tl, tl[1:]):
        assert b.t_start_ns - a.t_end_ns >= 2 * 10**9


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_builds(name):
    w = World(name, seed=1, duration_s=30.0)
    events = {o.event for o in w.timeline}
    if name == "quiet":
        assert events == set()
    elif name in EVENTS:
        assert events == {name}
    for o in w.timeline:
        assert w.start_ns <= o.t_start_ns < o.t_end_ns <= w.end_ns


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        World("nope")
    with pytest.raises(ValueError, match="duration_s"):
        World(duration_s=-1)
    with pytest.raises(ValueError, match="duration_s"):
        World(duration_s=float("nan"))
    with pytest.raises(ValueError, match="seed"):
        World(seed="x")
    with pytest.raises(ValueError, match="at most 86400"):
        World(duration_s=10 * 86400)
    with pytest.raises(ValueError, match="start_ns"):
        World(start_ns=1.5)
    with pytest.raises(ValueError, match="demo"):
        World("demo", duration_s=5)
    with pytest.raises(ValueError, match="unknown sim stream 'lidar'"):
        next(World(duration_s=1).samples(["lidar"]))


def test_labels_between_and_quiet_scenario():
    w = World("dog_barking", seed=4, duration_s=30.0)
    o = w.timeline[0]
    assert w.labels_between(o.t_start_ns - 10**9, o.t_start_ns + 1) == {"dog_barking"}
    assert w.labels_between(w.start_ns, w.start_ns + 1) == ({"dog_barking"} if o.t_start_ns == w.start_ns
                                                            else {QUIET})
    q = World("quiet", seed=4, duration_s=5.0)
    assert q.timeline == [] and all(q.label_at(t) == {QUIET} for t in range(0, 5 * 10**9, 10**8))


def test_world_difficulty_validated_and_recorded():
    with pytest.raises(ValueError, match="difficulty"):
        World(difficulty=-1.0)
    info = World(seed=3, duration_s=1.0, difficulty=2.0).stream_infos[0]
    assert info.extra["difficulty"] == 2.0 and info.device == "sim:default:seed=3"


def test_world_frames_show_the_timeline():
    """Camera frames inside an occurrence differ from the quiet frames before it."""
    w = World("machine_running", seed=8, duration_s=20.0)
    o = w.timeline[0]
    cams = {s.t_ns: s.data.astype(np.int16) for s in w.samples(["camera"])}
    before = [cams[t] for t in cams if t < o.t_start_ns - 2 * 10**8][-2:]
    during = [cams[t] for t in cams if o.t_start_ns + 5 * 10**8 < t < o.t_end_ns][:2]
    assert len(before) == 2 and len(during) == 2
    quiet_change = np.mean(np.abs(before[0] - before[1]).max(axis=2) > 25)
    event_change = np.mean(np.abs(during[0] - before[1]).max(axis=2) > 25)
    assert event_change > 0.01 and event_change > 10 * quiet_change


def test_timeline_is_plain_data():
    import json
    w = World("default", seed=9, duration_s=60.0)
    back = json.loads(json.dumps([o.to_dict() for o in w.timeline]))
    assert [d["event"] for d in back] == [o.event for o in w.timeline]
    assert all(isinstance(d["params"]["seed"], int) for d in back)
