"""Fuzzing the detector's inputs: config tables and window embeddings. Bad input is a ValueError,
never another exception, and never changes the detector's state."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgebind.anchors import Anchor, AnchorSet
from edgebind.detect import Detector, DetectorConfig

D = 8
ASET = AnchorSet(space_id="ebs1-fuzz", dim=D, anchors=[
    Anchor("a", {"default": np.eye(D)[0]}), Anchor("b", {"default": np.eye(D)[1], "audio": np.eye(D)[2]}),
    Anchor("bg", {"default": np.eye(D)[3]}, background=True)])

values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=6),
                   st.lists(st.floats(), max_size=3), st.dictionaries(st.text(max_size=6), st.floats(), max_size=2))
keys = st.sampled_from(["decision", "fusion", "threshold", "margin", "probability", "temperature",
                        "hysteresis", "smoothing", "ema_alpha", "mean_windows", "min_duration_s",
                        "refractory_s", "events", "modality_weights", "anchor_modality_weights",
                        "use_anchor_thresholds", "bogus"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_config_tables(table):
    try:
        cfg = DetectorConfig.from_dict(table, "T")
    except ValueError as exc:
        assert str(exc).startswith("T: ")
    else:
        Detector(ASET, cfg).update(0, 1, {"audio": np.ones(D)})


arrays = st.one_of(
    hnp.arrays(np.float64, st.integers(0, D + 2), elements=st.floats(allow_nan=True, allow_infinity=True)),
    hnp.arrays(np.float32, (D,), elements=st.floats(-1e3, 1e3, width=32)),
    hnp.arrays(np.float64, (1, D), elements=st.floats(-10, 10)),
    hnp.arrays(np.int64, (D,), elements=st.integers(-5, 5)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["audio", "vision", "imu", "text", "smell"]), arrays, max_size=3))
def test_window_embeddings(embs):
    det = Detector(ASET, DetectorConfig(smoothing="none", threshold=0.5))
    det.update(0, 10, {"audio": np.eye(D)[2] + np.eye(D)[0]})
    before = (det.frame, det.active, det.windows)
    try:
        det.update(10, 20, embs)
    except ValueError:
        assert (det.frame, det.active, det.windows) == before
    else:
        assert det.windows == 2
        assert all(np.isfinite(v) or np.isnan(v) for v in det.scores.values())
