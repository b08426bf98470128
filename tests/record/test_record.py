"""Recording round trip, power-loss truncation, bad files, CLI summary, Foxglove schema shape."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.record import Recorder, RecordingError, Sample, open_recording
from edgebind.record import schemas as S
from tests.conftest import REPO
from tests.record.helpers import INFOS, chunks, make_samples, same, write


@pytest.mark.parametrize("compression", ["zstd", "lz4", "none"])
def test_round_trip_bit_exact(tmp_path, compression):
    samples = make_samples()
    path = write(tmp_path / "r.mcap", samples, compression=compression, chunk_size=2048)
    with open_recording(path) as rec:
        got = list(rec.samples())
        assert rec.streams == {i.stream: i for i in INFOS}
        assert rec.calibration == {"imu0": {"bias": [0.1, 0.0, -0.2]}}
        s = rec.summary()
    order = sorted(samples, key=lambda x: x.t_ns)
    assert len(got) == len(order)
    assert all(same(a, b) for a, b in zip(got, order))
    assert s.complete and not s.skipped and s.truncated_at is None
    assert s.chunk_count > 1
    assert s.channels["imu0"].message_count == 6
    assert s.channels["cam0"].first_t_ns == samples[0].t_ns
    assert s.metadata["format"] == S.FORMAT and "wall_time_start" in s.metadata


def test_log_time_order_across_overlapping_chunks(tmp_path):
    # Streams delivered late (e.g. a buffered audio chunk) must still come out in time order.
    samples = make_samples(8)
    shuffled = samples[::2] + samples[1::2]
    path = write(tmp_path / "o.mcap", shuffled, chunk_size=1024)
    with open_recording(path) as rec:
        ts = [x.t_ns for x in rec.samples()]
    assert ts == sorted(ts) and len(ts) == len(samples)


def test_stream_filter_and_realtime_speed(tmp_path):
    import time
    samples = [Sample("imu0", "imu", 10**9 + k * 20_000_000, np.zeros((1, 6), np.float32),
                      row_t_ns=np.array([10**9 + k * 20_000_000])) for k in range(6)]
    with Recorder(tmp_path / "rt.mcap") as rec:
        rec.add_stream(INFOS[4])
        for s in samples:
            rec.write(s)
    with open_recording(tmp_path / "rt.mcap") as rec:
        assert list(rec.samples(streams=["cam0"])) == []
        t = time.monotonic()
        assert len(list(rec.samples(speed=2.0))) == 6  # 100 ms recorded -> ~50 ms
        assert time.monotonic() - t >= 0.045


# -- power loss ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    samples = make_samples(6, seed=1)
    path = write(tmp_path_factory.mktemp("trunc") / "full.mcap", samples, chunk_size=3000)
    data = path.read_bytes()
    by_key = {(s.stream, s.t_ns): s for s in samples}
    # Where each chunk ends and how many messages it holds, from the file's own summary.
    return data, by_key, [(c.end, c.messages) for c in chunks(path)]


def check_truncated(tmp_path: Path, recorded, cut: int) -> None:
    data, by_key, ends = recorded
    p = tmp_path / f"cut{cut}.mcap"
    p.write_bytes(data[:cut])
    if cut == 0:
        with pytest.raises(RecordingError, match="empty"):
            open_recording(p)
        return
    with open_recording(p) as rec:
        got = list(rec.samples())
        s = rec.summary()
    expected = sum(n for end, n in ends if end <= cut)
    assert len(got) == expected == s.message_count
    assert all(same(g, by_key[(g.stream, g.t_ns)]) for g in got)
    if cut < len(data):
        assert not s.complete and s.skipped and s.truncated_at == cut
    else:
        assert s.complete and not s.skipped


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frac=st.floats(0, 1))
def test_truncated_at_random_offsets(tmp_path, recorded, frac):
    check_truncated(tmp_path, recorded, int(frac * len(recorded[0])))


def test_truncated_at_every_offset_of_small_file(tmp_path):
    samples = [Sample("imu0", "imu", 5 + k, np.full((1, 6), k, np.float32),
                      row_t_ns=np.array([5 + k])) for k in range(4)]
    path = tmp_path / "small.mcap"
    with Recorder(path, compression="none", chunk_size=200) as rec:
        rec.add_stream(INFOS[4])
        for s in samples:
            rec.write(s)
    data = path.read_bytes()
    ends = [(c.end, c.messages) for c in chunks(path)]
    assert len(ends) > 1
    recorded = (data, {(s.stream, s.t_ns): s for s in samples}, ends)
    for cut in range(len(data) + 1):
        check_truncated(tmp_path, recorded, cut)


def test_corrupt_chunk_is_skipped_and_reported(tmp_path):
    samples = make_samples(6)
    path = write(tmp_path / "c.mcap", samples, compression="none", chunk_size=2000)
    unit = chunks(path)[2]
    data = bytearray(path.read_bytes())
    data[unit.end - 5] ^= 0xFF  # flip a byte inside the third chunk's records
    path.write_bytes(bytes(data))
    with open_recording(path) as rec:
        got = list(rec.samples())
        s = rec.summary()
    assert 0 < len(got) < len(samples)
    assert any("unreadable" in x for x in s.skipped)


# -- bad files -------------------------------------------------------------------------------

def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such recording"):
        open_recording(tmp_path / "missing.mcap")
    (tmp_path / "empty.mcap").write_bytes(b"")
    with pytest.raises(RecordingError, match="empty file"):
        open_recording(tmp_path / "empty.mcap")
    (tmp_path / "junk.mcap").write_bytes(b"GIF89a" + bytes(range(256)) * 4)
    with pytest.raises(RecordingError, match="not an MCAP file"):
        open_recording(tmp_path / "junk.mcap")


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="compression"):
        Recorder(tmp_path / "x.mcap", compression="gzip")
    with Recorder(tmp_path / "w.mcap") as rec:
        rec.add_stream(INFOS[0])
        with pytest.raises(ValueError, match="already registered"):
            rec.add_stream(INFOS[0])
        with pytest.raises(ValueError, match="not added"):
            rec.write(Sample("nope", "vision", 0, np.zeros((2, 2, 3), np.uint8)))
        with pytest.raises(ValueError, match="image data"):
            rec.write(Sample("cam0", "vision", 0, np.zeros((2, 2, 3), np.float64)))
    with pytest.raises(FileExistsError):
        Recorder(tmp_path / "w.mcap")


# -- CLI -------------------------------------------------------------------------------------

def test_cli_summary_json(tmp_path):
    samples = make_samples(3)
    path = write(tmp_path / "cli.mcap", samples)
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size - 100])
    for p, complete in ((path, True), (cut, False)):
        r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay", str(p), "--summary",
                            "--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout)
        assert d["complete"] is complete
        assert d["channels"]["mic0"]["message_count"] == 3
        assert d["channels"]["mic0"]["first_t_ns"] == samples[3].t_ns
        assert d["channels"]["mic0"]["last_t_ns"] == samples[-2].t_ns
        assert bool(d["skipped"]) is not complete
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay", str(path), "--speed",
                        "0", "--json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(samples)
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay",
                        str(tmp_path / "nope.mcap")], capture_output=True, text=True, cwd=REPO,
                       timeout=60)
    assert r.returncode == 1 and "no such recording" in r.stderr


# -- Foxglove compatibility ------------------------------------------------------------------

def test_image_schema_is_foxglove_raw_image(tmp_path):
    sch = S.SCHEMAS[S.RAW_IMAGE]
    props = sch["properties"]
    # Foxglove's RawImage fields, with bytes as base64 strings in its JSON encoding.
    for f in ("timestamp", "frame_id", "width", "height", "encoding", "step", "data"):
        assert f in props
    assert set(props["timestamp"]["properties"]) == {"sec", "nsec"}
    assert props["data"] == {**props["data"], "type": "string", "contentEncoding": "base64"}
    assert {"rgb8", "32FC1", "16UC1"} <= set(props["encoding"]["enum"])
    path = write(tmp_path / "fx.mcap", make_samples(1))
    from mcap.reader import make_reader
    with open(path, "rb") as f:
        reader = make_reader(f)  # the mcap package's own reader accepts the file
        msgs = {ch.topic: (sc, json.loads(m.data)) for sc, ch, m in reader.iter_messages()}
    sc, m = msgs["/cam0"]
    assert (sc.name, sc.encoding) == ("foxglove.RawImage", "jsonschema")
    assert m["encoding"] == "rgb8" and m["step"] == 8 * 3 and (m["width"], m["height"]) == (8, 6)
    assert m["timestamp"] == {"sec": 1000, "nsec": 0}
    assert len(__import__("base64").b64decode(m["data"])) == m["step"] * m["height"]
    _, d = msgs["/depth0"]
    assert d["encoding"] == "32FC1" and d["step"] == 8 * 4


def test_silent_stream_is_listed_with_zero_messages(tmp_path):
    # A stream that never delivered (unplugged all along) must show in the summary, not vanish.
    with Recorder(tmp_path / "s.mcap") as rec:
        rec.add_stream(INFOS[0])
        rec.add_stream(INFOS[4])
        rec.write(Sample("imu0", "imu", 7, np.zeros((1, 6), np.float32), row_t_ns=np.array([7])))
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay", str(tmp_path / "s.mcap"),
                        "--summary", "--json"], capture_output=True, text=True, cwd=REPO,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    ch = json.loads(r.stdout)["channels"]
    assert ch["cam0"]["message_count"] == 0 and ch["cam0"]["first_t_ns"] is None
    assert ch["cam0"]["schema"] == "foxglove.RawImage" and ch["cam0"]["modality"] == "vision"
    assert ch["imu0"]["message_count"] == 1 and ch["imu0"]["first_t_ns"] == 7
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "replay", str(tmp_path / "s.mcap"),
                        "--summary"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0 and "(no messages)" in r.stdout and "complete" in r.stdout


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                      min_size=1, max_size=6))
def test_fuzz_corrupted_bytes_never_crash_the_reader(tmp_path, recorded, flips):
    # Any byte anywhere may be damaged (bad flash, bit rot): the reader either refuses the file
    # with RecordingError, or opens it and yields only samples that were written, reporting
    # what it dropped. It never raises anything else, and never invents a sample.
    data, by_key, _ = recorded
    buf = bytearray(data)
    for frac, x in flips:
        buf[int(frac * len(buf))] ^= x
    p = tmp_path / "fuzz.mcap"
    p.write_bytes(bytes(buf))
    try:
        rec = open_recording(p)
    except RecordingError:
        return
    with rec:
        got = list(rec.samples())
        s = rec.summary()
        json.dumps(s.to_dict())                      # the --json summary always serialises
    for g in got:
        want = by_key.get((g.stream, g.t_ns))
        if want is not None and same(g, want):
            continue
        # A flip inside a payload of an uncompressed-but-CRC-less record could survive; the
        # recorder always writes chunk CRCs, so anything decoded must be what was written.
        raise AssertionError(f"invented or altered sample {g.stream} t={g.t_ns}")
    if len(got) < len(by_key):
        assert s.skipped, "samples were lost without a word"


def test_damaged_metadata_is_reported_never_applied(tmp_path):
    # Metadata records carry no CRC. A damaged calibration value must not be applied, and a
    # damaged stream info must not relabel a stream.
    path = write(tmp_path / "m.mcap", make_samples(2), compression="none")
    data = path.read_bytes()
    i = data.index(b'"bias": [0.1,')             # the profile text inside the metadata record
    bad = data[:i] + b'"bias": [0.7,' + data[i + 13:]
    j = bad.index(b'"modality": "imu"')           # the imu0 stream_info metadata record
    bad = bad[:j] + b'"modality": "ilu"' + bad[j + 17:]
    (tmp_path / "bad.mcap").write_bytes(bad)
    with open_recording(tmp_path / "bad.mcap") as rec:
        assert rec.calibration is None
        assert rec.streams["imu0"].modality == "imu"       # the channel's (CRC-checked) copy
        got = list(rec.samples())
        s = rec.summary()
    assert len(got) == 10 and {g.modality for g in got if g.stream == "imu0"} == {"imu"}
    assert any("calibration" in x and "sha256" in x for x in s.skipped)
    assert any("imu0" in x for x in s.skipped)            # reported: unknown modality 'ilu'
