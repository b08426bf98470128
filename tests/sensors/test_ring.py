"""RingBuffer: ordering, age/count bounds, queries against a brute-force model, threads."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebind.sensors.ring import RingBuffer

NS = 1_000_000_000


def test_age_and_count_bounds_are_counted():
    r = RingBuffer(max_age_s=1.0)
    for i in range(30):                       # 10 Hz for 3 s
        r.push(i * NS // 10, i)
    assert len(r) == 11                       # items within 1 s of the newest (2.9 s): 1.9..2.9
    assert r.oldest_t_ns == 19 * NS // 10 and r.newest_t_ns == 29 * NS // 10
    assert r.evicted == 19 and r.overflowed == 0
    c = RingBuffer(max_count=5)
    for i in range(12):
        c.push(i, i)
    assert [e.item for e in c.between(0, 100)] == [7, 8, 9, 10, 11]
    assert c.overflowed == 7


def test_out_of_order_items_are_inserted_sorted():
    r = RingBuffer()
    for t in (10, 30, 20, 5, 30, 25):
        r.push(t, t)
    assert [e.t_ns for e in r.between(0, 100)] == [5, 10, 20, 25, 30, 30]
    assert r.out_of_order == 3


def test_items_are_not_copied():
    import numpy as np
    r = RingBuffer()
    a = np.zeros(1000)
    r.push(1, a)
    assert r.between(0, 2)[0].item is a


def test_overlapping_uses_spans():
    r = RingBuffer()
    r.push(0, "a", end_ns=100)
    r.push(150, "b", end_ns=250)
    r.push(300, "c", end_ns=310)
    assert [e.item for e in r.overlapping(90, 160)] == ["a", "b"]
    assert [e.item for e in r.overlapping(101, 149)] == []
    assert [e.item for e in r.overlapping(240, 1000)] == ["b", "c"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_age_s"):
        RingBuffer(max_age_s=0)
    with pytest.raises(ValueError, match="max_count"):
        RingBuffer(max_count=0)
    with pytest.raises(ValueError, match="end_ns"):
        RingBuffer().push(10, "x", end_ns=5)


@settings(max_examples=60, deadline=None)
@given(ts=st.lists(st.integers(0, 10_000), min_size=1, max_size=200),
       max_age=st.integers(1, 5000), q=st.tuples(st.integers(-100, 10_100), st.integers(0, 3000)),
       tol=st.integers(0, 500))
def test_queries_match_brute_force(ts, max_age, q, tol):
    r = RingBuffer(max_age_s=max_age / NS)
    model: list[tuple[int, int]] = []
    for i, t in enumerate(ts):
        r.push(t, i)
        model.append((t, i))
        model.sort(key=lambda p: p[0])        # stable: equal times keep arrival order
        newest = model[-1][0]
        model = [p for p in model if p[0] >= newest - max_age]
    assert [(e.t_ns, e.item) for e in r.between(-1, 10**9)] == model
    t0, width = q
    assert [(e.t_ns, e.item) for e in r.between(t0, t0 + width)] == \
        [p for p in model if t0 <= p[0] < t0 + width]
    got = r.nearest(t0, tol)
    cands = [p for p in model if abs(p[0] - t0) <= tol]
    if not cands:
        assert got is None
    else:
        assert got is not None and abs(got.t_ns - t0) == min(abs(p[0] - t0) for p in cands)
    later = [p[0] for p in model if p[0] >= t0]
    assert r.next_start(t0) == (min(later) if later else None)


def test_concurrent_writers_and_reader():
    r = RingBuffer(max_count=100_000)
    errors = []

    def writer(k):
        for i in range(1000):
            r.push(i * 4 + k, (k, i))

    def reader():
        try:
            for _ in range(60):
                es = r.between(0, 10**9)
                assert all(a.t_ns <= b.t_ns for a, b in zip(es, es[1:]))
        except AssertionError as exc:      # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=reader))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    es = r.between(0, 10**9)
    assert len(es) == 4000 and [e.t_ns for e in es] == sorted(e.t_ns for e in es)
