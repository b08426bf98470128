"""Property tests: arrival jitter, reordering and poll cadence never change the windows."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebind.sensors.windows import WindowAssembler
from tests.sensors.test_windows import INFOS, NS, assert_same, by_end, run, world

KW = dict(window_s=1.0, hop_s=0.25, frame_tolerance_s=0.1, lateness_s=0.3)
SAMPLES = world(3.0)
REFERENCE = by_end(run(WindowAssembler(INFOS, **KW), SAMPLES))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), max_delay_ms=st.integers(0, 190),
       poll_p=st.floats(0.05, 1.0), max_gap=st.integers(1, 20))
def test_bounded_arrival_delay_and_poll_cadence_do_not_change_windows(seed, max_delay_ms,
                                                                      poll_p, max_gap):
    # Each sample arrives up to max_delay late (< lateness - tolerance = 200 ms): windows must be
    # exactly those of in-order processing, however often poll() is called.
    rng = np.random.default_rng(seed)
    delay = rng.integers(0, max_delay_ms * 1_000_000 + 1, size=len(SAMPLES))
    order = np.argsort(np.array([s.t_ns for s in SAMPLES]) + delay, kind="stable")
    wa = WindowAssembler(INFOS, **KW)
    out, since = [], 0
    for i in order:
        wa.push(SAMPLES[i])
        since += 1
        if since >= max_gap or rng.random() < poll_p:
            out += wa.poll()
            since = 0
    out += wa.poll() + wa.flush()
    assert_same(REFERENCE, by_end(out))
    assert wa.stats["late"] == 0
    newest: dict[str, int] = {}
    inversions = 0
    for i in order:
        s = SAMPLES[i]
        inversions += s.t_ns < newest.get(s.stream, -1)
        newest[s.stream] = max(newest.get(s.stream, -1), s.t_ns)
    assert wa.stats["out_of_order"] == inversions


@settings(max_examples=25, deadline=None)
@given(shift_ms=st.integers(-2000, 2000), hop_ms=st.sampled_from([100, 250, 500, 1000]))
def test_window_ends_lie_on_the_hop_grid_and_cover_all_data(shift_ms, hop_ms):
    shift = shift_ms * 1_000_000
    samples = [type(s)(s.stream, s.modality, s.t_ns + shift, s.data, s.meta,
                       None if s.row_t_ns is None else s.row_t_ns + shift) for s in SAMPLES]
    hop = hop_ms * 1_000_000
    sets = run(WindowAssembler(INFOS, window_s=1.0, hop_s=hop_ms / 1000), samples)
    ends = [ws.t_end_ns for ws in sets]
    assert ends == sorted(set(ends)) and all(e % hop == 0 for e in ends)
    assert np.all(np.diff(ends) == hop)                 # no hole in a continuous recording
    first, last = samples[0].t_ns, samples[-1].t_ns
    assert ends[0] - 100_000_000 <= first + hop and ends[-1] > last - hop
    for ws in sets:
        for m, w in ws.windows.items():
            assert w.t_end_ns == ws.t_end_ns
            if m in ("vision", "thermal"):
                assert abs(w.meta["frame_t_ns"] - ws.t_end_ns) <= 100_000_000
        assert not (set(ws.windows) & set(ws.skipped))


_JUMPS = st.sampled_from([-86400, -3600, -10, 10, 3600, 86400])


@settings(max_examples=25, deadline=None)
@given(jumps=st.dictionaries(st.sampled_from([i.stream for i in INFOS]),
                             st.tuples(st.floats(0.2, 2.8), _JUMPS), max_size=4))
def test_any_clock_jumps_never_flood_or_mix_epochs(jumps):
    # Any subset of streams jumps (seconds to a day, either way) at any time. However the
    # timeline settles: no exception, no flood of windows across the gap, every window built
    # from one epoch, and each jumped stream's jump counted unless the timeline followed it.
    samples = []
    for s in SAMPLES:
        at, by = jumps.get(s.stream, (None, 0))
        if at is not None and s.t_ns >= SAMPLES[0].t_ns + at * NS:
            shift = by * NS
            s = type(s)(s.stream, s.modality, s.t_ns + shift, s.data, s.meta,
                        None if s.row_t_ns is None else s.row_t_ns + shift)
        samples.append(s)                  # delivered in true capture order
    wa = WindowAssembler(INFOS, **KW)
    sets = run(wa, samples)
    epochs = 1 + len({by for _, by in jumps.values()})
    assert len(sets) <= epochs * (3.0 / 0.25 + 2)
    assert wa.stats["timeline_resets"] <= epochs            # settles; never flip-flops
    for ws in sets:
        for m, w in ws.windows.items():
            assert abs(w.t_end_ns - ws.t_end_ns) == 0
            if m == "imu":
                assert w.timestamps_ns[-1] == ws.t_end_ns
            if m in ("vision", "thermal"):
                assert abs(w.meta["frame_t_ns"] - ws.t_end_ns) <= 100_000_000
    st_ = wa.stats
    assert st_["invalid"] == 0
    assert st_["clock_jumps"] + st_["timeline_resets"] >= (1 if jumps else 0)
