"""Reloading sinks in-process: unchanged sinks stay connected, a changed sink on the same port
is reopened after its predecessor lets go, a broken one leaves the old sinks running."""
from __future__ import annotations

import socket
import textwrap
import time

from edgebind.daemon.config import load_config
from edgebind.daemon.service import Daemon
from edgebind.daemon.sdnotify import Notifier
from tests.daemon.test_daemon_process import free_port


def write(cfg, bundle, anchors, sinks: str, extra: str = ""):
    cfg.write_text(textwrap.dedent(f"""\
        bundle = "{bundle}"
        anchors = "{anchors}"
        {extra}
        [[streams]]
        name = "sim"
        kind = "sim"
        speed = 0
        duration = 20
        [health]
        enabled = false
        """) + sinks)


def test_sink_swaps(tmp_path, assets_paths, anchor_set):
    bundle, anchors = assets_paths
    port = free_port()
    jsonl = f'[[sinks]]\nkind = "jsonl"\npath = "{tmp_path / "a.jsonl"}"\n'
    tcp = f'[[sinks]]\nkind = "tcp"\nlisten = "127.0.0.1:{port}"\n'
    cfg = tmp_path / "edgebind.toml"
    write(cfg, bundle, anchors, jsonl + tcp)
    d = Daemon(load_config(cfg), notifier=Notifier(None))
    try:
        j0, t0 = d.pipeline.sinks
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        # Same sinks, new thresholds: both sink objects are kept (the client stays connected).
        name = anchor_set.targets[0].name
        write(cfg, bundle, anchors, jsonl + tcp, extra=f"[thresholds]\n{name} = 0.5\n")
        assert d.reload()
        assert d.pipeline.sinks == [j0, t0]
        assert d.pipeline.detector.thresholds[name] == 0.5    # over the tuned levels
        # The TCP sink changes but keeps its port: reopened after the old one is closed.
        write(cfg, bundle, anchors, jsonl + tcp + "client_buffer = 8\n")
        assert d.reload()
        j1, t1 = d.pipeline.sinks
        assert j1 is j0 and t1 is not t0 and t0.stats()["closed"]
        assert t1.address[1] == port
        # A sink that cannot open: the reload is refused and the running sinks keep going.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        write(cfg, bundle, anchors, jsonl + tcp + "client_buffer = 8\n"
              + f'[[sinks]]\nkind = "tcp"\nlisten = "127.0.0.1:{busy}"\n')
        assert not d.reload()
        assert d.reload_failures == 1
        assert d.pipeline.sinks == [j1, t1] and not t1.stats()["closed"]
        blocker.close()
        client.close()
        # Removing a sink closes it.
        write(cfg, bundle, anchors, jsonl)
        assert d.reload()
        assert d.pipeline.sinks == [j1]
        deadline = time.monotonic() + 5
        while not t1.stats()["closed"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert t1.stats()["closed"]
    finally:
        d.pipeline.close(drain=False)


def event(i: int) -> dict:
    return {"schema": "edgebind.event/1", "name": "glass_breaking", "state": "start", "seq": i}


def test_a_failed_reload_keeps_the_running_sinks_and_their_clients(tmp_path, assets_paths):
    """The new config changes the TCP sink (same port) and adds one on a port another process
    holds: the reload is refused before the running TCP sink is touched, so its client stays
    connected and keeps receiving events."""
    from tests.sinks.test_sockets import Reader
    bundle, anchors = assets_paths
    port = free_port()
    tcp = f'[[sinks]]\nkind = "tcp"\nlisten = "127.0.0.1:{port}"\n'
    cfg = tmp_path / "edgebind.toml"
    write(cfg, bundle, anchors, tcp)
    d = Daemon(load_config(cfg), notifier=Notifier(None))
    blocker = socket.socket()
    try:
        (t0,) = d.pipeline.sinks
        client = Reader(socket.create_connection(("127.0.0.1", port), timeout=5))
        deadline = time.monotonic() + 10
        while t0.stats()["clients"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        write(cfg, bundle, anchors, tcp + "client_buffer = 8\n"
              + f'[[sinks]]\nkind = "tcp"\nlisten = "127.0.0.1:{busy}"\n')
        assert not d.reload()
        assert d.pipeline.sinks == [t0] and not t0.stats()["closed"]
        assert t0.stats()["clients"] == 1 and t0.stats()["disconnected"] == 0
        t0.emit(event(1))
        deadline = time.monotonic() + 10
        while not client.lines and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e["seq"] for e in client.lines] == [1] and not client.eof.is_set()
    finally:
        blocker.close()
        d.pipeline.close(drain=False)


def test_a_refused_reload_never_shows_the_mqtt_password(tmp_path, assets_paths):
    bundle, anchors = assets_paths
    cfg = tmp_path / "edgebind.toml"
    write(cfg, bundle, anchors, '[[sinks]]\nkind = "jsonl"\npath = "a.jsonl"\n')
    status = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    status.bind(str(tmp_path / "notify.sock"))
    status.settimeout(10)
    d = Daemon(load_config(cfg), notifier=Notifier(str(tmp_path / "notify.sock")))
    try:
        write(cfg, bundle, anchors, '[[sinks]]\nkind = "mqtt"\nusername = "robot"\n'
                                    'password = 271828182845\n')
        assert not d.reload()
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(status.recv(4096).decode())
        text = "\n".join(messages)
        assert "reload failed" in text and "key 'password'" in text
        assert "271828182845" not in text
    finally:
        status.close()
        d.pipeline.close(drain=False)


def test_sink_paths_are_relative_to_the_config_not_the_working_directory(
        tmp_path, assets_paths, monkeypatch):
    bundle, anchors = assets_paths
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    cfg = conf_dir / "edgebind.toml"
    write(cfg, bundle, anchors, '[[sinks]]\nkind = "jsonl"\npath = "events.jsonl"\n'
                                '[[sinks]]\nkind = "unix"\npath = "events.sock"\n')
    d = Daemon(load_config(cfg), notifier=Notifier(None))
    try:
        jsonl, unix = d.pipeline.sinks
        jsonl.emit(event(1))
        assert jsonl.flush(10)
        assert (conf_dir / "events.jsonl").read_text().count("\n") == 1
        assert (conf_dir / "events.sock").exists()
        assert not (elsewhere / "events.jsonl").exists() and not (elsewhere / "events.sock").exists()
    finally:
        d.pipeline.close(drain=False)
