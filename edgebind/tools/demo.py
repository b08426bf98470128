"""The demo: the daemon's pipeline on a simulated scenario, with the default tiny bundle and
anchors. Prints events beside the ground truth as they happen, writes a timeline picture
(``timeline.png`` and a self-contained ``timeline.html``), the events (``events.jsonl``) and a
``summary.json``, prints precision and recall, and says how to go on. ``edgebind demo`` runs it.

Scoring: ``edgebind.detect.matching`` (event level, one to one, ``tolerance`` seconds).
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebind.detect.matching import Match, match_events
from edgebind.sim.events import QUIET
from edgebind.tools.timeline import write_html, write_png

NOT_EVENTS = (QUIET,)   # the simulated world's background class, never an event

NEXT_STEPS = """
Next steps
  your own prompts:  write prompts.toml ([[anchor]] name = "...", prompts = ["..."]), then
                     edgebind anchors build --bundle BUNDLE --prompts prompts.toml --out anchors.json
                     (the shipped detector.json is tuned for the shipped anchors; yours run the
                     detector defaults until you tune one beside them: docs/detection.md)
  real sensors:      copy examples/edgebind.toml, list your cameras, microphones, IMUs in
                     [[streams]], then   edgebind run --config edgebind.toml   (docs/daemon.md)
  real ImageBind:    bring imagebind_huge.pth (CC BY-NC-SA 4.0), then
                     edgebind export --model imagebind_huge.pth --modalities vision,audio,text \\
                         --precision int8 --out bundles/ib-huge
                     and point `bundle` in the config (or --bundle here) at it
  in Python:         docs/pipeline.md"""


@dataclass
class DemoOptions:
    """What ``edgebind demo`` takes (its options say what each means)."""

    seed: int = 0
    duration: float = 60.0
    out: str = "edgebind-demo"
    scenario: str = "demo"
    difficulty: float | None = None
    bundle: str | None = None
    anchors: str | None = None
    detector: str | None = None       # a file, "none" (detector defaults), None (the tuned one)
    tolerance: float = 2.0
    threads: int | None = None
    picture: bool = True
    json: bool = False                # one JSON document on stdout instead of the text report
    foxglove: tuple[str, int] | None = None   # (host, port): a live Foxglove view, real time
    speed: float = 1.0                # with foxglove: × real time
    foxglove_wait_s: float = 60.0     # with foxglove: wait this long for a client first


class Scene:
    """What the demo runs: the bundle, the anchors and their detector, the simulated world and
    its ground truth (the occurrences of event anchors)."""

    def __init__(self, opts: DemoOptions) -> None:
        from edgebind import assets
        from edgebind.anchors import AnchorSet
        from edgebind.detect.tuned import build_detector
        from edgebind.embedder import Embedder
        from edgebind.sim import World

        self.bundle = Path(opts.bundle) if opts.bundle else assets.default_bundle_path()
        self.anchors = Path(opts.anchors) if opts.anchors else assets.default_anchors_path()
        kw = {"threads": opts.threads} if opts.threads else {}
        self.embedder = Embedder.from_bundle(self.bundle, text=False, **kw)
        self.anchor_set = AnchorSet.load(self.anchors, space_id=self.embedder.space_id)
        choice = {None: None, "none": False}.get(opts.detector, opts.detector)
        self.detector, tuned = build_detector(self.anchor_set, self.anchors, choice=choice,
                                              space_id=self.embedder.space_id)
        self.detector_file = tuned.path if tuned is not None else None
        self.difficulty = opts.difficulty
        if self.difficulty is None:  # the world the model was trained on (edgebind eval too)
            self.difficulty = float(self.embedder.training.get("difficulty", 1.0))
        self.world = World(opts.scenario, seed=opts.seed, duration_s=opts.duration,
                           difficulty=self.difficulty)
        self.t0 = int(getattr(self.world, "start_ns", 0))
        self.targets = [a.name for a in self.anchor_set.targets if a.name not in NOT_EVENTS]
        self.truth = [o for o in self.world.timeline if o.event in self.targets]

    def seconds(self, t_ns: int) -> float:
        return (t_ns - self.t0) / 1e9

    def stamp(self, t_ns: int) -> str:
        return f"{self.seconds(t_ns):7.2f} s"


class Timeline:
    """What happened, printed as it happens and kept for the picture: each window's scores, the
    ground truth as it begins, each detection's start and end."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.times: list[float] = []
        self.series: dict[str, list[float]] = {n: [] for n in scene.targets}
        self.levels: dict[str, float] = {}
        self.rows: list[tuple[float, str, str, str]] = []      # the HTML page's log
        self.shown = 0                                         # truth occurrences printed
        self.detections: list[tuple[str, int]] = []            # (name, onset ns)
        self.open: dict[str, int] = {}                         # name -> onset, not ended yet
        self.spans: list[tuple[str, float, float]] = []        # ended detections, seconds

    def on_window(self, r: Any) -> None:
        self.times.append(self.scene.seconds(r.t_end_ns))
        for n in self.scene.targets:
            self.series[n].append(r.scores.get(n, float("nan")))
        self.levels.update({k: v for k, v in r.levels.items() if k in self.series})

    def truth_until(self, t_ns: int) -> None:
        sc, truth = self.scene, self.scene.truth
        while self.shown < len(truth) and truth[self.shown].t_start_ns <= t_ns:
            o = truth[self.shown]
            dur = (o.t_end_ns - o.t_start_ns) / 1e9
            print(f"  {sc.stamp(o.t_start_ns)}  truth  {o.event:<16}  \"{o.caption}\" "
                  f"({dur:.1f} s)")
            self.rows.append((sc.seconds(o.t_start_ns), "truth", o.event, o.caption))
            self.shown += 1

    def on_event(self, ev: Any) -> None:
        sc, t = self.scene, int(ev.t_ns)
        self.truth_until(t)
        if ev.name not in sc.targets:
            return
        active = sc.world.label_at(ev.start_ns) | sc.world.label_at(t)
        ok = "ok: in truth" if ev.name in active else "not in truth now"
        if ev.state in ("start", "instant"):
            self.detections.append((ev.name, int(ev.start_ns)))
            self.open[ev.name] = int(ev.start_ns)
            print(f"  {sc.stamp(t)}  START  {ev.name:<16}  score {ev.score:.3f} >= "
                  f"{ev.threshold:.3f}  [{ok}]")
            self.rows.append((sc.seconds(t), "start", ev.name, f"score {ev.score:.3f}; {ok}"))
        if ev.state in ("end", "instant"):
            a = self.open.pop(ev.name, int(ev.start_ns))
            self.spans.append((ev.name, sc.seconds(a), sc.seconds(int(ev.end_ns or t))))
            if ev.state == "end":
                print(f"  {sc.stamp(t)}  end    {ev.name:<16}  peak {ev.score:.3f}, lasted "
                      f"{(ev.duration_s or 0):.1f} s")
                self.rows.append((sc.seconds(t), "end", ev.name, f"peak {ev.score:.3f}"))

    def draw(self, out: Path, title: str, summary: dict[str, Any]) -> list[Path]:
        sc = self.scene
        truth = [(o.event, sc.seconds(o.t_start_ns), sc.seconds(o.t_end_ns)) for o in sc.truth]
        still_open = [(n, sc.seconds(a), self.times[-1] if self.times else 0.0)
                      for n, a in self.open.items()]
        png = write_png(out / "timeline.png", sc.targets, self.times, self.series, self.levels,
                        truth, self.spans + still_open, title)
        return [png, write_html(out / "timeline.html", png, title, summary, sorted(self.rows))]


