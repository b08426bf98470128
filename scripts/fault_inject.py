"""Fault injection against a live ``edgebind run`` on 127.0.0.1; prints one JSON object.

The daemon runs the simulated robot in real time with the default bundle, under the descriptor
limit a systemd service gets (1,024), with sinks to a file, a TCP client, a half-closed Unix
client and (when mosquitto is installed) an MQTT broker. Then, one after another:

* ``health_idle_flood``: 1,000 idle connections to /healthz, probes keep being answered;
* ``oversized_requests``: a 70 KB request line and 120 headers (414, 431);
* ``tcp_flood``: 2,000 connect/close and 200 idle connections to the TCP sink;
* ``stuck_worker``: inference hangs (a fault hook in the daemon) until health says failing and
  the watchdog pings stop, then resumes;
* ``bad_configs``: SIGHUP with each hostile config (100k-deep TOML, 400-digit threshold,
  4,301-digit integer, fp64, a taken port, a non-string password, a FIFO sink, a profile whose
  .npy sidecar declares 100000 x 100000), each refused with the running sinks untouched;
* ``mqtt_freeze``: the broker stopped (SIGSTOP) for a few seconds;
* ``mcap_bomb``: ``edgebind replay --summary`` on a recording with a 1 GiB zstd bomb chunk.

Reported: per sink, events emitted by the daemon vs delivered vs received by the real client
(lost = emitted - received); /healthz state transitions from each fault's start to 3 hops after
its end; watchdog pings; peak RSS and descriptors of the daemon.

    python scripts/fault_inject.py            # about two minutes
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faults import (MqttCounter, Monitor, Reader, bad_configs, http_raw, mcap_bomb,  # noqa: E402
                     free_port)

HOP_S = 0.5
# The daemon, with a fault hook: while the flag file exists, inference hangs.
BOOT = r"""
import os, sys, time
from edgebind.embedder import Embedder
_real = Embedder.embed_batch
def embed_batch(self, *a, **k):
    while os.path.exists(os.environ["EDGEBIND_FAULT_STUCK"]):
        time.sleep(0.05)
    return _real(self, *a, **k)
