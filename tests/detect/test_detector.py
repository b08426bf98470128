"""Detector behaviour on synthetic embeddings whose cosines to the anchors are known exactly."""
from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from edgebind.anchors import Anchor, AnchorSet
from edgebind.detect import Detector, DetectorConfig, Event, event_json_schema
from edgebind.space import SpaceMismatchError

D = 16
SPACE = "ebs1-test000000000000001"
HOP = 500_000_000          # 0.5 s between window ends


def basis(i: int) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = 1.0
    return v


def make_set(space: str = SPACE, thresholds=(None, None)) -> AnchorSet:
    return AnchorSet(space_id=space, dim=D, anchors=[
        Anchor("glass", {"default": basis(0)}, threshold=thresholds[0]),
        Anchor("dog", {"default": basis(1)}, threshold=thresholds[1]),
        Anchor("quiet", {"default": basis(2)}, background=True),
    ])


def emb(*coords: float) -> np.ndarray:
    """An embedding whose cosine to anchor i is coords[i] (the rest of its norm on axis 15)."""
    v = np.zeros(D)
    v[:len(coords)] = coords
    rest = 1.0 - float(np.sum(np.square(coords)))
    assert rest >= 0
    v[-1] = math.sqrt(rest)
    return v * 3.7           # scale must not matter (ImageBind's logit-scaled outputs)


def run(det: Detector, seq, modality="audio", start=0):
    """Feed one window per value of ``seq`` (cosines to glass, dog, quiet); returns events."""
    out = []
    for k, coords in enumerate(seq):
        t_end = start + (k + 4) * HOP
        coords = coords if isinstance(coords, tuple) else (coords,)
        out += det.update(t_end - 4 * HOP, t_end, {modality: emb(*coords)}, streams=("mic",))
    return out


def cfg(**kw) -> DetectorConfig:
    base = dict(smoothing="none", threshold=0.5, hysteresis=0.0)
    base.update(kw)
    return DetectorConfig(**base)


