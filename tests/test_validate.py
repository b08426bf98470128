"""The shared config-table reader: typed reads, messages naming source and key, secrets hidden."""

import pytest

from edgebind.validate import Fields, shown


class Bad(ValueError):
    pass


def test_typed_reads_and_defaults(tmp_path):
    f = Fields({"n": 3, "x": 2, "on": True, "name": "cam", "p": "rel/f.bin", "ls": ["a"]},
               "cfg.toml", Bad, base_dir=tmp_path)
    assert f.integer("n", lo=1, hi=5) == 3
    assert f.number("x", lo=0.0) == 2.0 and isinstance(f.number("x"), float)
    assert f.boolean("on") is True and f.string("name") == "cam" and f.names("ls") == ["a"]
    assert f.path("p") == str(tmp_path / "rel/f.bin")
    assert f.integer("absent", 7) == 7 and f.choice("absent", ("a", "b"), "a") == "a"


@pytest.mark.parametrize("data, read, match", [
    ({"n": True}, lambda f: f.integer("n"), r"^cfg: n: expected an integer, got True$"),
    ({"n": 9}, lambda f: f.integer("n", lo=1, hi=5), r"expected a positive integer up to 5, got 9"),
    ({"x": float("nan")}, lambda f: f.number("x"), r"x: expected a finite number, got nan"),
    ({"x": 10**400}, lambda f: f.number("x"), r"got an integer of 401 digits"),
    ({}, lambda f: f.string("s"), r"^cfg: missing key 's'$"),
    ({"s": "  "}, lambda f: f.string("s"), r"s: expected a non-empty string"),
    ({"k": "c"}, lambda f: f.choice("k", ("a", "b")), r"expected one of 'a', 'b', got 'c'"),
    ({"zz": 1}, lambda f: f.reject_unknown(("a", "b")), r"zz: unknown key; expected one of a, b"),
    ({"zz": 1}, lambda f: f.reject_unknown(("a",), "a tcp sink"), r"zz: unknown key for a tcp sink;"),
])
def test_failures_name_source_key_and_value(data, read, match):
    with pytest.raises(Bad, match=match):
        read(Fields(data, "cfg", Bad))


def test_nested_tables_quoted_keys_and_secrets():
    f = Fields({"mqtt": {"port": "x", "password": "hunter2"}}, "a.toml: [[sinks]]", Bad,
               quote_keys=True, secrets={"password"})
    t = f.table("mqtt")
    with pytest.raises(Bad, match=r"^a.toml: \[\[sinks\]\]: key 'mqtt.port': expected"):
        t.integer("port")
    with pytest.raises(Bad) as exc:
        t.integer("password")
    assert "hunter2" not in str(exc.value) and "<hidden>" in str(exc.value)
    with pytest.raises(Bad, match="expected a table"):
        Fields({"w": 3}, "cfg", Bad).table("w")
    assert len(shown("x" * 1000)) == 80


def test_exclusive_lower_bound_and_host_port():
    from edgebind.validate import host_port, number
    f = Fields({"fps": 0, "r": 3, "listen": "localhost", "port": "h:70000", "ok": "[::1]:80"},
               "cfg", Bad, quote_keys=True)
    with pytest.raises(Bad, match=r"key 'fps': expected a positive number up to 1000, got 0$"):
        f.get("fps", number(hi=1000, above=0))
    assert f.get("r", number(above=0)) == 3.0
    with pytest.raises(Bad, match=r"key 'listen': expected \"HOST:PORT\", e.g. \"1.2.3.4:5\""):
        f.get("listen", host_port("1.2.3.4:5"))
    with pytest.raises(Bad, match=r"expected \"HOST:PORT\" with a port 0-65535"):
        f.get("port", host_port("1.2.3.4:5"))
    assert f.get("ok", host_port("1.2.3.4:5")) == ("::1", 80)


def test_expecting_rewords_a_checker_and_path_takes_it(tmp_path):
    from edgebind.validate import choice, expecting
    f = Fields({"level": "loud", "bundle": 7}, "cfg", Bad, base_dir=tmp_path)
    with pytest.raises(Bad, match=r"^cfg: level: expected one of debug, info, got 'loud'$"):
        f.get("level", expecting("one of debug, info", choice("debug", "info")))
    with pytest.raises(Bad, match=r"^cfg: bundle: expected a path \(string\), got 7$"):
        f.path("bundle", want="a path (string)")


def test_a_path_with_an_unknown_home_is_a_config_error(tmp_path):
    # Path("~nosuchuser").expanduser() raises RuntimeError; a config gets its own error instead.
    with pytest.raises(Bad, match=r"p: expected a path whose ~user exists, got '~nosuchuser0/x'"):
        Fields({"p": "~nosuchuser0/x"}, "cfg", Bad, base_dir=tmp_path).path("p")
