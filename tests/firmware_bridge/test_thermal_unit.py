"""Thermal reassembly: a missing fragment drops only its frame."""
from __future__ import annotations

import numpy as np

from edgebind.firmware_bridge import ThermalAssembler, ThermalFragment
from edgebind.firmware_bridge.protocol import THERMAL_MAX_PIXELS


def _fragments(frame_id, w=160, h=120):
    px = (np.arange(w * h) % 5000 + 29000 + frame_id).astype(np.uint16)
    n = -(-w * h // THERMAL_MAX_PIXELS)
    return px, [
        ThermalFragment(frame_id * 1000, frame_id, w, h, i, n, i * THERMAL_MAX_PIXELS, 0.01, 0.0,
                        px[i * THERMAL_MAX_PIXELS:(i + 1) * THERMAL_MAX_PIXELS])
        for i in range(n)
    ]


def test_missing_fragment_drops_only_that_frame():
    asm = ThermalAssembler()
    delivered = []
    for fid in range(1, 6):
        px, frags = _fragments(fid)
        assert len(frags) == 39
        if fid == 3:
            del frags[17]
        for f in frags:
            out = asm.add(f)
            if out is not None:
                delivered.append(out)
                assert out.kelvin.shape == (120, 160) and out.kelvin.dtype == np.float32
                np.testing.assert_array_equal(out.raw.ravel(), px)
                np.testing.assert_allclose(out.kelvin.ravel(), px * np.float32(0.01), rtol=1e-6)
    assert [f.frame_id for f in delivered] == [1, 2, 4, 5]
    assert asm.stats.frames_dropped == 1 and asm.dropped_ids == [3]


def test_small_frame_two_fragments():
    asm = ThermalAssembler()
    _, frags = _fragments(9, 32, 24)
    assert len(frags) == 2 and asm.add(frags[0]) is None
    assert asm.add(frags[1]).frame_id == 9


def test_incomplete_frame_is_given_up_after_two_seconds():
    """PROTOCOL.md §3 (0x11): a frame incomplete for 2 s is dropped even if no newer frame comes;
    fragments of it that arrive later do not start a frame that could never complete."""
    asm = ThermalAssembler()
    _, frags = _fragments(1, 32, 24)
    assert asm.add(frags[0], now_ns=0) is None
    assert not asm.expire(2_000_000_000) and asm.stats.frames_dropped == 0  # 2 s: not yet
    assert asm.expire(2_000_000_001)
    s = asm.stats
    assert (s.frames_dropped, s.frames_timed_out, asm.dropped_ids) == (1, 1, [1])
    assert asm.add(frags[1], now_ns=3_000_000_000) is None and s.fragments_late == 1
    assert not asm.expire(10_000_000_000) and s.frames_dropped == 1
    px, frags2 = _fragments(2, 32, 24)
    assert asm.add(frags2[0], now_ns=11_000_000_000) is None
    out = asm.add(frags2[1], now_ns=12_900_000_000)  # 1.9 s after its first fragment: in time
    assert out is not None and out.frame_id == 2
    np.testing.assert_array_equal(out.raw.ravel(), px)


def test_add_applies_the_timeout_itself():
    asm = ThermalAssembler(timeout_s=0.5)
    _, frags = _fragments(4, 32, 24)
    asm.add(frags[0], now_ns=0)
    assert asm.add(frags[1], now_ns=600_000_000) is None  # too late: frame 4 was given up
    assert asm.stats.frames_timed_out == 1 and asm.stats.frames_complete == 0
    asm.reset()  # after a reconnect frame ids may repeat: 4 is a new frame again
    asm.add(frags[0], now_ns=700_000_000)
    assert asm.add(frags[1], now_ns=800_000_000).frame_id == 4
