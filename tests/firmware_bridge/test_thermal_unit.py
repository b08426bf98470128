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
