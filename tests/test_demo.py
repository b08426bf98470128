"""`edgebind demo`: runs the daemon's pipeline on the simulated world and exits 0; and the
event-matching rule its precision/recall come from."""
from __future__ import annotations

import json
import subprocess
import sys

from edgebind.demo import match_events
from tests.conftest import REPO
from tests.pipeline.assets_helper import bundle_and_anchors, default_assets

S = 1_000_000_000


def test_matching_is_one_to_one_within_tolerance():
    truth = [("dog", 10 * S, 12 * S), ("glass", 20 * S, 21 * S), ("dog", 30 * S, 31 * S)]
    dets = [("dog", 11 * S), ("dog", 11 * S + 5), ("glass", 23 * S), ("glass", 25 * S),
            ("smoke", 5 * S)]
    m = match_events(dets, truth, tolerance_s=2.0)
    assert m.true_positives == 2                     # dog@11 and glass@23 (within 2 s after end)
    assert m.precision == 2 / 5 and m.recall == 2 / 3
    assert {(f["name"], f["t_s"]) for f in m.false_positives} == {
        ("dog", 11.000000005), ("glass", 25.0), ("smoke", 5.0)}   # a duplicate counts against
    assert m.missed == [{"name": "dog", "start_s": 30.0, "end_s": 31.0}]


def test_matching_edges():
    assert match_events([("a", 8 * S)], [("a", 10 * S, 11 * S)], 2.0).true_positives == 1
    assert match_events([("a", 7 * S)], [("a", 10 * S, 11 * S)], 2.0).true_positives == 0
    assert match_events([("b", 10 * S)], [("a", 10 * S, 11 * S)], 2.0).true_positives == 0
    empty = match_events([], [], 2.0)
    assert empty.precision == 1.0 and empty.recall == 1.0
    assert match_events([], [("a", 0, S)], 2.0).recall == 0.0


def test_demo_runs_and_exits_0(tmp_path):
    args = ["demo", "--seed", "1", "--duration", "14", "--out", str(tmp_path / "out")]
    if default_assets() is None:                     # before the default bundle is built
        bundle, anchors = bundle_and_anchors()
        args += ["--bundle", str(bundle), "--anchors", str(anchors)]
    code = ("import sys; sys.modules['torch'] = None\nfrom edgebind.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                    "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    for needle in ("truth", "precision", "recall", "timeline:", "Next steps",
                   "edgebind anchors build", "edgebind run --config", "edgebind export"):
        assert needle in out, needle
    d = tmp_path / "out"
    summary = json.loads((d / "summary.json").read_text())
    assert summary["occurrences"] >= 7               # every event at least once in "demo"
    # The world the bundle was trained on (its manifest's record), unless --difficulty says.
    from edgebind.runtime import load_bundle
    trained = load_bundle(summary["bundle"]).manifest.extra.get("training", {})
    assert summary["difficulty"] == float(trained.get("difficulty", 1.0))
    # the default bundle's tuned detector when it ships one, else the detector defaults
    from edgebind.assets import default_detector_path
    shipped = default_detector_path() if default_assets() is not None else None
    assert summary["detector"] == (str(shipped) if shipped else "defaults")
    tp, n = summary["true_positives"], summary["detections"]
    assert summary["precision"] == (tp / n if n else 0.0)
    assert summary["recall"] == tp / summary["occurrences"]
    assert f"precision {summary['precision']:.3f}" in out
    events = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines()]
    assert sum(e["state"] in ("start", "instant") for e in events) >= n
    assert out.count(" START ") == n
    png = (d / "timeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    html = (d / "timeline.html").read_text()
    assert "data:image/png;base64," in html and "precision" in html