def check_options(opts: DemoOptions) -> None:
    from edgebind.sim import SCENARIOS
    if opts.duration <= 0:
        raise ValueError(f"--duration must be > 0 seconds, got {opts.duration}")
    if opts.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {opts.scenario!r}; expected one of "
                         f"{', '.join(SCENARIOS)}")


def run_demo(opts: DemoOptions) -> dict[str, Any]:
    """Run the demo, print as it goes, write its files; returns the summary. With
    ``opts.json`` the text report is held back and stdout gets one JSON document instead: the
    summary, the log (truth, starts, ends) and the files written."""
    if not opts.json:
        return _run(opts)
    with contextlib.redirect_stdout(io.StringIO()):
        summary = _run(opts)
    print(json.dumps(summary, indent=1))
    return summary


def _run(opts: DemoOptions) -> dict[str, Any]:
    from edgebind.pipeline import Pipeline, PipelineConfig
    from edgebind.sinks import make_sink

    check_options(opts)
    sc = Scene(opts)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    events_path = out / "events.jsonl"
    events_path.unlink(missing_ok=True)
    sink = make_sink({"kind": "jsonl", "path": str(events_path)}, "edgebind demo")
    tl = Timeline(sc)
    view = _view(opts, sc)
    pipeline = Pipeline([], sc.embedder, sc.anchor_set, sc.detector, [sink],
                        config=PipelineConfig(), stream_infos=sc.world.stream_infos,
                        on_window=_both(tl.on_window, view and view.on_window),
                        on_event=view and view.on_event)
    print(f"EdgeBind demo: scenario {opts.scenario!r}, seed {opts.seed}, {opts.duration:g} s "
          f"simulated; streams {', '.join(i.stream for i in sc.world.stream_infos)}")
    print(f"  bundle {sc.bundle} (space {sc.embedder.space_id}), {len(sc.targets)} event "
          f"anchors from {sc.anchors}")
    print(f"  {'time':>9}  {'':5}  {'event':<16}  details")
    started = time.perf_counter()
    try:
        if view is not None:
            view.health = pipeline.health
        for ev in pipeline.run_sync(view.paced(sc.world.samples()) if view else
                                    sc.world.samples()):
            tl.on_event(ev)
    finally:
        if view is not None:
            view.stop()
    tl.truth_until(sc.t0 + int(opts.duration * 1e9))
    wall = time.perf_counter() - started
    sink.close()

    m = match_events(tl.detections, [(o.event, o.t_start_ns, o.t_end_ns) for o in sc.truth],
                     opts.tolerance)
    summary = _summary(opts, sc, pipeline, m, wall)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    title = f"edgebind demo: {opts.scenario}, seed {opts.seed}"
    pictures = tl.draw(out, title, summary) if opts.picture else []
    if opts.json:
        summary = {**summary, "log": [{"t_s": round(t, 3), "kind": k, "what": w, "details": d}
                                      for t, k, w, d in sorted(tl.rows)],
                   "files": {"timeline": [str(f) for f in pictures],
                             "events": str(events_path), "summary": str(out / "summary.json")}}
    _print_results(opts, m, pipeline.windows_done, wall)
    for f in pictures:
        print(f"timeline: {f}")
    print(f"events:   {events_path}\nsummary:  {out / 'summary.json'}")
    print(NEXT_STEPS)
    sys.stdout.flush()
    return summary