def summary(events):
    return [(e.name, e.state, (e.t_ns // HOP) - 4) for e in events]


def test_hysteresis_keeps_an_event_on_between_the_levels():
    seq = [0.2, 0.55, 0.45, 0.42, 0.38, 0.2, 0.55]
    with_h = run(Detector(make_set(), cfg(hysteresis=0.1)), seq)
    assert summary(with_h) == [("glass", "start", 1), ("glass", "end", 4), ("glass", "start", 6)]
    without = run(Detector(make_set(), cfg(hysteresis=0.0)), seq)
    assert summary(without) == [("glass", "start", 1), ("glass", "end", 2), ("glass", "start", 6)]
    end = with_h[1]
    assert end.start_ns == with_h[0].start_ns == 5 * HOP and end.end_ns == 8 * HOP
    assert end.score == pytest.approx(0.55) and end.duration_s == pytest.approx(1.5)
    assert with_h[0].id == end.id != with_h[2].id


def test_minimum_duration_suppresses_blips_and_dates_the_start_at_the_onset():
    seq = [0.1, 0.7, 0.1, 0.1, 0.7, 0.7, 0.7, 0.7, 0.1]
    events = run(Detector(make_set(), cfg(min_duration_s=1.0)), seq)
    assert summary(events) == [("glass", "start", 6), ("glass", "end", 8)]
    assert events[0].start_ns == 8 * HOP          # onset: window 4, decided at window 6


def test_refractory_period_blocks_retriggering():
    seq = [0.7, 0.1, 0.7, 0.1, 0.1, 0.1, 0.7, 0.1]
    events = run(Detector(make_set(), cfg(refractory_s=2.0)), seq)
    assert summary(events) == [("glass", "start", 0), ("glass", "end", 1),
                               ("glass", "start", 6), ("glass", "end", 7)]
    no_refractory = run(Detector(make_set(), cfg()), seq)
    assert len(no_refractory) == 6


@pytest.mark.parametrize("smoothing,kw", [("ema", {"ema_alpha": 0.3}), ("mean", {"mean_windows": 4})])
def test_smoothing_ignores_a_one_window_spike_but_follows_a_sustained_rise(smoothing, kw):
    spike = [0.1, 0.1, 0.9, 0.1, 0.1]
    assert run(Detector(make_set(), cfg(smoothing=smoothing, **kw)), spike) == []
    assert run(Detector(make_set(), cfg(smoothing="none")), spike) != []
    sustained = [0.1] + [0.9] * 6
    events = run(Detector(make_set(), cfg(smoothing=smoothing, **kw)), sustained)
    assert [e.state for e in events] == ["start"]


def test_margin_over_background_needs_a_lead_over_the_best_background_anchor():
    close = [(0.6, 0.0, 0.58)] * 3         # glass high, but the background is as high
    clear = [(0.6, 0.0, 0.1)] * 3
    thr = cfg(decision="threshold")
    assert summary(run(Detector(make_set(), thr), close)) == [("glass", "start", 0)]
    mar = cfg(decision="margin", margin=0.1)
    assert run(Detector(make_set(), mar), close) == []
    ev = run(Detector(make_set(), mar), clear)
    assert summary(ev) == [("glass", "start", 0)]
    assert ev[0].score == pytest.approx(0.5) and ev[0].similarity == pytest.approx(0.6)
    assert ev[0].threshold == pytest.approx(0.1) and ev[0].decision == "margin"


def test_softmax_against_background_only():
    det = Detector(make_set(), cfg(decision="softmax", temperature=0.1, probability=0.6))
    run(det, [(0.5, 0.3, 0.4)])
    p_glass = math.exp(5) / (math.exp(5) + math.exp(4))
    p_dog = math.exp(3) / (math.exp(3) + math.exp(4))
    assert det.scores == pytest.approx({"glass": p_glass, "dog": p_dog})
    assert det.active == ("glass",)          # targets do not compete with each other


def test_weighted_fusion_with_per_event_modality_weights():
    anchors = make_set()
    emb_a, emb_v = emb(0.8, 0.0, 0.0), emb(0.0, 0.0, 0.0)
    det = Detector(anchors, cfg())
    ev = det.update(0, HOP, {"audio": emb_a, "vision": emb_v}, streams=("mic", "camera"))
    assert ev == [] and det.similarities["glass"] == pytest.approx(0.4)
    det = Detector(anchors, cfg(anchor_modality_weights={"glass": {"vision": 0.0}}))
    ev = det.update(0, HOP, {"audio": emb_a, "vision": emb_v}, streams=("mic", "camera"))
    assert [e.name for e in ev] == ["glass"]
    assert ev[0].similarity == pytest.approx(0.8)
    assert ev[0].evidence == pytest.approx({"audio": 0.8, "vision": 0.0})
    assert ev[0].streams == ("mic", "camera")
    # dog keeps the default equal weights
    assert det.similarities["dog"] == pytest.approx(0.0)


def test_embedding_sum_fusion_is_the_cosine_of_the_summed_unit_embeddings():
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal(D), rng.standard_normal(D)
    det = Detector(make_set(), cfg(fusion="embedding_sum", modality_weights={"vision": 0.5}))
    det.update(0, HOP, {"audio": a * 10, "vision": v})
    s = a / np.linalg.norm(a) + 0.5 * v / np.linalg.norm(v)
    s /= np.linalg.norm(s)
    assert det.similarities == pytest.approx({"glass": s[0], "dog": s[1], "quiet": s[2]}, abs=1e-6)


def test_per_modality_anchor_embeddings_are_used_for_their_modality():
    aset = AnchorSet(space_id=SPACE, dim=D, anchors=[
        Anchor("glass", {"default": basis(0), "audio": basis(3)})])
    det = Detector(aset, cfg())
    det.update(0, HOP, {"audio": basis(3), "vision": basis(3)})
    assert det.frame.evidence["audio"]["glass"] == pytest.approx(1.0)
    assert det.frame.evidence["vision"]["glass"] == pytest.approx(0.0)


def test_thresholds_precedence_profile_then_anchor_file_then_default():
    aset = make_set(thresholds=(0.3, None))
    det = Detector(aset, cfg(threshold=0.5))
    assert det.levels == {"glass": 0.3, "dog": 0.5}
    det = Detector(aset, cfg(threshold=0.5), thresholds={"glass": 0.8, "dog": 0.2, "unknown": 0.1})
    assert det.levels == {"glass": 0.8, "dog": 0.2}
    assert summary(run(det, [(0.7, 0.25)])) == [("dog", "start", 0)]
    with pytest.raises(ValueError, match="threshold for 'glass'"):
        Detector(aset, cfg(), thresholds={"glass": float("nan")})


@pytest.mark.parametrize("bad,match", [
    ({"audio": np.full(D, np.nan)}, "NaN"),
    ({"audio": np.ones(D + 1)}, r"shape \(17,\).*expected \(16,\)"),
    ({"audio": np.zeros(D)}, "all zeros"),
    ({"smell": np.ones(D)}, "unknown modality 'smell'"),
    ({}, "no embeddings"),
    ({"audio": np.array(["a"] * D)}, "dtype"),
])
def test_bad_embeddings_are_refused_without_touching_state(bad, match):
    det = Detector(make_set(), cfg())
    run(det, [0.7])
    assert det.active == ("glass",)
    frame = det.frame
    with pytest.raises(ValueError, match=match):
        det.update(10 * HOP, 11 * HOP, bad)
    assert det.frame is frame and det.active == ("glass",) and det.windows == 1
    assert summary(run(det, [0.1], start=10 * HOP)) == [("glass", "end", 10)]


def test_windows_out_of_order_are_refused():
    det = Detector(make_set(), cfg())
    det.update(0, 10 * HOP, {"audio": emb(0.1)})
    with pytest.raises(ValueError, match="time order"):
        det.update(0, 9 * HOP, {"audio": emb(0.1)})
    with pytest.raises(ValueError, match="before it starts"):
        det.update(12 * HOP, 11 * HOP, {"audio": emb(0.1)})


def test_instant_mode_reports_each_onset_once():
    events = run(Detector(make_set(), cfg(events="instant")), [0.7, 0.7, 0.1, 0.7])
    assert summary(events) == [("glass", "instant", 0), ("glass", "instant", 3)]


def test_flush_and_reload():
    det = Detector(make_set(), cfg())
    run(det, [(0.7, 0.7)])
    assert set(det.active) == {"glass", "dog"}
    smaller = AnchorSet(space_id=SPACE, dim=D, anchors=[Anchor("glass", {"default": basis(0)})])
    ended = det.reload(anchor_set=smaller, t_ns=99)
    assert [(e.name, e.state, e.end_ns) for e in ended] == [("dog", "end", 99)]
    assert det.active == ("glass",)          # kept its state across the reload
    with pytest.raises(SpaceMismatchError):
        det.reload(anchor_set=make_set(space="ebs1-other0000000000000"))
    with pytest.raises(ValueError, match="threshold for 'glass'"):   # a bad reload changes nothing
        det.reload(anchor_set=make_set(), thresholds={"glass": "high"})
    assert det.anchor_set is smaller and det.active == ("glass",)
    det.reload(thresholds={"glass": 0.9})
    assert det.levels == {"glass": 0.9}
    flushed = det.flush()
    assert [(e.name, e.state) for e in flushed] == [("glass", "end")] and det.active == ()


def test_detector_refuses_anchors_from_another_space():
    with pytest.raises(SpaceMismatchError, match="embedding spaces differ"):
        Detector(make_set(), cfg(), space_id="ebs1-different000000000")


# -- event records ---------------------------------------------------------------------------
def _validate(instance, schema, path="event"):
    """A small JSON-Schema subset (type, const, enum, required, properties, additionalProperties,
    items): enough for edgebind.event/1 without a jsonschema dependency."""
    types = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
             "null": type(None), "boolean": bool}
    if "const" in schema:
        assert instance == schema["const"], path
    if "enum" in schema:
        assert instance in schema["enum"], path
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert any(isinstance(instance, types[t]) and not (t in ("integer", "number")
                   and isinstance(instance, bool)) for t in ts), (path, instance, ts)
    if isinstance(instance, dict):
        for k in schema.get("required", []):
            assert k in instance, f"{path}.{k} missing"
        props = schema.get("properties", {})
        for k, v in instance.items():
            if k in props:
                _validate(v, props[k], f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{path}.{k} not allowed by the schema")
            elif isinstance(schema.get("additionalProperties"), dict):
                _validate(v, schema["additionalProperties"], f"{path}.{k}")
    if isinstance(instance, list) and "items" in schema:
        for i, v in enumerate(instance):
            _validate(v, schema["items"], f"{path}[{i}]")


def test_events_serialise_to_the_versioned_schema_with_wall_time():
    wall0 = 1_767_225_600_000_000_000      # 2026-01-01T00:00:00Z
    det = Detector(make_set(), cfg(), clock=lambda: (100 * HOP, wall0))
    events = run(det, [0.7, 0.7, 0.1])
    schema = event_json_schema()
    assert schema["properties"]["schema"]["const"] == "edgebind.event/1"
    start, end = (json.loads(json.dumps(e.to_dict(), allow_nan=False)) for e in events)
    for d in (start, end):
        _validate(d, schema)
        assert d["schema"] == "edgebind.event/1" and d["space_id"] == SPACE
    assert start["state"] == "start" and start["end_ns"] is None and start["end_time"] is None
    assert end["state"] == "end" and end["end_ns"] - end["start_ns"] == 2 * HOP
    # window end 4*HOP is 96 hops (48 s) before the clock's reference instant
    assert start["start_time"] == "2025-12-31T23:59:12.000Z"
    parsed = dt.datetime.fromisoformat(end["end_time"].replace("Z", "+00:00"))
    assert parsed == dt.datetime(2025, 12, 31, 23, 59, 13, tzinfo=dt.timezone.utc)
    assert start["evidence"] == {"audio": pytest.approx(0.7)}
    # non-finite numbers never reach JSON
    e = Event("x", "start", 0, None, 0, float("nan"), 0.5, "threshold", {"audio": float("inf")},
              (), SPACE, 1)
    d = e.to_dict()
    assert d["score"] is None and d["evidence"]["audio"] is None
    _validate(d, schema)


@pytest.mark.parametrize("table,match", [
    ({"decision": "vote"}, r"\[detector\]: key 'decision': expected one of"),
    ({"threshold": "high"}, r"key 'threshold': expected a number"),
    ({"hysteresis": -0.1}, r"key 'hysteresis'"),
    ({"mean_windows": 0}, r"key 'mean_windows'"),
    ({"modality_weights": {"smell": 1.0}}, r"'smell' is not a modality"),
    ({"anchor_modality_weights": {"glass": {"audio": -1}}}, r"anchor_modality_weights.glass'.audio"),
    ({"treshold": 0.3}, r"unknown key\(s\) treshold"),
])
def test_detector_config_errors_name_the_key(table, match):
    with pytest.raises(ValueError, match=match):
        DetectorConfig.from_dict(table, "[detector]")


def test_detector_config_from_toml_table():
    c = DetectorConfig.from_dict({"decision": "margin", "margin": 0, "min_duration_s": 1,
                                  "modality_weights": {"audio": 2}}, "edgebind.toml [detector]")
    assert c.decision == "margin" and c.margin == 0.0 and isinstance(c.min_duration_s, float)
    assert DetectorConfig.from_dict(c.to_dict()) == c
