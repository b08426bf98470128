"""Hostile config and data files: nested 100,000 deep, numbers of 400 or 4,301 digits, a 200-byte
``.npy`` declaring 100000 x 100000. Every loader answers with its own error naming the file (and
the key where there is one), never RecursionError, OverflowError, TypeError, the digit-limit
ValueError or MemoryError. The shared parsers are fuzzed with hypothesis."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgebind.anchors import AnchorSet, AnchorSetError, build_anchor_set, load_prompts
from edgebind.daemon.config import ConfigError, load_config
from edgebind.detect.config import DetectorConfigError
from edgebind.detect.tune import load_tuned
from edgebind.errors import EdgeBindError
from edgebind.fileio import load_npy, parse_json, parse_toml
from edgebind.profile import SCHEMA as PROFILE_SCHEMA
from edgebind.profile import Profile, ProfileError
from edgebind.sensors.config import StreamConfigError, load_stream_configs
from tests.conftest import REPO

DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
BIG = "1" + "0" * 400            # a float cannot hold it
HUGE = "1" * 4301                # past Python's integer-string digit limit
STREAM = '[[streams]]\nname = "s"\nkind = "sim"\n'
PROFILE_TOML = f'schema = "{PROFILE_SCHEMA}"\ndevice = "r"\n'
TUNED = '{"format": "edgebind.detector/1", "detector": {}, "thresholds": {"glass": %s}}'


def npy_bomb(path) -> None:
    """A valid .npy header declaring 100000 x 100000 float64, and 64 bytes of data."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    header += " " * (117 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
                     + b"\0" * 64)
    assert path.stat().st_size < 256


LOADERS = {
    "daemon": (load_config, ConfigError),
    "profile": (Profile.load, ProfileError),
    "anchors": (AnchorSet.load, AnchorSetError),
    "prompts": (load_prompts, AnchorSetError),
    "tuned": (load_tuned, DetectorConfigError),
    "streams": (load_stream_configs, StreamConfigError),
}

CASES = [
    # (loader, file name, text, words the message must hold besides the file name)
    ("daemon", "edgebind.toml", DEEP_TOML, ["nested too deeply"]),
    ("daemon", "edgebind.toml", STREAM + f"[thresholds]\nglass = {BIG}\n",
     ["thresholds.glass", "401 digits"]),
    ("daemon", "edgebind.toml", STREAM + f"threads = {HUGE}\n", ["too many digits"]),
    ("daemon", "edgebind.toml", STREAM + f"[windows]\nhop_s = {BIG}\n", ["windows.hop_s"]),
    ("daemon", "edgebind.toml", STREAM + "[thresholds]\nglass = 1e308\n",
     ["thresholds.glass", "[-1, 1]"]),
    ("profile", "p.json", DEEP_JSON, ["nested too deeply"]),
    ("profile", "p.toml", DEEP_TOML, ["nested too deeply"]),
    ("profile", "p.toml", PROFILE_TOML + f"[thresholds]\nglass = {BIG}\n", ["thresholds.glass"]),
    ("profile", "p.json", json.dumps({"schema": PROFILE_SCHEMA, "device": "r"})[:-1]
     + f', "thresholds": {{"glass": {HUGE}}}}}', ["too many digits"]),
    ("profile", "p.toml", PROFILE_TOML + "[thresholds]\nglass = -1e308\n",
     ["thresholds.glass", "[-2.0, 2.0]"]),
    ("profile", "p.toml", PROFILE_TOML + "[streams.t.thermal]\ngain = 0\n",
     ["streams.t.thermal", "gain must be > 0"]),
    ("anchors", "a.json", DEEP_JSON, ["nested too deeply"]),
    ("anchors", "a.json", '{"schema": "edgebind.anchors/1", "dim": %s}' % HUGE,
     ["too many digits"]),
    ("anchors", "a.json", '{"schema": "edgebind.anchors/1", "space_id": "ebs1-x", "dim": 4, '
     '"anchors": []}', ["'anchors'", "at least one anchor"]),
    ("prompts", "prompts.toml", DEEP_TOML, ["nested too deeply"]),
    ("tuned", "detector.json", DEEP_JSON, ["nested too deeply"]),
    ("tuned", "detector.json", TUNED % BIG, ["thresholds.glass", "401 digits"]),
    ("tuned", "detector.json", TUNED % HUGE, ["too many digits"]),
    ("tuned", "detector.json", TUNED % "1e308", ["thresholds.glass", "[-1, 1]"]),
    ("streams", "streams.toml", DEEP_TOML, ["nested too deeply"]),
    ("streams", "streams.toml", STREAM + f"duration = {BIG}\n", ["duration"]),
    ("streams", "streams.toml", STREAM + "speed = 1e300\n", ["speed", "up to 1000"]),
]


