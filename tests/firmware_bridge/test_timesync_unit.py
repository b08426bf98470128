"""ClockEstimator on synthetic exchanges: offset, drift, queueing noise, clock jumps."""
from __future__ import annotations

import numpy as np

from edgebind.firmware_bridge import ClockEstimator, SyncExchange


def _exchanges(n, drift_ppm, offset_us, period_s=0.1, seed=0, start_ns=10**12):
    rng = np.random.default_rng(seed)
    k = 1 + drift_ppm * 1e-6
    out = []
    for i in range(n):
        t1 = start_ns + int(i * period_s * 1e9)
        up = 40_000 + rng.exponential(200_000 if rng.random() < 0.5 else 5_000)  # ns, queueing
        down = 40_000 + rng.exponential(200_000 if rng.random() < 0.5 else 5_000)
        proc = 20_000
        t2 = int(((t1 + up) / 1000 + offset_us) * k)
        t3 = int(((t1 + up + proc) / 1000 + offset_us) * k)
        t4 = int(t1 + up + proc + down)
        out.append(SyncExchange(t1, t2, t3, t4))
    return out


def test_estimates_offset_and_drift():
    est = ClockEstimator()
    ex = _exchanges(120, drift_ppm=100, offset_us=10_000)
    for e in ex:
        m = est.add(e)
    assert m is not None and m.synced
    assert abs(m.drift_ppm - 100) < 5
    # map a device time back to the host and compare with the model's truth
    k = 1 + 100e-6
    host_true = ex[-1].t1_ns + 50_000_000
    dev = (host_true / 1000 + 10_000) * k
    assert abs(m.to_host_ns(dev) - host_true) < 100_000  # 0.1 ms
    assert m.error_ns < 1_000_000
    arr = m.to_host_ns(np.array([dev, dev + 1000]))
    assert arr.dtype == np.int64 and arr[1] - arr[0] == round(1000 * m.ns_per_us)


def test_rejects_nonsense_and_resets_on_jump():
    est = ClockEstimator()
    assert est.add(SyncExchange(100, 5, 5, 50)) is None and est.rejected == 1
    for e in _exchanges(30, 0, 0):
        est.add(e)
    before = est.mapping
    for e in _exchanges(5, 0, 5_000_000, start_ns=before.host_ref_ns + 10**9):  # device rebooted
        est.add(e)
    assert est.resets == 1 and est.exchanges == 5


def test_seed_is_unsynced():
    est = ClockEstimator()
    m = est.seed(1000, 5_000_000)
    assert not m.synced and m.to_host_ns(1001) == 5_001_000
