"""One detector, everywhere: ``edgebind demo``, the daemon (``edgebind run``'s config -> Daemon)
and ``Pipeline.from_files`` build the same detector from the default bundle and anchors (the
tuned ``detector.json`` beside them) and so emit the same events on the demo scenario.

All three are fed the same simulated world (demo scenario, seed 0, at the difficulty the bundle
was trained at) synchronously, as the demo feeds it: the world's sensor noise is seeded by
absolute time, so a live sim source starting "now" would be another world, and live threads may
drop windows on a busy machine. What differs between the three entry points, and what this test
holds equal, is how each builds its bundle, anchors, detector settings and levels."""
from __future__ import annotations

import argparse
import json
import textwrap

import pytest

from tests.pipeline.assets_helper import default_assets

SEED, DURATION = 0, 60.0
# Event fields that the three must agree on (wall-clock fields differ run to run).
KEYS = ("id", "name", "state", "start_ns", "end_ns", "t_ns", "threshold", "decision", "streams",
        "space_id")


@pytest.fixture(scope="module")
def assets():
    found = default_assets()
    if found is None:
        pytest.skip("the default bundle is not built in this checkout")
    from edgebind.assets import default_detector_path
    if default_detector_path() is None:
        pytest.skip("the default bundle ships no tuned detector")
    return found


def world(bundle):
    from edgebind.runtime import load_bundle
    from edgebind.sim import World
    trained = load_bundle(bundle).manifest.extra.get("training", {})
    return World("demo", seed=SEED, duration_s=DURATION,
                 difficulty=float(trained.get("difficulty", 1.0)))


def same(a: list[dict], b: list[dict]) -> bool:
    if [{k: e[k] for k in KEYS} for e in a] != [{k: e[k] for k in KEYS} for e in b]:
        return False
    return all(abs(x["score"] - y["score"]) <= 1e-5 for x, y in zip(a, b))


def run_demo(tmp_path) -> tuple[list[dict], dict]:
    from edgebind import demo
    p = argparse.ArgumentParser()
    demo.add_arguments(p)
    out = tmp_path / "demo"
    assert demo.run(p.parse_args(["--seed", str(SEED), "--duration", str(DURATION),
                                  "--out", str(out), "--no-picture"])) == 0
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return events, json.loads((out / "summary.json").read_text())


def run_daemon(tmp_path, bundle, w) -> tuple[list[dict], object]:
    """The daemon as ``edgebind run --config`` builds it from a config that names no detector
    file: the default bundle, anchors and (so) their tuned detector."""
    from edgebind.daemon.config import load_config
    from edgebind.daemon.service import Daemon
    cfg = tmp_path / "edgebind.toml"
    cfg.write_text(textwrap.dedent(f"""\
        [[streams]]
        name = "sim"
        kind = "sim"
        scenario = "demo"
        seed = {SEED}
        difficulty = {w.difficulty}

        [[sinks]]
        kind = "jsonl"
        path = "events.jsonl"

        [health]
        enabled = false
        """))
    daemon = Daemon(load_config(cfg))
    for _ in daemon.pipeline.run_sync(w.samples()):
        pass
    daemon.pipeline.close()
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines], daemon


def run_from_files(bundle, anchors, w, **kw) -> list[dict]:
    from edgebind.pipeline import Pipeline
    pipe = Pipeline.from_files(bundle, anchors, [], stream_infos=w.stream_infos, **kw)
    return [e.to_dict() for e in pipe.run_sync(w.samples())]


@pytest.mark.slow
def test_demo_daemon_and_from_files_emit_the_same_events(assets, tmp_path):
    from edgebind.assets import default_detector_path
    bundle, anchors = assets
    demo_events, summary = run_demo(tmp_path)
    assert summary["detector"] == str(default_detector_path())
    daemon_events, daemon = run_daemon(tmp_path, bundle, world(bundle))
    assert daemon.tuned_detector == default_detector_path()
    assert daemon.health()["tuned_detector"] == str(default_detector_path())
    files_events = run_from_files(bundle, anchors, world(bundle))
    starts = [e for e in demo_events if e["state"] in ("start", "instant")]
    assert len(starts) == summary["detections"] > 0
    assert same(demo_events, daemon_events), (demo_events, daemon_events)
    assert same(demo_events, files_events), (demo_events, files_events)
    # The comparison can tell detectors apart: without the tuned file, other events.
    untuned = run_from_files(bundle, anchors, world(bundle), detector=False)
    assert not same(demo_events, untuned)
