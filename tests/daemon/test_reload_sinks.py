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
        assert d.pipeline.detector.thresholds == {name: 0.5}
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
