"""`edgebind run` as a real process with torch made unimportable: sd_notify on a real datagram
socket, /healthz and /metrics over HTTP, SIGHUP reload, a camera unplugged mid-run, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from tests.daemon.prom import check_histograms, parse

NO_TORCH = ("import sys; sys.modules['torch'] = None\n"
            "from edgebind.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_video(path: Path, frames: int = 8, fps: int = 10) -> None:
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert w.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(frames):
        w.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    w.release()


def config_text(bundle, anchors, port, video, sinks, extra="") -> str:
    sink_tables = "".join(f'[[sinks]]\nkind = "jsonl"\npath = "{p}"\n\n' for p in sinks)
    return textwrap.dedent(f"""\
        bundle = "{bundle}"
        anchors = "{anchors}"
        tuned_detector = false   # every anchor on at level -1, not at the tuned levels
        threads = 1

        [[streams]]
        name = "sim"
        kind = "sim"
        scenario = "default"
        duration = 300
        speed = 1

        [[streams]]
        name = "cam2"
        kind = "camera"
        path = "{video}"
        fps = 10
        loop = true

        [windows]
        hop_s = 0.5

        [detector]
        threshold = -1.0
        use_anchor_thresholds = false

        [health]
        listen = "127.0.0.1:{port}"

        """) + extra + "\n" + sink_tables


class Notify:
    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float, after: int = 0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages[after:]:
                if key in m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key} within {timeout} s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append(dict(x.split("=", 1) for x in data.split("\n") if x))


def http(port: int, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def healthz(port: int) -> tuple[int, dict]:
    code, body = http(port, "/healthz")
    return code, json.loads(body)


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.slow
def test_daemon_lifecycle(tmp_path, assets_paths, anchor_set):
    bundle, anchors = assets_paths
    video = tmp_path / "cam2.avi"
    write_video(video)
    port = free_port()
    ev_a, ev_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(config_text(bundle, anchors, port, video, [ev_a]))
    notify = Notify(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "1000000", "PYTHONPATH": str(REPO)}
    env.pop("WATCHDOG_PID", None)
    log_out, log_err = open(tmp_path / "out.log", "w"), open(tmp_path / "err.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", NO_TORCH, "run", "--config", str(cfg)],
                            cwd=tmp_path, env=env, stdout=log_out, stderr=log_err)
    try:
        # -- readiness and watchdog ---------------------------------------------------------------
        ready = notify.wait_for("READY", 90)
        assert "STATUS" in ready
        notify.wait_for("WATCHDOG", 5)            # pinged at half of WATCHDOG_USEC

        # -- health and metrics over HTTP --------------------------------------------------------
        code, h = wait_until(lambda: (lambda r: r if r[1]["worker"]["windows"] >= 2 else None)(
            healthz(port)), 30, "two windows")
        assert code == 200, h
        assert h["status"] in ("ok", "degraded")
        assert {"camera", "mic", "imu", "cam2"} <= set(h["streams"])
        assert h["streams"]["cam2"]["state"] in ("ok", "degraded")
        code, text = http(port, "/metrics")
        assert code == 200
        types, samples = parse(text)
        check_histograms(types, samples)
        names = {n for n, _, _ in samples}
        assert {"edgebind_windows_processed_total", "edgebind_stage_latency_seconds_bucket",
                "edgebind_stream_up", "edgebind_windows_dropped_total"} <= names
        first = wait_until(lambda: events(ev_a), 20, "events in a.jsonl")
        assert {e["name"] for e in first if e["state"] == "start"} <= set(anchor_set.names)

        # -- SIGHUP: new thresholds and a second sink, streams untouched -------------------------
        victim = anchor_set.targets[0].name
        samples_before = h["streams"]["camera"]["samples"]
        cfg.write_text(config_text(bundle, anchors, port, video, [ev_a, ev_b],
                                   extra=f"[thresholds]\n{victim} = 1.0\n"))
        n_msgs = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING", 10, after=n_msgs)
        notify.wait_for("READY", 10, after=n_msgs)
        _, h = healthz(port)
        assert h["reloads"] == {"ok": 1, "failed": 0}
        ended = wait_until(lambda: [e for e in events(ev_b) if e["name"] == victim], 20,
                           f"{victim} ending in the new sink")
        assert ended[0]["state"] == "end"
        assert [e for e in events(ev_a) if e["name"] == victim][-1]["state"] == "end"
        wait_until(lambda: healthz(port)[1]["streams"]["camera"]["samples"] > samples_before + 5,
                   10, "samples still flowing after the reload")
        assert proc.poll() is None

        # -- an invalid config is refused, the running one kept -----------------------------------
        cfg.write_text("bogus_key = 1\n" + cfg.read_text())
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: healthz(port)[1]["reloads"]["failed"] == 1, 10, "a failed reload")
        assert healthz(port)[1]["reloads"]["ok"] == 1
        assert proc.poll() is None

        # -- the file camera is unplugged: its stream fails, the rest carries on ------------------
        video.unlink()
        code, h = wait_until(lambda: (lambda r: r if r[1]["streams"]["cam2"]["state"] ==
                                      "disconnected" else None)(healthz(port)), 20,
                             "cam2 disconnected")
        assert code == 503 and h["status"] == "failing"
        assert h["streams"]["camera"]["state"] in ("ok", "degraded")
        assert h["worker"]["alive"]
        w0 = h["worker"]["windows"]
        wait_until(lambda: healthz(port)[1]["worker"]["windows"] >= w0 + 2, 15,
                   "windows after the unplug")
        # ...and it comes back when the sensor does.
        write_video(video)
        wait_until(lambda: healthz(port)[1]["streams"]["cam2"]["state"] in ("ok", "degraded"), 20,
                   "cam2 back")

        # -- SIGTERM: drain and exit 0 ------------------------------------------------------------
        n_msgs = len(notify.messages)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        err = (tmp_path / "err.log").read_text()
        assert proc.returncode == 0, err[-3000:]
        notify.wait_for("STOPPING", 5, after=n_msgs)
        # Every interval still open was closed on the way out.
        final = events(ev_b)
        open_ = {}
        for e in final:
            open_[e["name"]] = e["state"]
        assert all(s == "end" for s in open_.values()), open_
        assert "Traceback" not in err
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- daemon log (tail) ---\n"
                             f"{(tmp_path / 'err.log').read_text()[-4000:]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log_out.close()
        log_err.close()
        notify.sock.close()


def run_cli(args, cwd, timeout=60):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_invalid_config_exits_1_naming_file_and_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[streams]]\nname = "s"\nkind = "sim"\n[windows]\nhop_s = "fast"\n')
    r = run_cli(["run", "--config", str(cfg)], tmp_path)
    assert r.returncode == 1
    assert str(cfg) in r.stderr and "windows.hop_s" in r.stderr and "positive number" in r.stderr
    assert "Traceback" not in r.stderr


def test_anchors_of_another_space_are_refused_at_start(tmp_path, assets_paths):
    bundle, anchors = assets_paths
    d = json.loads(Path(anchors).read_text())
    d["space_id"] = "ebs1-11111111111111111111"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(d))
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(f'bundle = "{bundle}"\nanchors = "{other}"\n[[streams]]\nname = "s"\n'
                   f'kind = "sim"\n[health]\nenabled = false\n')
    r = run_cli(["run", "--config", str(cfg), "--check"], tmp_path)
    assert r.returncode == 1
    assert "embedding spaces differ" in r.stderr
    cfg.write_text(cfg.read_text().replace(str(other), str(anchors)))
    r = run_cli(["run", "--config", str(cfg), "--check"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_unit_file_ships_and_is_a_notify_service():
    import edgebind.daemon
    unit = (Path(edgebind.daemon.__file__).parent / "edgebind.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID",
                 "User=edgebind", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "edgebind run --config", "RuntimeDirectory=edgebind", "LimitNOFILE="):
        assert line in unit, line
    assert "User=root" not in unit


# What the unit's comments tell users of systemd < 253 to put instead of its Type= line.
OLDER_FORM = "Type=notify\nExecReload=/bin/kill -HUP $MAINPID\n"


def unit_for_this_systemd(unit: str, version: int) -> str:
    """The shipped unit as `edgebind.daemon.unit.unit_text` fits it to systemd ``version``,
    ExecStart pointed at this venv's `edgebind` (verify checks the program exists)."""
    from edgebind.daemon.unit import UNIT_FILE, unit_text
    assert unit == UNIT_FILE.read_text()
    venv_edgebind = Path(sys.executable).parent / "edgebind"
    start = str(venv_edgebind) if venv_edgebind.exists() else f"{sys.executable} -m edgebind.cli"
    fitted = unit_text(version, edgebind=start)
    if version < 253:
        assert "".join(f"#   {line}\n" for line in OLDER_FORM.splitlines()) in unit
        assert OLDER_FORM in fitted and "\nType=notify-reload\n" not in fitted
    else:
        assert fitted.replace(f"{start} run", "/opt/edgebind/.venv/bin/edgebind run") == unit
    return fitted


