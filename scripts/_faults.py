"""Parts of scripts/fault_inject.py: the monitor of a live daemon (health, watchdog, RSS,
descriptors), event clients, and the faults that need more than a few lines."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_raw(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send a raw request, return the raw answer (b"" when none came)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out
    except OSError:
        return b""


def healthz(port: int) -> tuple[str, dict]:
    raw = http_raw(port, b"GET /healthz HTTP/1.0\r\n\r\n", timeout=5.0)
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        h = json.loads(body)
        return h.get("status", "?"), h
    except ValueError:
        return "unanswered", {}


class Monitor:
    """Probes /healthz every 0.1 s (state transitions), counts READY/WATCHDOG on the notify
    socket, samples the daemon's RSS and descriptors."""

    def __init__(self, pid: int, health_port: int, notify: socket.socket):
        self.pid, self.port, self.notify = pid, health_port, notify
        self.t0 = time.monotonic()
        self.ready = False
        self.pings = 0
        self.log: list[tuple[float, str, list[str]]] = []
        self.last: dict = {}
        self.probes = self.unanswered = 0
        self.peak_fds = self.peak_rss_kib = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe, daemon=True),
                         threading.Thread(target=self._watch, daemon=True)]

    def now(self) -> float:
        return time.monotonic() - self.t0

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def status(self) -> str:
        return self.log[-1][1] if self.log else "unknown"

    def _probe(self) -> None:
        while not self._stop.wait(0.1):
            if not self.ready:
                continue
            status, h = healthz(self.port)
            self.probes += 1
            self.unanswered += status == "unanswered"
            if h:
                self.last = h
            if not self.log or self.log[-1][1] != status:
                self.log.append((self.now(), status, list(h.get("reasons", []))[:3]))

    def _watch(self) -> None:
        self.notify.settimeout(0.2)
        while not self._stop.is_set():
            try:
                msg = self.notify.recv(4096).decode()
                self.ready |= "READY=1" in msg
                self.pings += "WATCHDOG=1" in msg
            except socket.timeout:
                pass
            except OSError:
                return
            self._sample_proc()

    def _sample_proc(self) -> None:
        try:
            self.peak_fds = max(self.peak_fds, len(os.listdir(f"/proc/{self.pid}/fd")))
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    def transitions(self, t0: float, t1: float) -> list[dict]:
        """The state at ``t0`` and every change until ``t1`` (seconds since start)."""
        before = [e for e in self.log if e[0] <= t0]
        inside = [e for e in self.log if t0 < e[0] <= t1]
        out = [{"t_s": round(e[0] - t0, 2), "status": e[1], "reasons": e[2]}
               for e in before[-1:] + inside]
        if out:
            out[0]["t_s"] = 0.0
        return out

    def summary(self) -> dict:
        """Taken before the daemon is stopped (afterwards nothing answers)."""
        return {"peak_rss_mib": round(self.peak_rss_kib / 1024, 1), "peak_fds": self.peak_fds,
                "fd_limit": 1024, "healthz_probes": self.probes,
                "healthz_unanswered": self.unanswered, "watchdog_pings": self.pings,
                "reloads": self.last.get("reloads"), "status_before_stop": self.status()}


class Reader:
    """A client counting the event lines it receives."""

    def __init__(self, sock: socket.socket):
        sock.settimeout(None)                 # events may be minutes apart
        self.sock, self.lines, self.eof = sock, 0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.eof.set()
                return
            self.lines += data.count(b"\n")

    def wait_eof(self, timeout: float) -> int:
        self.eof.wait(timeout)
        return self.lines


class MqttCounter:
    """A persistent-session QoS 1 subscriber counting distinct events."""

    def __init__(self, port: int, topic: str):
        import paho.mqtt.client as mqtt
        self.ids: set[tuple[str, str]] = set()    # (id, state): an interval's start and end
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id="fault-inject-sub", clean_session=False)
        self.c.reconnect_delay_set(0.1, 1.0)
        self.c.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.c.on_message = lambda c, u, m: self.ids.add(_key(json.loads(m.payload)))
        self.c.connect_async("127.0.0.1", port, keepalive=5)
        self.c.loop_start()

    def settle(self, quiet_s: float = 3.0, limit_s: float = 60.0) -> int:
        """The count once nothing new arrived for ``quiet_s`` (or after ``limit_s``)."""
        end, last, since = time.monotonic() + limit_s, -1, time.monotonic()
        while time.monotonic() < end and time.monotonic() - since < quiet_s:
            if len(self.ids) != last:
                last, since = len(self.ids), time.monotonic()
            time.sleep(0.1)
        self.c.disconnect()
        self.c.loop_stop()
        return len(self.ids)


def _key(event: dict) -> tuple[str, str]:
    return str(event.get("id")), str(event.get("state"))