def _view(opts: DemoOptions, sc: Scene) -> Any:
    """The started Foxglove view (``--foxglove``), or None."""
    if opts.foxglove is None:
        return None
    from edgebind.foxglove.live import LiveView
    return LiveView(opts.foxglove, sc.world.stream_infos, sc.t0, speed=opts.speed,
                    wait_s=opts.foxglove_wait_s).start()


def _both(first: Any, second: Any) -> Any:
    """One window callback for the timeline and, with ``--foxglove``, the view."""
    if second is None:
        return first
    return lambda r: (first(r), second(r))


def _summary(opts: DemoOptions, sc: Scene, pipeline: Any, m: Match,
             wall: float) -> dict[str, Any]:
    lat = pipeline.metrics()["latency"]
    return {"scenario": opts.scenario, "seed": opts.seed, "duration_s": opts.duration,
            "difficulty": sc.difficulty,
            "detector": str(sc.detector_file) if sc.detector_file else "defaults",
            "tolerance_s": opts.tolerance, "bundle": str(sc.bundle), "anchors": str(sc.anchors),
            "space_id": sc.embedder.space_id, "windows": pipeline.windows_done,
            "wall_s": round(wall, 3), **m.to_dict(),
            "latency_ms": {k: None if v["p50"] is None else
                           {"p50": round(v["p50"] * 1e3, 3), "p99": round(v["p99"] * 1e3, 3)}
                           for k, v in lat.items()}}


def _print_results(opts: DemoOptions, m: Match, windows: int, wall: float) -> None:
    print("")
    print(f"precision {m.precision:.3f}  recall {m.recall:.3f}  ({m.true_positives} of "
          f"{m.detections} detections match; {m.occurrences} true occurrences; tolerance "
          f"{opts.tolerance:g} s)")
    if m.missed:
        print("  missed: " + ", ".join(f"{x['name']} at {x['start_s']:.1f} s" for x in m.missed))
    if m.false_positives:
        print("  false positives: " + ", ".join(f"{x['name']} at {x['t_s']:.1f} s"
                                                for x in m.false_positives))
    print(f"{windows} windows in {wall:.1f} s ({opts.duration / max(wall, 1e-9):.1f}x real time)")
