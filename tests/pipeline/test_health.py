"""Pipeline health tells the truth: a stuck worker, a bundle that fails every window, a dead
windows thread, an assembler that fails every poll and a stream whose frames are mostly refused
all show in ``health()`` (and in ``progressing()``, which the systemd watchdog follows), on a
live pipeline over the simulated world and the real ONNX Runtime encoders."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from edgebind.daemon.health import prometheus_text
from edgebind.pipeline import Pipeline, PipelineConfig
from edgebind.sensors import SimSource
from tests.conftest import wait_until
from tests.pipeline.test_pipeline import always_on

# Stall detection is generous (at least liveness.MIN_STALL_S): waits here are long, not tight.
WAIT_S = 90


class Gated:
    """The real embedder behind a gate: ``block()`` makes the next inference hang (a worker stuck
    in inference), ``fail(exc)`` makes every inference raise (a broken bundle)."""

    def __init__(self, inner):
        self._inner = inner
        self._open = threading.Event()
        self._open.set()
        self.failure: Exception | None = None
        self.entered = threading.Event()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def block(self):
        self.entered.clear()
        self._open.clear()

    def release(self):
        self._open.set()

    def embed_batch(self, modality, x, **kw):
        self.entered.set()
        self._open.wait()
        if self.failure is not None:
            raise self.failure
        return self._inner.embed_batch(modality, x, **kw)


def live(embedder, anchor_set, **cfg):
    src = SimSource(scenario="default", seed=4, duration_s=600.0, speed=1.0)
    cfg.setdefault("warmup_s", 0.0)
    return Pipeline([src], embedder, anchor_set, always_on(anchor_set),
                    config=PipelineConfig(hop_s=0.25, **cfg))


def failing_because(pipe, words: str) -> bool:
    h = pipe.health()
    return h["status"] == "failing" and any(words in r for r in h["reasons"])


def test_a_stuck_worker_turns_health_failing_and_stops_progress(embedder, anchor_set):
    gated = Gated(embedder)
    pipe = live(gated, anchor_set)
    with pipe:
        assert wait_until(lambda: pipe.windows_done >= 2, WAIT_S)
        assert pipe.progressing()
        gated.block()
        assert gated.entered.wait(WAIT_S)                     # the worker is now stuck
        assert wait_until(lambda: failing_because(pipe, "no window embedded"), WAIT_S), \
            pipe.health()
        h = pipe.health()
        assert h["threads"] == {"worker": True, "windows": True}   # alive, yet stuck
        assert not pipe.progressing()
        gated.release()
        assert wait_until(pipe.progressing, WAIT_S)
        assert wait_until(lambda: not any("no window embedded" in r
                                          for r in pipe.health()["reasons"]), WAIT_S)


def test_a_bundle_failing_every_window_is_reported_not_ok(embedder, anchor_set):
    # As a bundle whose manifest's embed_dim disagrees with its ONNX outputs did: every window
    # fails in the encoder and nothing is ever scored.
    gated = Gated(embedder)
    gated.failure = ValueError("output has 128 values, the manifest says embed_dim 7")
    pipe = live(gated, anchor_set)
    with pipe:
        assert wait_until(lambda: failing_because(pipe, "no window embedded"), WAIT_S), \
            pipe.health()
        h = pipe.health()
        assert any("failed to embed" in r for r in h["reasons"]), h["reasons"]
        assert any("had no embedding" in r for r in h["reasons"]), h["reasons"]
        assert h["progress"]["last_embedded_s_ago"] is None
        assert not pipe.progressing()


def test_a_dead_windows_thread_turns_health_failing(embedder, anchor_set):
    pipe = live(embedder, anchor_set)
    # What poll_interval_s = 1e300 did before configs were range-checked: Event.wait raises
    # OverflowError and the windows thread dies while the worker lives on.
    pipe.config.poll_interval_s = 1e300
    with pipe:
        assert wait_until(lambda: failing_because(pipe, "windows thread died"), WAIT_S), \
            pipe.health()
        h = pipe.health()
        assert h["threads"] == {"worker": True, "windows": False}
        assert any("OverflowError" in r for r in h["reasons"])
        assert not pipe.progressing()


def test_an_assembler_failing_every_poll_turns_health_failing(embedder, anchor_set):
    from edgebind.sensors.windows import WindowAssembler
    pipe = live(embedder, anchor_set)
    # hop_s = 1e-300 is refused by PipelineConfig now; the assembler itself still takes it and
    # then divides by its zero-length hop on every poll.
    pipe._assembler = WindowAssembler(pipe.stream_infos, window_s=pipe.window_s, hop_s=1e-300)
    with pipe:
        assert wait_until(lambda: failing_because(pipe, "no window embedded"), WAIT_S), \
            pipe.health()
        assert pipe.health()["errors"].get("assemble", 0) > 0


class Corrupting:
    """A real source whose camera frames are mostly broken (one channel, not RGB) on the way
    to the pipeline, as a misconfigured capture would deliver them."""

    def __init__(self, inner, stream: str, share: float):
        self.inner, self.stream, self.share = inner, stream, share
        self.rng = np.random.default_rng(0)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def start(self, on_sample):
        def deliver(s):
            if s.stream == self.stream and self.rng.random() < self.share:
                s = dataclasses.replace(s, data=s.data[..., :1])
            on_sample(s)
        self.inner.start(deliver)


def test_a_stream_with_most_frames_refused_is_degraded_and_counted(embedder, anchor_set):
    src = Corrupting(SimSource(scenario="default", seed=4, duration_s=600.0, speed=1.0),
                     "camera", 0.6)
    pipe = Pipeline([src], embedder, anchor_set, always_on(anchor_set),
                    config=PipelineConfig(hop_s=0.25, warmup_s=0.0))
    with pipe:
        assert wait_until(lambda: pipe.health()["streams"]["camera"]["refused"] >= 10, WAIT_S)
        assert wait_until(lambda: pipe.health()["streams"]["camera"]["state"] == "degraded",
                          WAIT_S), pipe.health()["streams"]["camera"]
        h = pipe.health()
        assert h["status"] == "degraded", h["reasons"]
        assert any(r.startswith("stream camera:") and "refused" in r for r in h["reasons"])
        assert h["streams"]["mic"]["refused"] == 0
        m = pipe.metrics()
        assert m["sample_errors"]["camera"] >= 10 and "mic" not in m["sample_errors"]
        text = prometheus_text(m, h)
        assert 'edgebind_sample_errors_total{stream="camera"}' in text


@pytest.mark.parametrize("key, value", [
    ("window_s", 1e300), ("lateness_s", 1e300), ("hop_s", 1e-300), ("poll_interval_s", 1e300),
    ("frame_tolerance_s", 1e9), ("warmup_s", -1.0), ("queue_size", 10**400), ("max_batch", 0),
    ("stall_hops", 0), ("hop_s", 10**400), ("window_s", float("nan")),
])
def test_config_values_out_of_their_sane_range_are_refused(key, value):
    with pytest.raises(ValueError, match=f"PipelineConfig.{key}: expected"):
        PipelineConfig(**{key: value}).validate()


def test_progress_rules_on_explicit_times():
    from edgebind.pipeline.liveness import Progress
    p = Progress(stall_s=1.0, grace_s=2.0)          # at least MIN_STALL_S = 5 s
    p.reset(0.0)
    assert p.stall_s == 5.0
    p.polled(30.0)
    assert p.stalled(30.0) is None                   # no samples at all: the sensors' problem
    p.sample(10.0)
    p.sample(16.9)
    p.polled(16.9)
    assert p.stalled(16.9) is None                   # within grace (2 s) + stall (5 s)
    p.sample(17.5)
    p.polled(17.5)
    assert "no window embedded" in p.stalled(17.5)
    p.embedded(18.0, batch_s=3.0)                    # a slow device: 3 s per batch
    assert p.stall_s == 12.0
    p.sample(29.0)
    p.polled(29.0)
    assert p.stalled(29.0) is None                   # 11 s without progress: not yet
    p.sample(30.5)
    p.polled(30.5)
    assert "for 12 s" in p.stalled(30.5)
    p.embedded(31.0, 0.1)
    assert p.stalled(31.0) is None
    assert "has not polled" in p.stalled(31.0 + 13)  # the windows thread hung


def test_recent_counts_are_deltas_over_the_horizon():
    from edgebind.pipeline.liveness import Recent
    r = Recent(horizon_s=10.0, min_gap_s=1.0)
    r.add({"a": 5}, now=0.0)
    assert r.delta() == {"a": 5}                     # one snapshot: everything so far
    r.add({"a": 7}, now=0.5)                         # within min_gap: refreshes the newest
    r.add({"a": 9}, now=5.0)
    assert r.delta() == {"a": 2}
    r.add({"a": 20, "b": 1}, now=16.0)
    r.add({"a": 21, "b": 1}, now=17.0)
    assert r.delta() == {"a": 12, "b": 1}            # base: the newest snapshot >= 10 s old
