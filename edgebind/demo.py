"""``edgebind demo``: the daemon's pipeline on a simulated scenario, with the default tiny bundle
and anchors. Prints events beside the ground truth as they happen, writes a timeline picture
(``timeline.png`` and a self-contained ``timeline.html``), the events (``events.jsonl``) and a
``summary.json``, prints precision and recall, and says how to go on.

Scoring: ``edgebind.detect.matching`` (event level, one to one, ``--tolerance`` seconds).
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from edgebind.detect.matching import match_events

NOT_EVENTS = ("quiet_room",)


# -- the timeline picture ---------------------------------------------------------------------
def write_png(path: Path, names: Sequence[str], times_s: Sequence[float],
              scores: dict[str, list[float]], levels: dict[str, float],
              truth: Sequence[tuple[str, float, float]], detected: Sequence[tuple[str, float, float]],
              title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(names))
    fig, axes = plt.subplots(n, 1, figsize=(12, 1.25 * n + 1.0), sharex=True, squeeze=False)
    end = max([*times_s, *(b for _, _, b in truth), 1.0])
    for ax, name in zip(axes[:, 0], names):
        for tname, a, b in truth:
            if tname == name:
                ax.axvspan(a, b, color="tab:green", alpha=0.25, lw=0)
        ys = scores.get(name, [])
        ax.plot(times_s[:len(ys)], ys, color="tab:blue", lw=1.2)
        if name in levels:
            ax.axhline(levels[name], color="tab:red", ls="--", lw=0.8)
        lo, hi = ax.get_ylim()
        for dname, a, b in detected:
            if dname == name:
                ax.plot([a, max(b, a + 0.1)], [hi, hi], color="tab:orange", lw=5,
                        solid_capstyle="butt")
        ax.set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, end)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"{title}\nblue: score, red dashed: on-level, green: ground truth, "
                 "orange: detected", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_html(path: Path, png: Path | None, title: str, summary: dict[str, Any],
               rows: Sequence[tuple[float, str, str, str]]) -> Path:
    """A single self-contained page: the timeline (embedded PNG), the scores and the log."""
    img = ""
    if png is not None and png.exists():
        b64 = base64.b64encode(png.read_bytes()).decode()
        img = f'<img alt="timeline" style="max-width:100%" src="data:image/png;base64,{b64}">'
    trs = "\n".join(f"<tr><td>{t:7.2f}</td><td>{html.escape(k)}</td><td>{html.escape(w)}</td>"
                    f"<td>{html.escape(x)}</td></tr>" for t, k, w, x in rows)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>precision <b>{summary['precision']:.3f}</b>, recall <b>{summary['recall']:.3f}</b>
({summary['true_positives']} of {summary['detections']} detections matched,
{summary['occurrences']} occurrences; tolerance {summary['tolerance_s']} s)</p>
{img}
<h2>Log</h2><table><tr><th>time (s)</th><th>kind</th><th>what</th><th>details</th></tr>
{trs}
</table></body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


# -- the command ---------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Detect events zero-shot in a simulated multi-sensor scene with the default "
                     "tiny bundle and anchors: prints the events beside the ground truth, writes "
                     "a timeline picture, prints precision and recall, then how to use your own "
                     "prompts, sensors and the real ImageBind checkpoint.")
    p.add_argument("--seed", type=int, default=0, help="scenario seed (default 0)")
    p.add_argument("--duration", type=float, default=60.0, metavar="S",
                   help="simulated seconds (default 60, the whole demo scenario)")
    p.add_argument("--out", default="edgebind-demo", metavar="DIR",
                   help="where to write timeline.png/.html, events.jsonl, summary.json "
                        "(default ./edgebind-demo)")
    p.add_argument("--scenario", default="demo", help="simulated scenario (default: demo)")
    p.add_argument("--difficulty", type=float, default=None, metavar="D",
                   help="simulated world difficulty 0-3 (default: the difficulty the bundle was "
                        "trained at, as recorded in its manifest, else 1.0)")
    p.add_argument("--bundle", default=None, metavar="DIR",
                   help="bundle to use instead of the shipped default")
    p.add_argument("--anchors", default=None, metavar="FILE",
                   help="anchor set to use instead of the shipped default")
    p.add_argument("--detector", default=None, metavar="FILE",
                   help="tuned detector settings and per-anchor levels (edgebind.detector/1 "
                        "JSON), or 'none' for the detector defaults; default: the detector.json "
                        "beside the anchors when there is one (as edgebind run and "
                        "Pipeline.from_files do; the shipped anchors have theirs)")
    p.add_argument("--tolerance", type=float, default=2.0, metavar="S",
                   help="event matching tolerance in seconds (default 2.0; see the docs)")
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument("--no-picture", action="store_true", help="skip the PNG/HTML timeline")


def _fmt_t(t_ns: int, t0: int) -> str:
    return f"{(t_ns - t0) / 1e9:7.2f} s"


def run(args: argparse.Namespace) -> int:
    from edgebind import assets
    from edgebind.anchors import AnchorSet
    from edgebind.detect.tuned import build_detector
    from edgebind.embedder import Embedder
    from edgebind.pipeline import Pipeline, PipelineConfig, WindowResult
    from edgebind.sim import SCENARIOS, World
    from edgebind.sinks import make_sink

    if args.duration <= 0:
        raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {args.scenario!r}; expected one of {', '.join(SCENARIOS)}")
    bundle = Path(args.bundle) if args.bundle else assets.default_bundle_path()
    anchors = Path(args.anchors) if args.anchors else assets.default_anchors_path()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    p = print

    kw = {"threads": args.threads} if args.threads else {}
    embedder = Embedder.from_bundle(bundle, text=False, **kw)
    anchor_set = AnchorSet.load(anchors, space_id=embedder.space_id)
    choice = {None: None, "none": False}.get(args.detector, args.detector)
    detector, tuned = build_detector(anchor_set, anchors, choice=choice,
                                     space_id=embedder.space_id)
    detector_file = tuned.path if tuned is not None else None
    difficulty = args.difficulty
    if difficulty is None:  # the world the model was trained on (edgebind eval does the same)
        difficulty = float(embedder.training.get("difficulty", 1.0))
    world = World(args.scenario, seed=args.seed, duration_s=args.duration, difficulty=difficulty)
    t0 = int(getattr(world, "start_ns", 0))
    targets = [a.name for a in anchor_set.targets if a.name not in NOT_EVENTS]
    truth = [o for o in world.timeline if o.event in targets]
    events_path = out / "events.jsonl"
    events_path.unlink(missing_ok=True)
    sink = make_sink({"kind": "jsonl", "path": str(events_path)}, "edgebind demo")

    times: list[float] = []
    series: dict[str, list[float]] = {n: [] for n in targets}
    levels: dict[str, float] = {}

    def on_window(r: WindowResult) -> None:
        times.append((r.t_end_ns - t0) / 1e9)
        for n in targets:
            series[n].append(r.scores.get(n, float("nan")))
        levels.update({k: v for k, v in r.levels.items() if k in series})

    pipeline = Pipeline([], embedder, anchor_set, detector, [sink],
                        config=PipelineConfig(), stream_infos=world.stream_infos,
                        on_window=on_window)
    p(f"EdgeBind demo: scenario {args.scenario!r}, seed {args.seed}, {args.duration:g} s "
      f"simulated; streams {', '.join(i.stream for i in world.stream_infos)}")
    p(f"  bundle {bundle} (space {embedder.space_id}), {len(targets)} event anchors from {anchors}")
    p(f"  {'time':>9}  {'':5}  {'event':<16}  details")
    log_rows: list[tuple[float, str, str, str]] = []
    shown = 0
    detections: list[tuple[str, int]] = []
    intervals: dict[str, int] = {}
    detected_spans: list[tuple[str, float, float]] = []
    started = time.perf_counter()

    def show_truth_until(t_ns: int) -> None:
        nonlocal shown
        while shown < len(truth) and truth[shown].t_start_ns <= t_ns:
            o = truth[shown]
            dur = (o.t_end_ns - o.t_start_ns) / 1e9
            p(f"  {_fmt_t(o.t_start_ns, t0)}  truth  {o.event:<16}  \"{o.caption}\" ({dur:.1f} s)")
            log_rows.append(((o.t_start_ns - t0) / 1e9, "truth", o.event, o.caption))
            shown += 1

    for ev in pipeline.run_sync(world.samples()):
        t = int(ev.t_ns)
        show_truth_until(t)
        if ev.name not in targets:
            continue
        active = world.label_at(ev.start_ns) | world.label_at(t)
        ok = "ok: in truth" if ev.name in active else "not in truth now"
        if ev.state in ("start", "instant"):
            detections.append((ev.name, int(ev.start_ns)))
            intervals[ev.name] = int(ev.start_ns)
            p(f"  {_fmt_t(t, t0)}  START  {ev.name:<16}  score {ev.score:.3f} >= {ev.threshold:.3f}"
              f"  [{ok}]")
            log_rows.append(((t - t0) / 1e9, "start", ev.name, f"score {ev.score:.3f}; {ok}"))
        if ev.state in ("end", "instant"):
            a = intervals.pop(ev.name, int(ev.start_ns))
            detected_spans.append((ev.name, (a - t0) / 1e9, (int(ev.end_ns or t) - t0) / 1e9))
            if ev.state == "end":
                p(f"  {_fmt_t(t, t0)}  end    {ev.name:<16}  peak {ev.score:.3f}, lasted "
                  f"{(ev.duration_s or 0):.1f} s")
                log_rows.append(((t - t0) / 1e9, "end", ev.name, f"peak {ev.score:.3f}"))
    show_truth_until(t0 + int(args.duration * 1e9))
    wall = time.perf_counter() - started
    sink.close()

    m = match_events(detections, [(o.event, o.t_start_ns, o.t_end_ns) for o in truth],
                     args.tolerance)
    lat = pipeline.metrics()["latency"]
    summary = {"scenario": args.scenario, "seed": args.seed, "duration_s": args.duration,
               "difficulty": difficulty,
               "detector": str(detector_file) if detector_file else "defaults",
               "tolerance_s": args.tolerance, "bundle": str(bundle), "anchors": str(anchors),
               "space_id": embedder.space_id, "windows": pipeline.windows_done,
               "wall_s": round(wall, 3), **m.to_dict(),
               "latency_ms": {k: None if v["p50"] is None else
                              {"p50": round(v["p50"] * 1e3, 3), "p99": round(v["p99"] * 1e3, 3)}
                              for k, v in lat.items()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    pictures = []
    if not args.no_picture:
        title = f"edgebind demo: {args.scenario}, seed {args.seed}"
        png = write_png(out / "timeline.png", targets, times, series, levels,
                        [(o.event, (o.t_start_ns - t0) / 1e9, (o.t_end_ns - t0) / 1e9) for o in truth],
                        detected_spans + [(n, (a - t0) / 1e9, times[-1] if times else 0.0)
                                          for n, a in intervals.items()], title)
        page = write_html(out / "timeline.html", png, title, summary, sorted(log_rows))
        pictures = [png, page]

    p("")
    p(f"precision {m.precision:.3f}  recall {m.recall:.3f}  ({m.true_positives} of "
      f"{m.detections} detections match; {m.occurrences} true occurrences; tolerance "
      f"{args.tolerance:g} s)")
    if m.missed:
        p("  missed: " + ", ".join(f"{x['name']} at {x['start_s']:.1f} s" for x in m.missed))
    if m.false_positives:
        p("  false positives: " + ", ".join(f"{x['name']} at {x['t_s']:.1f} s"
                                            for x in m.false_positives))
    p(f"{pipeline.windows_done} windows in {wall:.1f} s "
      f"({args.duration / max(wall, 1e-9):.1f}x real time)")
    for f in pictures:
        p(f"timeline: {f}")
    p(f"events:   {events_path}\nsummary:  {out / 'summary.json'}")
    p("""
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
  in Python:         docs/pipeline.md""")
    sys.stdout.flush()
    return 0