@pytest.mark.parametrize("loader, name, text, words", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_hostile_files_get_a_clear_error_naming_the_file(tmp_path, loader, name, text, words):
    load, error = LOADERS[loader]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(error) as info:
        load(path)
    msg = str(info.value)
    assert isinstance(info.value, EdgeBindError)
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, msg
    assert len(msg) < 400, msg             # never the 4,301 digits back


def test_a_profile_sidecar_declaring_100000_squared_is_refused(tmp_path):
    npy_bomb(tmp_path / "p.t.thermal_gain.npy")
    path = tmp_path / "p.toml"
    path.write_text(PROFILE_TOML + '[streams.t.thermal]\ngain = "p.t.thermal_gain.npy"\n')
    with pytest.raises(ProfileError, match=r"streams\.t\.thermal\.gain.*declares 80000000000 "
                                           r"bytes"):
        Profile.load(path)


def test_example_embeddings_declaring_100000_squared_are_refused(tmp_path):
    npy_bomb(tmp_path / "fall.npy")
    (tmp_path / "prompts.toml").write_text('[[anchor]]\nname = "fall"\nexamples = {imu = '
                                           '"fall.npy"}\n')
    prompts = load_prompts(tmp_path / "prompts.toml")
    with pytest.raises(AnchorSetError, match=r"examples\.imu.*fall\.npy.*declares"):
        build_anchor_set(prompts, None, "ebs1-x", 4)


def test_the_cli_reports_a_deep_config_in_one_line(tmp_path):
    cfg = tmp_path / "deep.toml"
    cfg.write_text(DEEP_TOML)
    r = subprocess.run([sys.executable, "-m", "edgebind.cli", "run", "--check", "--config",
                        str(cfg)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 1
    assert r.stderr.strip() == f"edgebind run: error: {cfg}: invalid TOML: nested too deeply"


# -- the shared parsers, fuzzed ----------------------------------------------------------------
class Oops(EdgeBindError, ValueError):
    pass


documents = st.one_of(
    st.text(max_size=200),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(4000, 5000).map(lambda n: "x = " + "7" * n),
    st.integers(4000, 5000).map(lambda n: "7" * n),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.booleans())
def test_parsers_answer_a_value_or_their_error(text, as_bytes):
    for parse in (parse_json, parse_toml):
        try:
            parse(text.encode("utf-8", "surrogatepass") if as_bytes else text, "f.x", Oops)
        except Oops as exc:
            assert str(exc).startswith("f.x: ")


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64, np.int16, np.uint8, np.bool_]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)), st.booleans())
def test_load_npy_round_trips_real_arrays(tmp_path_factory, arr, fortran):
    path = tmp_path_factory.mktemp("npy") / "a.npy"
    np.save(path, np.array(arr, order="F" if fortran else "C"))
    got = load_npy(path, "a", Oops)
    assert got.dtype == arr.dtype and got.shape == arr.shape
    assert np.array_equal(got, arr, equal_nan=arr.dtype.kind == "f")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**12), max_size=4), st.sampled_from(["<f8", "<i2", "|u1",
                                                                      "|O", "<c16"]),
       st.integers(0, 512), st.binary(max_size=16))
def test_load_npy_refuses_headers_that_lie(tmp_path_factory, shape, descr, data_len, junk):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    header += " " * ((-len(header) - 11) % 64) + "\n"
    path = tmp_path_factory.mktemp("npy") / "lie.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
                     + bytes(data_len) + junk)
    try:
        got = load_npy(path, "lie", Oops)
    except Oops as exc:
        assert "lie.npy" in str(exc)
    else:
        assert got.nbytes == data_len + len(junk)