def test_the_unit_fits_the_systemd_that_runs_it():
    from edgebind.daemon.unit import unit_text
    for version, wanted, absent in ((249, OLDER_FORM, "\nType=notify-reload\n"),
                                    (252, OLDER_FORM, "\nType=notify-reload\n"),
                                    (253, "\nType=notify-reload\n", "\nExecReload=")):
        unit = unit_text(version)
        assert wanted in unit and absent not in unit, version
    assert "ExecStart=/venv/bin/edgebind run --config" in unit_text(253, edgebind="/venv/bin/edgebind")


def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    import re
    import shutil

    from tests.conftest import missing
    tool = shutil.which("systemd-analyze")
    if tool is None:
        # CI installs systemd (.ci/run) and sets EDGEBIND_REQUIRE_DEVICES=1: fail, don't skip.
        missing("systemd-analyze is not installed (apt-get install systemd)")
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60).stdout
    version = int(re.match(r"systemd (\d+)", out).group(1))
    import edgebind.daemon
    shipped = (Path(edgebind.daemon.__file__).parent / "edgebind.service").read_text()
    assert "\nType=notify-reload\n" in shipped and "\nExecReload=" not in shipped
    unit = unit_for_this_systemd(shipped, version)
    (tmp_path / "edgebind.service").write_text(unit)
    r = subprocess.run([tool, "verify", str(tmp_path / "edgebind.service")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "edgebind.service" not in r.stderr, r.stderr      # no warnings about our unit
    # The documented socket path is writable under ProtectSystem=strict: /run/edgebind.
    docs = (REPO / "docs" / "sinks.md").read_text()
    assert "/run/edgebind/events.sock" in docs and "RuntimeDirectory=edgebind" in unit
    # docs/daemon.md gives the same older form.
    assert OLDER_FORM in (REPO / "docs" / "daemon.md").read_text()


def handles(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler installed for ``signum`` (its SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines()
                if line.startswith("SigCgt:"))
    return bool(mask >> (signum - 1) & 1)


def test_signal_handlers_are_installed_before_anything_opens(tmp_path, monkeypatch):
    """`run` installs its handlers first: when opening the bundle fails, they are already in
    place (they used to be installed only once everything had opened)."""
    from argparse import Namespace

    from edgebind.daemon import service
    saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(f'bundle = "{tmp_path / "no-bundle"}"\n[[streams]]\nname = "s"\nkind = "sim"\n')
    try:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with pytest.raises(Exception, match="no-bundle"):
            service.run(Namespace(config=str(cfg), check=False, log_level="error"))
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def test_sighup_during_start_up_is_served_once_running(tmp_path, assets_paths):
    bundle, anchors = assets_paths
    port = free_port()
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(f'bundle = "{bundle}"\nanchors = "{anchors}"\nthreads = 1\n'
                   '[[streams]]\nname = "sim"\nkind = "sim"\nspeed = 1\nduration = 300\n'
                   f'[health]\nlisten = "127.0.0.1:{port}"\n'
                   f'[[sinks]]\nkind = "jsonl"\npath = "{tmp_path / "ev.jsonl"}"\n')
    notify = Notify(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "PYTHONPATH": str(REPO)}
    err = open(tmp_path / "err.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", NO_TORCH, "run", "--config", str(cfg)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_until(lambda: handles(proc.pid, signal.SIGHUP) or proc.poll() is not None,
                          60, "the SIGHUP handler")
        proc.send_signal(signal.SIGHUP)          # e.g. `systemctl reload` while it starts
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("READY", 90)
        assert wait_until(lambda: healthz(port)[1]["reloads"]["ok"] >= 1, 30,
                          "the reload asked for during start-up")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
        notify.sock.close()
    assert "Traceback" not in (tmp_path / "err.log").read_text()