# -- bad configs: SIGHUP with each, the running one must stay -------------------------------------
def _npy_bomb(path: Path) -> None:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    header += " " * (117 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
                     + b"\0" * 64)


def _variants(ctx) -> dict[str, str]:
    d, good = ctx.dir, ctx.config_text()
    fifo = d / "events.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    _npy_bomb(d / "p.t.thermal_gain.npy")
    (d / "p.toml").write_text('schema = "edgebind.profile/1"\ndevice = "r"\n'
                              '[streams.t.thermal]\ngain = "p.t.thermal_gain.npy"\n')
    ctx.blocker = socket.socket()
    ctx.blocker.bind(("127.0.0.1", 0))
    ctx.blocker.listen(1)
    return {
        "toml_100k_deep": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "threshold_400_digits": good + "[thresholds]\nglass_breaking = 1" + "0" * 400 + "\n",
        "integer_4301_digits": good + '[[sinks]]\nkind = "jsonl"\nmax_bytes = ' + "1" * 4301 + "\n",
        "precision_fp64": ctx.config_text('precision = "fp64"\n'),
        "window_s_1e300": good.replace("[windows]\n", "[windows]\nwindow_s = 1e300\n"),
        "tcp_port_taken": good + f'[[sinks]]\nkind = "tcp"\nlisten = '
                                 f'"127.0.0.1:{ctx.blocker.getsockname()[1]}"\n',
        "mqtt_password_not_a_string": good + '[[sinks]]\nkind = "mqtt"\npassword = 8675309123\n',
        "jsonl_path_is_a_fifo": good + f'[[sinks]]\nkind = "jsonl"\npath = "{fifo}"\n',
        "profile_npy_declaring_100000_squared": ctx.config_text('profile = "p.toml"\n'),
    }


def bad_configs(ctx) -> dict:
    cfg = ctx.dir / "edgebind.toml"
    out: dict = {}
    tcp_before = ctx.tcp.lines
    for name, text in _variants(ctx).items():
        failed = (ctx.monitor.last.get("reloads") or {}).get("failed", 0)
        cfg.write_text(text)
        ctx.proc.send_signal(1)                 # SIGHUP
        _wait(lambda: (ctx.monitor.last.get("reloads") or {}).get("failed", 0) > failed, 60)
        out[name] = _last_reload_error(ctx.dir / "daemon.log")
    cfg.write_text(ctx.config_text())
    ok = (ctx.monitor.last.get("reloads") or {}).get("ok", 0)
    ctx.proc.send_signal(1)
    _wait(lambda: (ctx.monitor.last.get("reloads") or {}).get("ok", 0) > ok, 60)
    ctx.blocker.close()
    return {"refused": out, "reloads": ctx.monitor.last.get("reloads"),
            "tcp_client_still_connected": not ctx.tcp.eof.is_set(),
            "tcp_lines_during": ctx.tcp.lines - tcp_before}


def _wait(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _last_reload_error(log: Path) -> str:
    lines = [ln for ln in log.read_text().splitlines() if "failed, keeping the running" in ln]
    msg = lines[-1].split("keeping the running config: ", 1)[-1] if lines else "?"
    return msg if len(msg) <= 200 else msg[:197] + "..."


# -- an MCAP decompression bomb through `edgebind replay --summary` -----------------------------
REPLAY_CHILD = """
import resource, sys
from edgebind.cli import main
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rc = main(sys.argv[1:])
print(f"GROWTH_KIB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base}", file=sys.stderr)
sys.exit(rc)
"""


def mcap_bomb(ctx) -> dict:
    repo = Path(__file__).resolve().parents[1]
    try:
        from tests.record.helpers import data_end, zstd_bomb_chunk
    except ImportError as exc:
        return {"skipped": f"recording helpers unavailable ({exc})"}
    base = ctx.dir / "base.mcap"
    subprocess.run([sys.executable, "-m", "edgebind.cli", "record", "--sim", "default",
                    "--duration", "3", "--out", str(base)], check=True, capture_output=True,
                   cwd=repo, timeout=600)
    bomb = ctx.dir / "bomb.mcap"
    bomb.write_bytes(base.read_bytes()[:data_end(base)] + zstd_bomb_chunk(payload_size=1 << 30))
    r = subprocess.run([sys.executable, "-c", REPLAY_CHILD, "replay", str(bomb), "--summary",
                        "--json"], capture_output=True, text=True, cwd=repo, timeout=600)
    grown = [ln for ln in r.stderr.splitlines() if ln.startswith("GROWTH_KIB=")]
    try:
        lost = json.loads(r.stdout).get("lost", [])
    except ValueError:
        lost = r.stderr[-300:]
    return {"file_bytes": bomb.stat().st_size, "expands_to_bytes": 1 << 30,
            "replay_exit_code": r.returncode,
            "replay_peak_rss_growth_mib": round(int(grown[-1].split("=")[1]) / 1024, 1)
            if grown else None, "reported_lost": lost}
