"""Stream config parsing: errors name the file, the table, the key and what was expected;
unknown keys get a suggestion; the parser never fails any other way (hypothesis)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.sensors import (KINDS, CameraSource, DepthSource, MicrophoneSource, StreamConfigError,
                              ThermalSource, load_stream_configs, open_source,
                              parse_stream_configs)
from edgebind.sensors.sources.imu import BridgeSource

SRC = "robot.toml"


def err(tables) -> str:
    with pytest.raises(StreamConfigError) as ei:
        parse_stream_configs(tables, SRC)
    return str(ei.value)


def test_valid_configs_open_the_right_sources(tmp_path):
    cfgs = parse_stream_configs([
        {"name": "cam0", "kind": "camera", "device": 0, "width": 640, "height": 480, "fps": 30},
        {"name": "csi", "kind": "camera", "csi_sensor": 1, "fps": 60, "flip_method": 2},
        {"name": "mic", "kind": "microphone", "device": "USB", "rate": 48000, "channels": 2,
         "block": 1024, "latency": "low"},
        {"name": "d", "kind": "depth", "path": "depth/%06d.png", "depth_scale": 0.001},
        {"name": "lepton", "kind": "thermal", "device": "/dev/video2", "width": 160,
         "height": 120},
        {"name": "imu", "kind": "imu", "port": "/dev/ttyACM0", "rate": 1000.0,
         "thermal_stream": "mlx"},
    ], SRC)
    assert [c.name for c in cfgs] == ["cam0", "csi", "mic", "d", "lepton", "imu"]
    assert cfgs[0].options == {"device": 0, "width": 640, "height": 480, "fps": 30.0}
    srcs = [open_source(c) for c in cfgs]
    assert [type(s) for s in srcs] == [CameraSource, CameraSource, MicrophoneSource, DepthSource,
                                       ThermalSource, BridgeSource]
    assert "nvarguscamerasrc sensor-id=1" in srcs[1].pipeline and "flip-method=2" in srcs[1].pipeline
    assert {i.stream for i in srcs[5].streams} == {"imu", "mlx"}
    assert srcs[0].streams[0].shape == (480, 640, 3)


@pytest.mark.parametrize("table, needles", [
    ({"name": "c", "kind": "camera", "device": 0, "fsp": 30},
     ["streams[0] (c)", "unknown key 'fsp'", "did you mean 'fps'"]),
    ({"name": "c", "kind": "camera", "device": 0, "fps": "fast"},
     ["key 'fps'", "a positive number", "'fast'"]),
    ({"name": "c", "kind": "camera", "device": 0, "width": True},
     ["key 'width'", "a positive integer"]),
    ({"name": "c", "kind": "camara", "device": 0}, ["key 'kind'", "did you mean 'camera'"]),
    ({"name": "c", "kind": ["camera"]}, ["key 'kind'", "got ['camera']"]),
    ({"name": "c\n", "kind": "sim"}, ["key 'name'"]),
    ({"name": "c", "kind": "camera"}, ["exactly one of 'device', 'path'"]),
    ({"name": "c", "kind": "camera", "device": 0, "path": "x.avi"}, ["got device, path"]),
    ({"kind": "camera", "device": 0}, ["streams[0]", "missing key 'name'"]),
    ({"name": "bad name!", "kind": "sim"}, ["key 'name'"]),
    ({"name": "m", "kind": "microphone", "rate": 0}, ["key 'rate'", "a positive integer"]),
    ({"name": "m", "kind": "microphone", "latency": "fast"}, ["'low', 'high'"]),
    ({"name": "t", "kind": "thermal", "port": "/dev/ttyACM0", "scale": 0.01},
     ["'scale' does not apply", "firmware-bridge"]),
    ({"name": "r", "kind": "replay", "path": "a.mcap", "loop": True}, ["rebase = true"]),
    ({"name": "s", "kind": "sim", "speed": -1}, ["key 'speed'", "a number >= 0"]),
    ({"name": "s", "kind": "sim", "streams": []}, ["key 'streams'", "non-empty list"]),
    ({"name": "i", "kind": "imu"}, ["needs key 'port'"]),
    ({"name": "d", "kind": "depth", "device": 0, "loop": True}, ["only apply to files"]),
])
def test_errors_name_file_key_and_expectation(table, needles):
    msg = err([table])
    assert msg.startswith(f"{SRC}: streams[0]")
    for n in needles:
        assert n in msg, msg


def test_structural_errors():
    assert "must be a list of tables" in err({"name": "x"})
    assert "streams[1]: expected a table" in err([{"name": "a", "kind": "sim"}, 3])
    msg = err([{"name": "a", "kind": "sim"}, {"name": "a", "kind": "sim"}])
    assert "streams[1] (a)" in msg and "already used by streams[0]" in msg
    msg = err([{"name": "mlx", "kind": "sim"},
               {"name": "imu", "kind": "imu", "port": "p", "thermal_stream": "mlx"}])
    assert "'mlx' is already used" in msg


def test_open_sources_refuses_clashing_stream_ids():
    pytest.importorskip("edgebind.sim")
    from edgebind.sensors import open_sources

    cfgs = parse_stream_configs([{"name": "camera", "kind": "camera", "device": 0},
                                 {"name": "world", "kind": "sim", "duration": 2.0}], SRC)
    with pytest.raises(StreamConfigError, match=r"streams\[1\] \(world\): produces stream 'camera'"):
        open_sources(cfgs)
    ok = parse_stream_configs([{"name": "camera", "kind": "camera", "device": 0},
                               {"name": "world", "kind": "sim", "duration": 2.0,
                                "streams": ["mic", "imu"]}], SRC)
    assert len(open_sources(ok)) == 2


def test_load_from_toml(tmp_path):
    p = tmp_path / "edgebind.toml"
    p.write_text('[[streams]]\nname = "cam"\nkind = "camera"\npath = "a.avi"\nfps = 12.5\n')
    (c,) = load_stream_configs(p)
    assert c.name == "cam" and c.options["fps"] == 12.5 and c.source == str(p)
    # A relative path is relative to the config file, whatever the working directory.
    assert c.options["path"] == str(tmp_path / "a.avi")
    (c,) = parse_stream_configs([{"name": "cam", "kind": "camera", "path": "v/a.avi"}], SRC)
    assert c.options["path"] == "v/a.avi"
    (c,) = parse_stream_configs([{"name": "r", "kind": "replay", "path": "~/r.mcap"}], SRC,
                                base_dir="/etc/edgebind")
    assert c.options["path"] == str(Path("~/r.mcap").expanduser())
    p.write_text('[[streams]]\nname = "cam"\nkind = "camera"\npath = "a.avi"\nfps = 12.5\nfsp = 1\n')
    with pytest.raises(StreamConfigError, match=r"edgebind.toml: streams\[0\] \(cam\): unknown key"):
        load_stream_configs(p)
    p.write_text("[[streams]\nname=")
    with pytest.raises(StreamConfigError, match="not valid TOML"):
        load_stream_configs(p)
    with pytest.raises(FileNotFoundError, match="no such config file"):
        load_stream_configs(tmp_path / "missing.toml")


_known_keys = sorted({k for keys in KINDS.values() for k in keys} | {"name", "kind", "queue_size"})
_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.lists(st.text(max_size=5), max_size=3),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_tables = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(_known_keys), st.text(max_size=8)), _values,
                    max_size=8),
    st.builds(lambda kind, name, extra: {"name": name, "kind": kind, **extra},
              st.sampled_from(sorted(KINDS)), st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
              st.dictionaries(st.sampled_from(_known_keys), _values, max_size=6)),
    _values,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_tables, max_size=4), _values))
def test_fuzz_parser_only_raises_clear_errors(tables):
    try:
        cfgs = parse_stream_configs(tables, SRC)
    except StreamConfigError as exc:
        assert str(exc).startswith(SRC + ":")
        return
    for c in cfgs:
        assert c.kind in KINDS and c.name
        for k in c.options:
            assert k in KINDS[c.kind] or k == "queue_size"
