"""The fast version of scripts/ros_replay_equivalence.py: a few seconds of the simulated robot
as a third party's ROS 2 bag (no EdgeBind metadata, read through a topic map) replay through
the pipeline to the same events as EdgeBind's own recording of the same world (10 s: the
default scenario's first events; about 10 s of test time)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.record.rosbag_helpers import need_rosbags

ROOT = Path(__file__).resolve().parents[2]


def test_bag_replays_to_the_same_events_as_the_native_recording():
    need_rosbags()
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "ros_replay_equivalence.py"),
                        "--seconds", "10", "--foreign"], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["same_events"] and res["events"]["bag"] == res["events"]["native"] > 0
    assert res["bag"]["windows"] == res["native"]["windows"] > 0
