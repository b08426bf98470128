"""The pipeline end to end on real parts: the simulated world (and its Source), the window
assembler, ONNX Runtime encoders of a bundle, the detector, and real sinks (files, TCP)."""
from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest

from edgebind.detect import Detector, DetectorConfig
from edgebind.pipeline import DropOldestQueue, Histogram, Pipeline, PipelineConfig
from edgebind.sample import Sample
from edgebind.sensors import SimSource
from edgebind.sim import World
from edgebind.sinks import CallbackSink, make_sink
from edgebind.space import SpaceMismatchError
from tests.conftest import wait_until


def always_on(anchor_set):
    # Every event anchor turns on at the first window and stays on: a known set of events
    # (one start each, one end each at the flush) whatever the model's similarities are.
    return Detector(anchor_set, DetectorConfig(threshold=-1.0, use_anchor_thresholds=False))


def test_drop_oldest_queue_counts_every_drop():
    q = DropOldestQueue(3)
    assert [q.put(i) for i in range(5)] == [0, 0, 0, 1, 1]
    assert q.dropped == 2 and len(q) == 3
    assert q.get_batch(10, timeout_s=0) == [2, 3, 4]          # the newest survive
    q.close()
    assert q.closed_and_empty and q.get_batch(1, timeout_s=0) == []
    with pytest.raises(ValueError):
        DropOldestQueue(0)


def test_histogram_is_cumulative_and_bounded():
    h = Histogram(buckets=(0.01, 0.1), recent=10)
    for v in [0.005] * 50 + [0.05] * 30 + [5.0] * 20:
        h.observe(v)
    snap = h.snapshot()
    assert snap["buckets"] == [(0.01, 50), (0.1, 80), (float("inf"), 100)]
    assert snap["count"] == 100 and snap["sum"] == pytest.approx(50 * 0.005 + 30 * 0.05 + 100)
    assert snap["p50"] == 5.0            # quantiles over the 10 most recent values only


def test_sync_end_to_end_to_jsonl_tcp_unix_and_callback(tmp_path, embedder, anchor_set):
    world = World("default", seed=0, duration_s=4.0)
    jsonl = make_sink({"kind": "jsonl", "path": str(tmp_path / "ev.jsonl")}, "test")
    tcp = make_sink({"kind": "tcp", "listen": "127.0.0.1:0"}, "test")
    got_cb: list[dict] = []
    cb = CallbackSink(got_cb.append)
    unix = make_sink({"kind": "unix", "path": str(tmp_path / "ev.sock")}, "test")
    client = socket.create_connection(tcp.address, timeout=5)
    uclient = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    uclient.connect(str(tmp_path / "ev.sock"))
    deadline = time.monotonic() + 5
    while (tcp.stats()["clients"] < 1 or unix.stats()["clients"] < 1) \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    objects = []
    windows = []
    pipe = Pipeline([], embedder, anchor_set, always_on(anchor_set), [jsonl, tcp, unix, cb],
                    stream_infos=world.stream_infos, on_event=objects.append,
                    on_window=windows.append)
    yielded = list(pipe.run_sync(world.samples()))
    pipe.close()
    n_targets = len(anchor_set.targets)
    assert [e.state for e in yielded].count("start") == n_targets
    assert [e.state for e in yielded].count("end") == n_targets
    assert [e.id for e in objects] == [e.id for e in yielded]
    want = [e.to_dict() for e in yielded]
    lines = [json.loads(x) for x in (tmp_path / "ev.jsonl").read_text().splitlines()]
    assert lines == want
    assert got_cb == want
    for c in (client, uclient):
        buf = b""
        c.settimeout(5)
        while buf.count(b"\n") < len(want):
            chunk = c.recv(65536)
            assert chunk, "socket sink closed before sending every event"
            buf += chunk
        c.close()
        assert [json.loads(x) for x in buf.splitlines()] == want
    assert all(d["schema"] == "edgebind.event/1" and d["space_id"] == embedder.space_id for d in want)
    # Windows every hop, in order, each with the modalities the bundle can embed.
    ends = [w.t_end_ns for w in windows]
    assert ends == sorted(ends) and len(set(np.diff(ends))) == 1
    assert {"vision", "audio"} <= set(windows[-1].modalities)
    m = pipe.metrics()
    assert m["windows_processed"] == m["windows_assembled"] == len(windows)
    assert m["windows_dropped"] == 0 and not m["errors"]
    for stage in ("end_to_end", "preprocess", "model", "detect"):
        assert m["latency"][stage]["count"] > 0


def test_sync_mode_is_deterministic(embedder, anchor_set):
    def once():
        world = World("default", seed=5, duration_s=3.0)
        scores = []
        pipe = Pipeline([], embedder, anchor_set, Detector(anchor_set, DetectorConfig()),
                        stream_infos=world.stream_infos,
                        on_window=lambda r: scores.append((r.t_end_ns, r.scores)))
        evs = [e.to_dict() for e in pipe.run_sync(world.samples())]
        return scores, [(e["name"], e["state"], e["start_ns"]) for e in evs]
    assert once() == once()