Embedder.embed_batch = embed_batch
from edgebind.cli import main
sys.exit(main(sys.argv[1:]))
"""


def config_text(d: Path, ports: dict[str, int], mqtt: bool, extra: str = "") -> str:
    from edgebind import assets
    mqtt_sink = (f'[[sinks]]\nkind = "mqtt"\nport = {ports["mqtt"]}\nqos = 1\n'
                 'topic_prefix = "fault/events"\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n'
                 'drain_timeout_s = 5\n' if mqtt else "")
    return (f'bundle = "{assets.default_bundle_path()}"\nanchors = "{assets.default_anchors_path()}"\n'
            'threads = 1\n' + extra +
            '[[streams]]\nname = "sim"\nkind = "sim"\nscenario = "default"\nspeed = 1.0\n'
            f'[windows]\nhop_s = {HOP_S}\nwarmup_s = 5\n'
            '[detector]\ndecision = "threshold"\n'
            f'[health]\nlisten = "127.0.0.1:{ports["health"]}"\n'
            '[[sinks]]\nkind = "jsonl"\npath = "events.jsonl"\ndrain_timeout_s = 5\n'
            f'[[sinks]]\nkind = "tcp"\nlisten = "127.0.0.1:{ports["tcp"]}"\nclient_buffer = 4096\n'
            'drain_timeout_s = 5\n'
            '[[sinks]]\nkind = "unix"\npath = "events.sock"\nclient_buffer = 4096\n'
            'drain_timeout_s = 5\n' + mqtt_sink)


def start_daemon(d: Path, notify_path: Path) -> subprocess.Popen:
    def limits() -> None:          # what a systemd service gets unless LimitNOFILE says more
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000",
           "EDGEBIND_FAULT_STUCK": str(d / "stuck"), "PYTHONPATH": str(REPO)}
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen([sys.executable, "-c", BOOT, "run", "--config", str(d / "edgebind.toml")],
                            cwd=d, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(d / "daemon.log", "w"), preexec_fn=limits)


def wait(pred, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


# -- faults -----------------------------------------------------------------------------------
def health_idle_flood(ctx) -> dict:
    idle, refused = [], 0
    for _ in range(1000):
        try:
            idle.append(socket.create_connection(("127.0.0.1", ctx.ports["health"]), timeout=5))
        except OSError:
            refused += 1
    time.sleep(3 * HOP_S)                     # the monitor keeps probing meanwhile
    probe = http_raw(ctx.ports["health"], b"GET /healthz HTTP/1.0\r\n\r\n")
    for s in idle:
        s.close()
    return {"opened": len(idle), "refused": refused, "probe_during_flood": probe[:12].decode()}


def oversized_requests(ctx) -> dict:
    p = ctx.ports["health"]
    line = http_raw(p, b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n")[:12].decode()
    many = b"".join(b"X-%d: y\r\n" % i for i in range(120))
    heads = http_raw(p, b"GET /healthz HTTP/1.0\r\n" + many + b"\r\n")[:12].decode()
    return {"long_request_line": line, "too_many_headers": heads}


def tcp_flood(ctx) -> dict:
    addr = ("127.0.0.1", ctx.ports["tcp"])
    for _ in range(2000):
        try:
            socket.create_connection(addr, timeout=5).close()
        except OSError:
            pass
    idle = []
    for _ in range(200):
        try:
            idle.append(socket.create_connection(addr, timeout=5))
        except OSError:
            break
    time.sleep(3 * HOP_S)
    for s in idle:
        s.close()
    return {"connect_close": 2000, "idle": len(idle),
            "real_client_connected": not ctx.tcp.eof.is_set()}


def stuck_worker(ctx) -> dict:
    flag = ctx.dir / "stuck"
    flag.touch()
    t0 = time.monotonic()
    wait(lambda: ctx.monitor.status() == "failing", 120, "health to say failing")
    failing_after = time.monotonic() - t0
    pings_before = ctx.monitor.pings
    time.sleep(6.0)                           # three watchdog periods (WATCHDOG_USEC = 2 s)
    pings_while_stuck = ctx.monitor.pings - pings_before
    flag.unlink()
    t1 = time.monotonic()
    wait(lambda: ctx.monitor.status() != "failing", 120, "health to recover")
    return {"failing_after_s": round(failing_after, 2),
            "watchdog_pings_while_stuck": pings_while_stuck,
            "recovered_after_s": round(time.monotonic() - t1, 2)}


def mqtt_freeze(ctx) -> dict:
    if ctx.broker is None:
        return {"skipped": "mosquitto is not installed"}
    ctx.broker.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    ctx.broker.send_signal(signal.SIGCONT)
    return {"frozen_s": 4.0}


FAULTS = [health_idle_flood, oversized_requests, tcp_flood, stuck_worker, bad_configs,
          mqtt_freeze, mcap_bomb]


class Context:
    pass


def run(args) -> dict:
    ctx = Context()
    ctx.dir = d = Path(tempfile.mkdtemp(prefix="edgebind-faults-"))
    mqtt = shutil.which("mosquitto") is not None
    ctx.ports = {k: free_port() for k in ("health", "tcp", "mqtt")}
    ctx.broker = None
    if mqtt:
        (d / "mosquitto.conf").write_text(f"listener {ctx.ports['mqtt']} 127.0.0.1\n"
                                          "allow_anonymous true\n")
        ctx.broker = subprocess.Popen(["mosquitto", "-c", str(d / "mosquitto.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: _connects(ctx.ports["mqtt"]), 20, "mosquitto")
    ctx.config_text = lambda extra="": config_text(d, ctx.ports, mqtt, extra)
    (d / "edgebind.toml").write_text(ctx.config_text())
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(d / "notify.sock"))
    ctx.proc = proc = start_daemon(d, d / "notify.sock")
    ctx.monitor = Monitor(proc.pid, ctx.ports["health"], notify)
    ctx.monitor.start()
    report: dict = {"faults": []}
    try:
        wait(lambda: ctx.monitor.ready, 180, "READY")
        ctx.tcp = Reader(socket.create_connection(("127.0.0.1", ctx.ports["tcp"]), timeout=10))
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.connect(str(d / "events.sock"))
        u.shutdown(socket.SHUT_WR)            # as `socat -u` or `nc -N` do
        ctx.unix = Reader(u)
        ctx.mqtt = MqttCounter(ctx.ports["mqtt"], "fault/events/#") if mqtt else None
        time.sleep(args.settle_s)
        for fault in FAULTS:
            t0 = ctx.monitor.now()
            details = fault(ctx)
            t1 = ctx.monitor.now()
            time.sleep(3 * HOP_S)
            report["faults"].append({"fault": fault.__name__, "start_s": round(t0, 2),
                                     "end_s": round(t1, 2), **details,
                                     "healthz": ctx.monitor.transitions(t0, t1 + 3 * HOP_S),
                                     "daemon_alive": proc.poll() is None})
        time.sleep(args.settle_s)
        ctx.monitor.stop()
        report.update(ctx.monitor.summary())
        proc.send_signal(signal.SIGTERM)
        report["exit_code"] = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
        ctx.monitor.stop()
        if ctx.broker is not None:
            ctx.broker.send_signal(signal.SIGCONT)
    received = {"jsonl": _lines(d / "events.jsonl"), "tcp": ctx.tcp.wait_eof(30),
                "unix": ctx.unix.wait_eof(30)}
    if ctx.mqtt is not None:
        received["mqtt"] = ctx.mqtt.settle()
        ctx.broker.terminate()
    report["sinks"] = _accounts(d / "daemon.log", received)
    report["log_tracebacks"] = (d / "daemon.log").read_text().count("Traceback")
    if not args.keep:
        shutil.rmtree(d, ignore_errors=True)
    return report


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _accounts(log: Path, received: dict[str, int]) -> dict:
    """Per sink: the daemon's final account (its log) beside what the client received."""
    out = {}
    for line in log.read_text().splitlines():
        if " final: " in line and " sink " in line:
            name = line.split(" final: ")[0].split()[-1]
            acc = json.loads(line.split(" final: ", 1)[1])
            got = received.get(name)
            out[name] = {"emitted": acc.get("emitted"), "delivered": acc.get("delivered"),
                         "dropped": acc.get("dropped"), "received": got,
                         "lost": None if got is None else acc.get("emitted", 0) - got,
                         **{k: acc[k] for k in ("refused", "client_drops", "accept_errors",
                                                "lost_at_close") if k in acc}}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--settle-s", type=float, default=8.0,
                   help="seconds of normal running before the first fault and after the last")
    p.add_argument("--keep", action="store_true", help="keep the work folder (config, logs)")
    print(json.dumps(run(p.parse_args()), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
