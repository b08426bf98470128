"""Daemon config validation: every mistake names the file, the key and what was expected."""
from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebind.daemon.config import ConfigError, load_config, parse_config, parse_listen

GOOD = """
bundle = "bundles/tiny"
anchors = "anchors.json"
log_level = "debug"

[[streams]]
name = "sim"
kind = "sim"
scenario = "demo"
speed = 0

[windows]
hop_s = 0.25
queue_size = 4

[detector]
hysteresis = 0.05

[thresholds]
glass_breaking = 0.3

[[sinks]]
kind = "jsonl"
path = "events.jsonl"

[health]
listen = "127.0.0.1:0"
"""


def write(tmp_path, text, name="edgebind.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_good_config(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.bundle == tmp_path / "bundles/tiny"          # relative to the config file
    assert cfg.anchors == tmp_path / "anchors.json"
    assert cfg.streams[0].name == "sim" and cfg.streams[0].kind == "sim"
    assert cfg.windows.hop_s == 0.25 and cfg.windows.queue_size == 4
    assert cfg.detector_config().hysteresis == 0.05
    assert cfg.thresholds == {"glass_breaking": 0.3}
    assert cfg.sinks == [{"kind": "jsonl", "path": "events.jsonl"}]
    assert (cfg.health_host, cfg.health_port) == ("127.0.0.1", 0)
    assert cfg.log_level == "debug"


def test_defaults(tmp_path):
    cfg = load_config(write(tmp_path, '[[streams]]\nname = "s"\nkind = "sim"\n'))
    assert cfg.bundle is None and cfg.anchors is None and cfg.profile is None
    assert (cfg.health_host, cfg.health_port) == ("127.0.0.1", 9108)   # loopback by default
    assert cfg.sinks == [{"kind": "jsonl"}]


@pytest.mark.parametrize("edit, key, expected", [
    (("[windows]\nhop_s = 0.25", "[windows]\nhop_s = -1"), "windows.hop_s", "positive number"),
    (("queue_size = 4", "queue_size = 2.5"), "windows.queue_size", "integer >= 1"),
    (("queue_size = 4", "queue_size = 4\nwarmup_s = -1"), "windows.warmup_s", ">= 0"),
    (("[windows]\n", "[windows]\nhop = 1\n"), "windows.hop", "unknown key"),
    (('log_level = "debug"', 'log_level = "loud"'), "log_level", "one of debug"),
    (('log_level = "debug"', 'logging = "debug"'), "logging", "unknown key"),
    (('listen = "127.0.0.1:0"', 'listen = "localhost"'), "health.listen", "HOST:PORT"),
    (('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:70000"'), "health.listen", "0-65535"),
    (('[health]\n', '[health]\nport = 1\n'), "health.port", "unknown key"),
    (("hysteresis = 0.05", "hysteresis = -3"), "hysteresis", "number in"),
    (("hysteresis = 0.05", "hystersis = 0.1"), "hystersis", "unknown key"),
    (("glass_breaking = 0.3", 'glass_breaking = "high"'), "thresholds.glass_breaking", "a number"),
    (('kind = "jsonl"', 'kind = 3'), "sinks[0].kind", "one of jsonl"),
    (('kind = "jsonl"', 'kind = "callback"'), "sinks[0].kind", "one of jsonl"),
    (('path = "events.jsonl"', 'paht = "events.jsonl"'), "sinks[0].paht", "unknown key"),
    (('kind = "sim"', 'kind = "simulator"'), "kind", "expected one of"),
    (('speed = 0', 'speed = -2'), "speed", ""),
    (('bundle = "bundles/tiny"', 'bundle = 7'), "bundle", "a path"),
    # Durations and rates have sane ranges: these passed --check and crashed start-up.
    (("hop_s = 0.25", "hop_s = 0.25\nwindow_s = 1e300"), "windows.window_s", "up to 600"),
    (("hop_s = 0.25", "hop_s = 0.25\nlateness_s = 1e300"), "windows.lateness_s", "<= 60"),
    (("hop_s = 0.25", "hop_s = 1e-300"), "windows.hop_s", "from 0.001"),
    (("hop_s = 0.25", "hop_s = 0.25\npoll_interval_s = 1e300"), "windows.poll_interval_s",
     "up to 10"),
    (("hop_s = 0.25", "hop_s = 0.25\nstall_hops = 0"), "windows.stall_hops", "integer >= 1"),
    (("queue_size = 4", "queue_size = " + "9" * 400), "windows.queue_size", "400 digits"),
    # Load settings are checked here, not ignored.
    (('log_level = "debug"', 'log_level = "debug"\nprecision = "fp64"'), "precision",
     "one of fp16, fp32, int8"),
    (('log_level = "debug"', 'log_level = "debug"\nbackend = "cuda"'), "backend",
     "one of auto, tensorrt"),
    (('log_level = "debug"', 'log_level = "debug"\nthreads = 100000'), "threads", "1 to 256"),
    # Thresholds lie in the decision's range (cosines: [-1, 1]).
    (("glass_breaking = 0.3", "glass_breaking = 1e308"), "thresholds.glass_breaking", "[-1, 1]"),
    (("glass_breaking = 0.3", "glass_breaking = -" + "9" * 400), "thresholds.glass_breaking",
     "400 digits"),
    # Sink tables are validated at parse time (and so by --check), not when opened.
    (('path = "events.jsonl"', 'path = "events.jsonl"\n[[sinks]]\nkind = "tcp"'), "sinks[1]",
     "missing key 'listen'"),
    (('path = "events.jsonl"', 'path = "events.jsonl"\n[[sinks]]\nkind = "mqtt"\nport = 70000'),
     "sinks[1]: key 'port'", "[1, 65535]"),
    (('path = "events.jsonl"', 'path = "events.jsonl"\n[[sinks]]\nkind = "tcp"\n'
      'listen = "127.0.0.1:99999"'), "sinks[1]: key 'listen'", "HOST:PORT"),
    (('path = "events.jsonl"', 'path = "events.jsonl"\n[[sinks]]\nkind = "mqtt"\n'
      'ca_certs = "missing.pem"'), "sinks[1]: key 'ca_certs'", "existing PEM file"),
])
def test_invalid_configs_name_file_key_and_expectation(tmp_path, edit, key, expected):
    old, new = edit
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert str(p) in msg, msg
    assert key in msg, msg
    assert expected in msg, msg


def test_missing_streams_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"edgebind.toml: streams: expected at least one"):
        load_config(write(tmp_path, 'bundle = "x"\n'))
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "[[streams]\nname=", "bad.toml"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_duplicate_stream_names_refused(tmp_path):
    text = '[[streams]]\nname = "a"\nkind = "sim"\n[[streams]]\nname = "a"\nkind = "sim"\n'
    with pytest.raises(ConfigError, match="already used"):
        load_config(write(tmp_path, text))


