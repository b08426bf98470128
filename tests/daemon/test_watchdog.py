"""The systemd watchdog follows progress, not thread existence: a daemon whose inference worker
hangs stops pinging (so systemd restarts it) and pings again once windows are embedded. The
daemon runs in-process on the real bundle and the simulated world; sd_notify goes to a real
datagram socket; the hang is injected into the real embedder."""
from __future__ import annotations

import socket
import threading
import time

from edgebind.daemon.config import load_config
from edgebind.daemon.sdnotify import Notifier
from edgebind.daemon.service import Daemon
from tests.conftest import wait_until
from tests.daemon.configs import sim_daemon_config
from tests.daemon.test_daemon_process import Notify


def drain(notify: Notify, seconds: float) -> None:
    """Collect whatever arrives for ``seconds`` (a window to observe, not a speed limit)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        notify.sock.settimeout(left)
        try:
            data = notify.sock.recv(4096).decode()
        except socket.timeout:
            break
        notify.messages.append(dict(x.split("=", 1) for x in data.split("\n") if x))


def pings(notify: Notify, after: int = 0) -> int:
    return sum("WATCHDOG" in m for m in notify.messages[after:])


def test_watchdog_pings_stop_while_the_worker_is_stuck(tmp_path, assets_paths):
    bundle, anchors = assets_paths
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(sim_daemon_config(bundle, anchors, 600, """\
        [windows]
        hop_s = 0.25
        warmup_s = 0
        [health]
        enabled = false
        [[sinks]]
        kind = "jsonl"
        path = "events.jsonl"
        """))
    notify = Notify(tmp_path / "notify.sock")
    d = Daemon(load_config(cfg), notifier=Notifier(str(tmp_path / "notify.sock"), 1_000_000))
    gate = threading.Event()
    gate.set()
    stuck = threading.Event()
    real = d.embedder.embed_batch

    def embed_batch(*args, **kw):            # the worker hangs here while the gate is shut
        if not gate.is_set():
            stuck.set()
        gate.wait()
        return real(*args, **kw)
    d.embedder.embed_batch = embed_batch
    t = threading.Thread(target=d.serve, kwargs={"install_signals": False}, daemon=True)
    t.start()
    try:
        notify.wait_for("READY", 90)
        notify.wait_for("WATCHDOG", 60)       # pinged while windows are embedded
        gate.clear()
        assert stuck.wait(60)
        assert wait_until(lambda: not d.pipeline.progressing(), 90)
        drain(notify, 2.0)                    # a ping decided just before the stall was seen
        seen = len(notify.messages)
        drain(notify, 3.0)                    # six watchdog periods
        assert pings(notify, seen) == 0, notify.messages[seen:]
        assert d.health()["status"] == "failing"
        gate.set()
        notify.wait_for("WATCHDOG", 90, after=len(notify.messages))
    finally:
        gate.set()
        d.request_stop()
        t.join(60)
        notify.sock.close()
    assert not t.is_alive()


def test_ready_says_starting_and_a_reload_runs_from_reloading_to_ready(tmp_path, assets_paths):
    """The first READY=1 says "starting" (no sample has arrived, so no stream can be judged yet),
    not "failing". A reload sends RELOADING=1 stamped after the request (Type=notify-reload
    drops older stamps), then READY=1 once the new config runs, or refused, with the reason."""
    bundle, anchors = assets_paths
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(sim_daemon_config(bundle, anchors, 600, """\
        [health]
        enabled = false
        [[sinks]]
        kind = "jsonl"
        path = "events.jsonl"
        """))
    notify = Notify(tmp_path / "notify.sock")
    d = Daemon(load_config(cfg), notifier=Notifier(str(tmp_path / "notify.sock")))
    gate = threading.Event()                  # no sample reaches the pipeline before READY
    for src in d.pipeline.sources:
        def start(on_sample, real=src.start):
            real(lambda s: (gate.wait(), on_sample(s)))
        src.start = start
    t = threading.Thread(target=d.serve, kwargs={"install_signals": False}, daemon=True)
    t.start()
    try:
        ready = notify.wait_for("READY", 90)
        assert ready["STATUS"].startswith("starting (waiting for the first samples): "), ready
        gate.set()
        assert wait_until(lambda: d.pipeline.windows_done >= 1, 60)
        assert not d._status_line().startswith("starting")

        for bad, reloads in ((False, (1, 0)), (True, (1, 1))):
            if bad:
                cfg.write_text("bogus_key = 1\n" + cfg.read_text())
            n = len(notify.messages)
            asked = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            d.request_reload()
            reloading = notify.wait_for("RELOADING", 30, after=n)
            done = notify.wait_for("READY", 30, after=n)
            at = notify.messages.index(done, n)
            assert notify.messages.index(reloading, n) < at
            assert int(reloading["MONOTONIC_USEC"]) >= asked
            assert reloading["STATUS"] == f"reloading {cfg}"
            assert (d.reloads, d.reload_failures) == reloads      # done when READY=1 came
            if bad:
                assert done["STATUS"].startswith("reload failed, old config kept: "), done
                assert "bogus_key" in done["STATUS"]
            else:
                assert not done["STATUS"].startswith(("starting", "reload failed")), done
    finally:
        gate.set()
        d.request_stop()
        t.join(60)
        notify.sock.close()
    assert not t.is_alive()