def test_stream_names_must_be_unique(embedder, anchor_set):
    world = World("default", seed=5, duration_s=3.0)
    twice = list(world.stream_infos) + [world.stream_infos[0]]
    with pytest.raises(ValueError, match=f"{twice[0].stream} appear more than once"):
        Pipeline([], embedder, anchor_set, Detector(anchor_set, DetectorConfig()),
                 stream_infos=twice)
    with pytest.raises(ValueError, match="appear more than once"):   # from the sources too
        Pipeline([SimSource(seed=1), SimSource(seed=2)], embedder,
                 anchor_set, Detector(anchor_set, DetectorConfig()))


def test_warmup_skips_the_first_windows_once(embedder, anchor_set):
    """By default nothing is scored before the longest model window (2 s) could be full, so
    frames alone never decide at start-up; warmup_s=0 scores from the first window."""
    def ends(**kw):
        world = World("default", seed=5, duration_s=4.0)
        got = []
        pipe = Pipeline([], embedder, anchor_set, Detector(anchor_set, DetectorConfig()),
                        config=PipelineConfig(**kw), stream_infos=world.stream_infos,
                        on_window=lambda r: got.append((r.t_end_ns - world.start_ns,
                                                        frozenset(r.modalities))))
        list(pipe.run_sync(world.samples()))
        return got, pipe.metrics()["windows_warmup"]
    all_windows, none_skipped = ends(warmup_s=0)
    warm, skipped = ends()
    assert none_skipped == 0 and skipped >= 3
    assert all_windows[skipped:] == warm
    assert min(t for t, _ in warm) >= 2_000_000_000
    assert all(set(m) >= {"audio", "imu"} for _, m in warm)
    assert any("audio" not in m for _, m in all_windows[:skipped])  # what the warm-up avoids


def test_live_threads_from_a_sim_source(embedder, anchor_set):
    src = SimSource(scenario="default", seed=1, duration_s=6.0, speed=1.0)
    events = []
    pipe = Pipeline([src], embedder, anchor_set, always_on(anchor_set),
                    on_event=events.append, config=PipelineConfig(queue_size=64))
    with pipe:
        deadline = time.monotonic() + 20
        while pipe.windows_done < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        h = pipe.health()
        assert h["worker"]["alive"]
        assert set(h["streams"]) == {i.stream for i in src.streams}
        assert h["streams"]["camera"]["state"] in ("ok", "degraded")
    m = pipe.metrics()
    assert m["windows_processed"] >= 2
    assert m["windows_assembled"] == m["windows_processed"] + m["windows_dropped"]
    assert sum(m["samples"].values()) > 0
    starts = [e for e in events if e.state == "start"]
    assert len(starts) == len(anchor_set.targets)
    assert len([e for e in events if e.state == "end"]) == len(starts)   # closed at shutdown
    # Live latency is measured from the window's end on the sensors' (monotonic) clock.
    assert m["latency"]["end_to_end"]["count"] == m["windows_processed"]
    assert 0 < m["latency"]["end_to_end"]["p50"] < 30


def test_overload_drops_the_oldest_windows_and_counts_them(embedder, anchor_set):
    # A source far faster than inference (the simulated world as fast as it renders; the
    # worker held up 0.4 s per window, like a model too big for the device) and a queue of
    # one: windows must be dropped, every one counted, and the newest always kept.
    src = SimSource(scenario="default", seed=2, duration_s=6.0, speed=0)
    ends = []

    def slow(r):
        ends.append(r.t_end_ns)
        time.sleep(0.4)
    pipe = Pipeline([src], embedder, anchor_set, Detector(anchor_set, DetectorConfig()),
                    config=PipelineConfig(queue_size=1, max_batch=1, hop_s=0.25),
                    on_window=slow)
    pipe.start()
    deadline = time.monotonic() + 60
    while pipe.health()["streams"]["camera"].get("ended") is not True and time.monotonic() < deadline:
        time.sleep(0.05)
    pipe.close(drain=True)
    m = pipe.metrics()
    assert m["windows_dropped"] > 0
    assert m["windows_assembled"] == m["windows_processed"] + m["windows_dropped"]
    assert len(ends) == m["windows_processed"] and ends == sorted(ends)
    assert pipe.health()["queue"]["dropped"] == m["windows_dropped"]


def test_anchors_from_another_space_are_refused(embedder, anchor_set, assets_paths, tmp_path):
    from edgebind.anchors import AnchorSet
    d = json.loads(assets_paths[1].read_text())
    d["space_id"] = "ebs1-00000000000000000000"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(d))
    with pytest.raises(SpaceMismatchError):
        AnchorSet.load(other, space_id=embedder.space_id)
    foreign = AnchorSet.load(other)
    with pytest.raises(SpaceMismatchError, match="embedding spaces differ"):
        Pipeline([], embedder, foreign, stream_infos=World("default", duration_s=1).stream_infos)
    with pytest.raises(SpaceMismatchError):
        Pipeline.from_files(assets_paths[0], other, [SimSource(duration_s=1.0, speed=0)])
    pipe = Pipeline([], embedder, anchor_set, stream_infos=World("default", duration_s=1).stream_infos)
    with pytest.raises(SpaceMismatchError):
        pipe.reload(anchor_set=foreign)