def test_listen_forms():
    assert parse_listen("f", "k", "[::1]:9108") == ("::1", 9108)
    assert parse_listen("f", "k", "0.0.0.0:80") == ("0.0.0.0", 80)


toml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
              st.integers(-10**450, 10**450), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["bundle", "anchors", "streams", "windows", "detector",
                                        "thresholds", "sinks", "health", "threads", "bogus",
                                        "log_level", "precision", "backend", "device"]),
                       toml_values, max_size=6))
def test_fuzzed_documents_fail_only_with_config_errors(doc):
    # Whatever the document, the parser answers with a config or a ConfigError naming the file.
    try:
        parse_config(doc, "fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)


def test_shipped_example_config_is_valid_with_and_without_its_comments(tmp_path):
    import re

    from tests.conftest import REPO
    example = REPO / "examples" / "edgebind.toml"
    cfg = load_config(example)
    assert [s.kind for s in cfg.streams] == ["sim"]
    assert (cfg.health_host, cfg.health_port) == ("127.0.0.1", 9108)
    # Every commented-out option is valid too once uncommented.
    text = example.read_text()
    full = re.sub(r"^# (\[|[a-z_]+ = )", r"\1", text, flags=re.M)
    assert len(re.findall(r"^\[\[streams\]\]", full, flags=re.M)) == 4
    p = tmp_path / "full.toml"
    p.write_text(full)
    cfg = load_config(p)
    assert [s.kind for s in cfg.streams] == ["sim", "camera", "microphone", "imu"]
    assert [s["kind"] for s in cfg.sinks] == ["jsonl", "jsonl", "tcp", "mqtt"]
    assert cfg.profile is not None and cfg.thresholds == {"glass_breaking": 0.32}
    from edgebind.sinks.config import KINDS
    assert all(s["kind"] in KINDS for s in cfg.sinks)


def test_margin_thresholds_may_exceed_one(tmp_path):
    text = GOOD.replace("hysteresis = 0.05", 'decision = "margin"').replace(
        "glass_breaking = 0.3", "glass_breaking = 1.5")
    assert load_config(write(tmp_path, text)).thresholds == {"glass_breaking": 1.5}
    with pytest.raises(ConfigError, match=r"thresholds.glass_breaking: expected a number in "
                                          r"\[-2, 2\] for decision = 'margin'"):
        load_config(write(tmp_path, text.replace("= 1.5", "= 2.5")))


def test_sink_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    text = GOOD + ('[[sinks]]\nkind = "unix"\npath = "run/events.sock"\n'
                   '[[sinks]]\nkind = "jsonl"\npath = "-"\n')
    cfg = load_config(write(tmp_path, text))
    paths = [spec.kwargs["path"] for spec in cfg.sink_specs]
    assert paths == [str(tmp_path / "events.jsonl"), str(tmp_path / "run/events.sock"), "-"]
    assert cfg.sinks[0] == {"kind": "jsonl", "path": "events.jsonl"}     # as written


def test_a_non_string_mqtt_password_is_never_echoed(tmp_path):
    secret = "31415926535"
    text = GOOD + f'[[sinks]]\nkind = "mqtt"\nusername = "robot"\npassword = {secret}\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    msg = str(info.value)
    assert "sinks[1]: key 'password': expected a non-empty string" in msg
    assert secret not in msg and "<hidden>" in msg


sink_tables = st.fixed_dictionaries(
    {"kind": st.sampled_from(["jsonl", "tcp", "unix", "mqtt", "callback", "x"])},
    optional={k: toml_values for k in ("path", "listen", "port", "host", "qos", "password",
                                       "max_clients", "queue_size", "mode", "tls", "events",
                                       "reconnect_min_s", "drain_timeout_s", "bogus")})
windows_tables = st.dictionaries(st.sampled_from(["window_s", "hop_s", "lateness_s", "queue_size",
                                                  "max_batch", "poll_interval_s", "warmup_s",
                                                  "stall_hops", "modalities"]), toml_values)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sink_tables, max_size=3), windows_tables,
       st.dictionaries(st.text(max_size=5), toml_values, max_size=3))
def test_fuzzed_sinks_windows_thresholds_fail_only_with_config_errors(sinks, windows, th):
    # With valid streams the parser reaches the sink tables (validated, never opened), the
    # [windows] ranges and the thresholds.
    doc = {"streams": [{"name": "s", "kind": "sim"}], "sinks": sinks, "windows": windows,
           "thresholds": th}
    try:
        cfg = parse_config(doc, "/nonexistent/fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)
    else:
        cfg.windows.validate()
