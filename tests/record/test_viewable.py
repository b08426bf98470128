"""Recordings in Foxglove (format /2): optional rgb8 previews of depth and thermal, integer
audio sample_rate, REP 103/105 frame ids, wall-clock log times on request; files of format /1
still read. Inspected with the `mcap` package's own reader."""
from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
from mcap.reader import make_reader

from edgebind.record import Recorder, Sample, StreamInfo, open_recording
from edgebind.record import schemas as S
from tests.record.helpers import INFOS, make_samples, same, write


def _messages(path):
    with open(path, "rb") as f:
        return [(ch.topic, ch.metadata, m, json.loads(m.data))
                for _, ch, m in make_reader(f).iter_messages()]


def test_previews_are_extra_viewable_channels_that_readers_pass_by(tmp_path):
    samples = make_samples(4)
    plain = write(tmp_path / "plain.mcap", samples)
    viewed = write(tmp_path / "viewed.mcap", samples, previews=True)
    msgs = _messages(viewed)
    previews = [(t, md, d) for t, md, _, d in msgs if t.endswith("/preview")]
    assert {t for t, _, _ in previews} == {"/depth0/preview", "/therm0/preview"}
    for topic, md, d in previews:
        assert md == {S.PREVIEW_OF: topic.split("/")[1]}
        assert d["encoding"] == "rgb8" and d["step"] == d["width"] * 3
        rgb = np.frombuffer(base64.b64decode(d["data"]), np.uint8)
        assert rgb.size == d["width"] * d["height"] * 3 and len(set(rgb.tolist())) > 4
        assert d["meta"]["units"] in ("m", "K") and d["meta"]["range"][0] < d["meta"]["range"][1]
    with open_recording(plain) as a, open_recording(viewed) as b:
        assert a.streams == b.streams
        assert all(same(x, y) for x, y in zip(a.samples(), b.samples(), strict=True))
        assert not b.summary().skipped


def test_sample_rate_is_an_integer_and_frames_are_named_per_rep_103_105(tmp_path):
    path = write(tmp_path / "r.mcap", make_samples(2))
    by_topic = {t: d for t, _, _, d in _messages(path)}
    assert by_topic["/mic0"]["sample_rate"] == 16000 and isinstance(
        by_topic["/mic0"]["sample_rate"], int)
    assert S.SCHEMAS[S.AUDIO_CHUNK]["properties"]["sample_rate"]["type"] == "integer"
    assert by_topic["/cam0"]["frame_id"] == "cam0_optical_frame"
    assert by_topic["/depth0"]["frame_id"] == "depth0_optical_frame"
    assert by_topic["/imu0"]["frame_id"] == "imu0_link"
    named = StreamInfo("cam1", "vision", 30.0, (6, 8, 3), "RGB uint8", extra={"frame_id": "head"})
    assert S.frame_id_for(named) == "head"
    enc = S.SCHEMAS[S.RAW_IMAGE]["properties"]["encoding"]["description"]
    assert "16UC1 depth in millimetres" in enc and "REP 118" in enc


def test_wall_clock_log_times_keep_the_monotonic_time_in_publish_time(tmp_path):
    samples = make_samples(2)
    path = write(tmp_path / "w.mcap", samples, log_time="wall")
    with open_recording(path) as rec:
        md = rec.metadata
    assert md["format"] == S.FORMAT == "edgebind.recording/2" and md["log_time"] == "wall"
    offset = int(md["log_time_offset_ns"])
    assert abs(offset + time.monotonic_ns() - time.time_ns()) < 5e9
    want = {(s.stream, s.t_ns) for s in samples}
    for topic, _, m, _ in _messages(path):
        assert (topic[1:], m.publish_time) in want and m.log_time == m.publish_time + offset
    with open_recording(path) as rec:   # replay gives the samples' own (monotonic) times
        got = {(s.stream, s.t_ns) for s in rec.samples()}
        firsts = {c.first_t_ns for c in rec.summary().channels.values()}
    assert got == want and firsts <= {t for _, t in want}
    with pytest.raises(ValueError, match="log_time must be one of monotonic, wall"):
        Recorder(tmp_path / "x.mcap", log_time="utc")


def test_format_1_messages_still_decode():
    info = INFOS[3]
    old = {"timestamp": {"sec": 1, "nsec": 0}, "frame_id": "mic0", "format": "pcm-f32le",
           "sample_rate": 16000.0, "number_of_channels": 2, "frames": 1,
           "data": base64.b64encode(np.zeros(2, "<f4").tobytes()).decode()}
    s = S.decode(json.dumps(old).encode(), S.AUDIO_CHUNK, info, 10)
    assert s.data.shape == (1, 2) and "edgebind.recording/1" in S.FORMATS


def test_16uc1_depth_previews_as_millimetres(tmp_path):
    info = StreamInfo("d", "depth", 15.0, (4, 5), "mm")
    mm = np.arange(20, dtype=np.uint16).reshape(4, 5) * 100
    with Recorder(tmp_path / "d.mcap", previews=True) as rec:
        rec.add_stream(info)
        rec.write(Sample("d", "depth", 5, mm))
    d = [d for t, _, _, d in _messages(tmp_path / "d.mcap") if t == "/d/preview"][0]
    assert d["meta"]["range"] == [pytest.approx(0.1), pytest.approx(1.9)]
    rgb = np.frombuffer(base64.b64decode(d["data"]), np.uint8).reshape(4, 5, 3)
    assert (rgb[0, 0] == 0).all()                     # 0 mm = no reading: black