def test_bad_samples_and_windows_are_counted_not_fatal(embedder, anchor_set):
    world = World("default", seed=3, duration_s=6.0)

    def spoiled():
        for s in world.samples():
            if s.stream == "imu" and 1e9 < s.t_ns < 3e9:
                s = Sample(s.stream, s.modality, s.t_ns, np.full_like(s.data, np.nan), s.meta,
                           s.row_t_ns)
            if s.stream == "camera" and 2e9 < s.t_ns < 2.2e9:
                s = Sample(s.stream, s.modality, s.t_ns, np.zeros((3, 3), np.float64), s.meta)
            yield s
    pipe = Pipeline([], embedder, anchor_set, always_on(anchor_set),
                    stream_infos=world.stream_infos)
    events = list(pipe.run_sync(spoiled()))
    m = pipe.metrics()
    assert m["windows_processed"] == m["windows_assembled"] > 4
    assert events, "the other modalities still drive detection"
    bad = m["assembler"].get("invalid", 0) + sum(m["errors"].values()) + sum(m["sample_errors"].values())
    assert bad > 0, m


def test_reload_swaps_thresholds_and_sinks_while_running(embedder, anchor_set):
    # A source that outlasts any wait below (the pipeline stops it on leaving the block), so a
    # busy machine delays the windows but never ends the stream before the reload is seen.
    src = SimSource(scenario="default", seed=4, duration_s=120.0, speed=2.0)
    first, second = [], []
    s1, s2 = CallbackSink(first.append), CallbackSink(second.append)
    pipe = Pipeline([src], embedder, anchor_set, Detector(anchor_set, DetectorConfig()), [s1])
    with pipe:
        assert wait_until(lambda: pipe.windows_done >= 1, timeout=60)
        done_before = pipe.windows_done
        replaced = pipe.reload(thresholds={a.name: -1.0 for a in anchor_set.targets}, sinks=[s2])
        assert replaced == [s1]
        s1.close()
        assert wait_until(lambda: pipe.windows_done >= done_before + 2, timeout=60)
    # With every level at -1 each anchor is on after the reload: started now (to the new sink)
    # or already on before it (an interval the old sink saw start).
    started = {e["name"] for e in first + second if e["state"] == "start"}
    assert started == {a.name for a in anchor_set.targets}
    assert any(e["state"] == "start" for e in second)
    assert pipe.detector.thresholds == {a.name: -1.0 for a in anchor_set.targets}
    assert src.health()  # the source ran throughout: one pipeline, never restarted
    assert pipe.metrics()["samples"]["camera"] > 0


def test_config_validation():
    for bad in (dict(hop_s=0), dict(queue_size=0), dict(max_batch=1.5), dict(lateness_s=-1),
                dict(warmup_s=-0.5)):
        with pytest.raises(ValueError, match="PipelineConfig"):
            PipelineConfig(**bad).validate()


def test_missing_tower_is_a_clear_error(embedder, anchor_set):
    infos = World("default", duration_s=1).stream_infos
    with pytest.raises(ValueError, match="no .*tower"):
        Pipeline([], embedder, anchor_set, stream_infos=infos,
                 config=PipelineConfig(modalities=("vision", "text2")))


def test_profile_corrections_and_thresholds(embedder, anchor_set):
    from edgebind.profile import AudioCalibration, Profile, StreamCalibration, ThermalCalibration
    world = World("default", seed=6, duration_s=3.0)
    name = anchor_set.targets[0].name
    profile = Profile(device="bench", streams={
        "mic": StreamCalibration(audio=AudioCalibration(gain_db=20.0)),
        "thermal": StreamCalibration(thermal=ThermalCalibration(gain=1.0, offset=5.0))},
        thresholds={name: 0.9})
    pipe = Pipeline([], embedder, anchor_set, profile=profile, stream_infos=world.stream_infos)
    plain = Pipeline([], embedder, anchor_set, stream_infos=world.stream_infos)
    assert pipe.detector.thresholds == {name: 0.9}
    for s in world.samples():
        pipe.assembler.push(s)
        plain.assembler.push(s)
    got, want = pipe.assembler.flush()[-1].windows, plain.assembler.flush()[-1].windows
    np.testing.assert_allclose(got["thermal"].data, want["thermal"].data + 5.0, rtol=1e-6)
    np.testing.assert_allclose(got["audio"].data, np.clip(want["audio"].data * 10.0, -1, 1),
                               rtol=1e-5, atol=1e-7)
    # A profile that does not fit the streams is refused up front, naming the stream.
    bad = Profile(streams={"camera": StreamCalibration(audio=AudioCalibration(gain_db=3.0))})
    with pytest.raises(ValueError, match="camera"):
        Pipeline([], embedder, anchor_set, profile=bad, stream_infos=world.stream_infos)
