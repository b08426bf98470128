"""`edgebind run --foxglove` as a real process (torch unimportable) and `edgebind demo
--foxglove`, each watched by the independent client of tests/foxglove/client.py."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

from tests.conftest import REPO
from tests.daemon.test_daemon_process import NO_TORCH, free_port
from tests.foxglove.test_bridge import _need_sdk

TOPICS = ["/camera/image", "/thermal/preview", "/mic/level", "/imu/imu", "/edgebind/scores",
          "/edgebind/health"]


def test_run_serves_the_live_view_and_stops_it_on_sigterm(tmp_path):
    _need_sdk()
    from tests.foxglove.client import watch
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(textwrap.dedent("""\
        threads = 1
        [[streams]]
        name = "sim"
        kind = "sim"
        scenario = "default"
        speed = 1
        [windows]
        hop_s = 0.5
        [health]
        enabled = false
        """))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", NO_TORCH, "run", "--config", str(cfg),
                             "--foxglove", f"127.0.0.1:{port}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = None
        for _ in range(100):               # the bundle loads first
            try:
                out = watch(f"ws://127.0.0.1:{port}", TOPICS, 4.0)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        assert out is not None, proc.communicate(timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    got = out["messages"]
    for topic in TOPICS:
        assert got[topic], (topic, {t: len(m) for t, m in got.items()}, err[-2000:])
    assert got["/camera/image"][0][1].frame_id == "camera_optical_frame"
    assert got["/edgebind/health"][-1][1]["status"] in ("ok", "degraded", "failing")
    assert len(got["/edgebind/scores"][-1][1]["scores"]) >= 7
    # frame times moved onto the wall clock: today, not 1970
    assert abs(got["/camera/image"][-1][0] / 1e9 - time.time()) < 60
    assert "Foxglove view on ws://127.0.0.1" in err and "Foxglove view stopped" in err


def test_demo_waits_for_a_client_then_shows_the_simulated_robot(tmp_path, capsys):
    _need_sdk()
    from edgebind.tools.demo import DemoOptions, run_demo
    from tests.foxglove.client import watch
    port, out = free_port(), {}

    def client() -> None:
        for _ in range(200):
            try:
                out.update(watch(f"ws://127.0.0.1:{port}", TOPICS + ["/edgebind/log"], 5.0))
                return
            except OSError:
                time.sleep(0.1)
    th = threading.Thread(target=client)
    th.start()
    t = time.monotonic()
    summary = run_demo(DemoOptions(duration=20, out=str(tmp_path), picture=False,
                                   foxglove=("127.0.0.1", port), speed=5.0,
                                   foxglove_wait_s=30))
    took = time.monotonic() - t
    th.join(30)
    text = capsys.readouterr().out
    assert "Foxglove view on ws://127.0.0.1" in text and "layout.json" in text
    assert summary["windows"] > 0 and took >= 20 / 5 - 0.5     # paced, not as fast as possible
    got = out["messages"]
    for topic in TOPICS:
        assert got[topic], topic
    assert any("start" in m.message for _, m in got["/edgebind/log"])
