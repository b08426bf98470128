"""Thresholds from background scores meet the false-alarm target on held-out background."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.calibration import thresholds as th

HOP = 0.5


def background(hours: float, seed: int, a: float = 0.9) -> np.ndarray:
    """Correlated background scores (AR(1), as smoothed detector scores are)."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / HOP)
    e = rng.standard_normal(n) * np.sqrt(1 - a * a)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    return 0.1 + 0.05 * x


def test_alarm_curve_matches_brute_force():
    s = background(0.5, 0)
    s[100:110] = np.nan
    for gap in (1, 4):
        cand, counts = th.alarm_curve([s[:1800], s[1800:]], gap)
        for t in cand[::97]:
            brute = th.alarm_count(s[:1800], t, gap) + th.alarm_count(s[1800:], t, gap)
            assert counts[np.searchsorted(cand, t)] == brute
    assert th.alarm_count(np.array([0, 1, 1, 0, 1, 0, 0, 0, 1.0]), 0.5) == 3
    assert th.alarm_count(np.array([0, 1, 1, 0, 1, 0, 0, 0, 1.0]), 0.5, gap=2) == 2


@pytest.mark.parametrize("target", [0.5, 2.0])
def test_target_rate_met_on_held_out_background(target):
    for seed in range(4):
        cal = background(10, 100 + seed)
        held = background(10, 200 + seed)
        ch = th.threshold_for_rate([cal], 10.0, target, confidence=0.95)
        assert not ch.limited_by_data
        assert ch.rate_per_hour <= target
        assert th.alarm_count(held, ch.threshold) / 10.0 <= target
        # Not trivially safe: a slightly lower threshold would alarm more than allowed.
        assert th.alarm_count(cal, ch.threshold - 0.01) > ch.allowed


def test_short_background_sets_threshold_above_everything():
    s = background(0.1, 5)
    ch = th.threshold_for_rate([s], 0.1, 1.0)
    assert ch.allowed == -1 and ch.limited_by_data and ch.threshold > s.max()


def test_pr_curve_orders_sensibly():
    bg = background(2, 7)
    pos = np.array([0.5, 0.45, 0.3, 0.2, 0.12])
    pc = th.pr_curve(pos, [bg], 2.0)
    assert pc.recall[0] == 1.0 and pc.recall[-1] == pytest.approx(0.2)
    assert np.all(np.diff(pc.recall) <= 0)
    assert pc.precision[-1] == 1.0 and pc.false_alarms_per_hour[-1] == 0


def test_scores_file_validation(tmp_path):
    f = tmp_path / "s.npz"
    np.savez(f, anchors=np.array(["a", "b"]), hop_s=0.5, background=np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"expected \(windows, 2\)"):
        th.load_scores_file(f)
    np.savez(f, anchors=np.array(["a"]), background=np.zeros(10))
    with pytest.raises(ValueError, match="hop_s"):
        th.load_scores_file(f)
    (tmp_path / "junk.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="cannot read"):
        th.load_scores_file(tmp_path / "junk.npz")
