"""`edgebind sim` through the real command entry point."""
from __future__ import annotations

import json
import wave

import numpy as np
from PIL import Image

from edgebind.cli import main
from edgebind.sim import EVENTS, SCENARIOS


def test_events_and_scenarios_listed(capsys):
    assert main(["sim", "events"]) == 0
    out = capsys.readouterr().out
    assert all(e in out for e in EVENTS)
    assert main(["sim", "scenarios"]) == 0
    out = capsys.readouterr().out
    assert all(s in out for s in SCENARIOS)


def test_timeline_json(capsys):
    assert main(["sim", "timeline", "demo", "--seed", "2", "--duration", "60", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["scenario"] == "demo" and len(d["timeline"]) == 7
    assert all(0 <= it["t_start_s"] < it["t_end_s"] <= 60 for it in d["timeline"])


def test_clip_files(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["sim", "clip", "door_slamming", "--out", str(out), "--seed", "3"]) == 0
    assert "door_slamming" in capsys.readouterr().out
    assert Image.open(out / "vision.png").size == (224, 224)
    assert Image.open(out / "thermal.png").size == (160, 120)
    with wave.open(str(out / "audio.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() == 32000
    imu = np.loadtxt(out / "imu.csv", delimiter=",", skiprows=1)
    assert imu.shape == (800, 7)
    meta = json.loads((out / "clip.json").read_text())
    assert meta["event"] == "door_slamming" and meta["events"][0] == "door_slamming"


def test_errors_are_one_line(capsys, tmp_path):
    assert main(["sim", "timeline", "nope"]) == 1
    err = capsys.readouterr().err
    assert "unknown scenario 'nope'" in err and "Traceback" not in err
    assert main(["sim", "clip", "explosion", "--out", str(tmp_path / "x")]) == 1
    assert "unknown event 'explosion'" in capsys.readouterr().err
