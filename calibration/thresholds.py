"""Per-anchor detection thresholds from this robot's own background: the lowest threshold whose
false alarms per hour stay under a target, with a confidence margin so held-out background
meets it too; with positive clips, a precision/recall curve.

A false alarm is an onset: a window at or above the threshold with no window at or above it in
the ``gap`` windows before (the detector's hysteresis and refractory time only merge more, so
the count is conservative). Scores are the detector's smoothed decision values, the numbers
its levels are compared with.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgebind.profile import Profile

from edgebind.calibration.report import Check, Result, plot_path, pyplot, save_figure

HELP = "thresholds: per-anchor thresholds for a target false-alarm rate; precision/recall"
Z = {0.5: 0.0, 0.8: 0.8416, 0.9: 1.2816, 0.95: 1.6449, 0.99: 2.3263}


# -- pure statistics over score arrays ---------------------------------------------------------

def onset_bounds(scores: np.ndarray, gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(s, m): window i is an onset for every threshold th with m[i] < th <= s[i], where m[i] is
    the largest score in the ``gap`` windows before i (-inf at the start). NaN = no evidence."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    s = np.where(np.isfinite(s), s, -np.inf)
    g = max(1, int(gap))
    padded = np.concatenate([np.full(g, -np.inf), s])
    m = np.lib.stride_tricks.sliding_window_view(padded[:-1], g).max(axis=1)
    return s, m


def alarm_count(scores: np.ndarray, threshold: float, gap: int = 1) -> int:
    """Onsets (false alarms, on background) of ``scores`` at ``threshold``."""
    s, m = onset_bounds(scores, gap)
    return int(np.sum((s >= threshold) & (m < threshold)))


def alarm_curve(segments: Sequence[np.ndarray], gap: int = 1
                ) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds ascending, onsets at each) over every distinct score of all segments (each a
    separate recording). The count is piecewise constant and changes only at these values."""
    pairs = [onset_bounds(seg, gap) for seg in segments if len(seg)]
    if not pairs:
        raise ValueError("no background scores")
    s = np.concatenate([p[0] for p in pairs])
    m = np.concatenate([p[1] for p in pairs])
    cand = np.unique(s[np.isfinite(s)])
    if cand.size == 0:
        raise ValueError("background scores are all missing (NaN)")
    low = np.minimum(s, m)  # onsets(th) = #{s >= th} - #{min(s, m) >= th}
    s_sorted, low_sorted = np.sort(s), np.sort(low)
    n_ge = len(s) - np.searchsorted(s_sorted, cand, side="left")
    n_low_ge = len(low) - np.searchsorted(low_sorted, cand, side="left")
    return cand, (n_ge - n_low_ge).astype(np.int64)


def allowed_alarms(target_per_hour: float, hours: float, confidence: float = 0.9,
                   dispersion: float = 1.0) -> int:
    """Most onsets on ``hours`` of background whose one-sided upper confidence bound on the
    rate stays at or under the target (normal approximation to the Poisson with variance
    ``dispersion`` times the mean, continuity +1); -1 when even zero onsets cannot show it
    (record more background)."""
    if hours <= 0:
        raise ValueError("background duration must be positive")
    z = Z.get(round(confidence, 2))
    if z is None:
        raise ValueError(f"confidence must be one of {sorted(Z)}, got {confidence}")
    budget = target_per_hour * hours
    phi = max(1.0, float(dispersion))
    k = -1
    while (k + 1) + z * math.sqrt(phi * (k + 2)) + 1 <= budget:
        k += 1
    return k


def dispersion(segments: Sequence[np.ndarray], threshold: float, gap: int = 1,
               blocks: int = 10) -> float:
    """Variance / mean of onset counts over ``blocks`` equal stretches of background: alarms
    on real background come in clusters, so their count varies more than a Poisson's (>= 1)."""
    s = np.concatenate([onset_bounds(seg, gap)[0] for seg in segments])
    m = np.concatenate([onset_bounds(seg, gap)[1] for seg in segments])
    on = ((s >= threshold) & (m < threshold)).astype(np.float64)
    if len(on) < blocks or on.sum() < 2:
        return 1.0
    per = np.array([b.sum() for b in np.array_split(on, blocks)])
    return float(np.clip(per.var(ddof=1) / max(per.mean(), 1e-9), 1.0, 20.0))


@dataclass
class ThresholdChoice:
    threshold: float
    alarms: int              # onsets on the calibration background at that threshold
    hours: float
    allowed: int
    limited_by_data: bool    # no threshold inside the scores met it: set above the maximum
    dispersion: float = 1.0  # variance/mean of onset counts used for the confidence bound

    @property
    def rate_per_hour(self) -> float:
        return self.alarms / self.hours


def threshold_for_rate(segments: Sequence[np.ndarray], hours: float, target_per_hour: float,
                       gap: int = 1, confidence: float = 0.9) -> ThresholdChoice:
    """The lowest threshold at which every higher threshold also gives at most the allowed
    number of onsets on the background ``segments`` (``hours`` long in all)."""
    cand, counts = alarm_curve(segments, gap)
    allowed = allowed_alarms(target_per_hour, hours, confidence)
    # Second pass: widen the bound by the clustering seen near the first answer.
    first = _pick(cand, counts, allowed)
    phi = dispersion(segments, first, gap)
    allowed = allowed_alarms(target_per_hour, hours, confidence, phi)
    choice = _choose(cand, counts, allowed, hours)
    choice.dispersion = phi
    return choice


def _pick(cand: np.ndarray, counts: np.ndarray, allowed: int) -> float:
    bad = np.nonzero(counts > allowed)[0]
    if bad.size == 0:
        return float(cand[0])
    return float(cand[min(bad[-1] + 1, len(cand) - 1)])


def _choose(cand: np.ndarray, counts: np.ndarray, allowed: int, hours: float) -> ThresholdChoice:
    bad = np.nonzero(counts > allowed)[0]
    spread = float(np.std(cand)) if cand.size > 1 else 1.0
    if bad.size == 0:  # the whole background is fine even at its lowest score
        return ThresholdChoice(float(cand[0]), int(counts[0]), hours, allowed, False)
    v = bad[-1]
    if v + 1 < len(cand):
        th = float((cand[v] + cand[v + 1]) / 2)
        return ThresholdChoice(th, int(counts[v + 1]), hours, allowed, False)
    th = float(cand[v] + max(1e-3, 0.05 * spread))
    return ThresholdChoice(th, 0, hours, allowed, True)


@dataclass
class PRCurve:
    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    false_alarms_per_hour: np.ndarray


def pr_curve(positive_peaks: np.ndarray, background: Sequence[np.ndarray], hours: float,
             gap: int = 1, n_points: int = 200) -> PRCurve:
    """Precision/recall over thresholds: recall = share of positive clips whose peak score
    reaches the threshold; precision = those detections over detections plus background onsets."""
    pos = np.asarray(positive_peaks, dtype=np.float64)
    pos = np.where(np.isfinite(pos), pos, -np.inf)
    if pos.size == 0:
        raise ValueError("no positive clips")
    cand, counts = alarm_curve(background, gap)
    lo = min(float(cand[0]), float(np.min(pos[np.isfinite(pos)], initial=cand[0])))
    hi = max(float(cand[-1]), float(np.max(pos)))
    ths = np.linspace(lo, hi, n_points)
    idx = np.searchsorted(cand, ths, side="left")
    fa = np.where(idx < len(cand), counts[np.minimum(idx, len(cand) - 1)], 0)
    tp = np.array([(pos >= t).sum() for t in ths], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fa > 0, tp / (tp + fa), 1.0)
    return PRCurve(ths, prec, tp / pos.size, fa / hours)


# -- scores from recordings (the daemon's own path: window assembler -> embedder -> detector) --

@dataclass
class ScoreTrack:
    anchors: list[str]
    scores: np.ndarray   # (windows, anchors) smoothed decision values; NaN = no evidence
    hours: float
    hop_s: float


def recording_scores(recording: Path, bundle: Path | None, anchors: Path,
                     profile: Profile | None, hop_s: float = 0.5,
                     detector_config: dict | None = None, show: bool = False, *,
                     embedder: Any = None) -> ScoreTrack:
    """Replay ``recording`` through the pipeline (profile applied) and collect every window's
    per-anchor scores. ``embedder``: one already loaded from ``bundle`` (loaded here if None)."""
    try:
        from edgebind.anchors import AnchorSet
        from edgebind.detect import Detector, DetectorConfig
        from edgebind.pipeline import Pipeline, PipelineConfig
    except ImportError as exc:  # pragma: no cover - the parts ship together
        raise RuntimeError(f"thresholds from recordings need the detection pipeline ({exc})") from None
    from edgebind.record import open_recording

    from edgebind.calibration.report import progress
    emb = embedder if embedder is not None else _load_embedder(bundle)
    aset = AnchorSet.load(anchors, space_id=emb.space_id)
    cfg = DetectorConfig.from_dict(detector_config or {}, source="--detector")
    det = Detector(aset, cfg, thresholds={})
    rows: list[dict[str, float]] = []
    with open_recording(recording) as rep:
        infos = list(rep.streams.values())
        n = rep.summary().message_count
        pipe = Pipeline([], emb, aset, det, config=PipelineConfig(hop_s=hop_s), profile=profile,
                        stream_infos=infos, on_window=lambda w: rows.append(w.scores))
        for _ in pipe.run_sync(progress(rep.samples(), n, f"score {recording.name}", show)):
            pass
    names = [a.name for a in aset.targets]
    scores = np.array([[r.get(a, np.nan) for a in names] for r in rows], dtype=np.float64)
    return ScoreTrack(names, scores.reshape(-1, len(names)), len(rows) * hop_s / 3600, hop_s)


def _load_embedder(bundle: Path | None) -> Any:
    from edgebind.assets import default_bundle_path
    from edgebind.embedder import Embedder
    return Embedder.from_bundle(bundle if bundle is not None else default_bundle_path())


def load_scores_file(path: Path) -> tuple[list[str], list[np.ndarray], float, float,
                                          dict[str, np.ndarray]]:
    """Scores saved as .npz: ``anchors`` (A,) names, ``hop_s``, ``background`` (N, A) or
    ``background_0``, ``background_1``... (one per recording), ``positives_<anchor>`` (clip
    peak scores). Returns (anchors, segments, hours, hop_s, positives)."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read scores file {path}: {exc}") from None
    with z:
        if "anchors" not in z.files or "hop_s" not in z.files:
            raise ValueError(f"scores file {path} needs 'anchors' and 'hop_s' arrays")
        anchors = [str(a) for a in z["anchors"].reshape(-1)]
        hop = float(z["hop_s"])
        if not hop > 0:
            raise ValueError(f"scores file {path}: hop_s must be > 0, got {hop}")
        keys = sorted(k for k in z.files if k == "background" or k.startswith("background_"))
        if not keys:
            raise ValueError(f"scores file {path} has no 'background' scores")
        segs = []
        for k in keys:
            a = np.asarray(z[k], dtype=np.float64)
            a = a.reshape(-1, 1) if a.ndim == 1 else a
            if a.ndim != 2 or a.shape[1] != len(anchors):
                raise ValueError(f"scores file {path}: {k} has shape {a.shape}; expected "
                                 f"(windows, {len(anchors)})")
            segs.append(a)
        pos = {k[len("positives_"):]: np.asarray(z[k], dtype=np.float64).reshape(-1)
               for k in z.files if k.startswith("positives_")}
    hours = sum(len(s) for s in segs) * hop / 3600
    return anchors, segs, hours, hop, pos


# -- the command -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target-fa", type=float, default=1.0,
                   help="target false alarms per hour per anchor (default %(default)s)")
    p.add_argument("--confidence", type=float, default=0.9, choices=sorted(Z),
                   help="confidence that the true rate is under the target (default %(default)s)")
    p.add_argument("--gap", type=float, default=0.0,
                   help="onsets closer than this many seconds count as one alarm (default: "
                        "one window)")
    p.add_argument("--bundle", type=Path, help="model bundle (default: the packaged one)")
    p.add_argument("--anchors", type=Path, help="anchor set file (needed with --recording)")
    p.add_argument("--positives", nargs="+", default=[], metavar="ANCHOR=FILE.mcap",
                   help="clips where an anchor's event happens, for a precision/recall curve")
    p.add_argument("--scores", type=Path,
                   help="precomputed scores (.npz: anchors, hop_s, background, positives_<a>) "
                        "instead of recordings")
    p.add_argument("--hop", type=float, default=0.5, help="window hop in seconds (default 0.5)")
    p.add_argument("--detector", type=Path,
                   help="TOML with a [detector] table (as the daemon config) for scoring")


@dataclass
class Background:
    """Scores to set thresholds from: per-recording background segments (windows, anchors),
    their hours in all, the hop, positive clips' peak scores per anchor, and the space."""

    anchors: list[str]
    segments: list[np.ndarray]
    hours: float
    hop_s: float
    positives: dict[str, list[float]]
    space_id: str | None = None


def _from_scores_file(path: Path) -> Background:
    anchors, segs, hours, hop, pos = load_scores_file(path)
    return Background(anchors, segs, hours, hop, {k: list(v) for k, v in pos.items()})


def _from_recordings(args: argparse.Namespace, profile: Profile) -> Background:
    """Background and positive clips scored through the pipeline, as the daemon would."""
    if not args.recording:
        raise ValueError("thresholds needs background --recording files (or --scores)")
    if args.anchors is None:
        raise ValueError("thresholds from recordings needs --anchors FILE")
    det_cfg = None
    if args.detector is not None:
        from edgebind.fileio import parse_toml
        doc = parse_toml(Path(args.detector).read_bytes(), str(args.detector))
        det_cfg = doc.get("detector", {})
    emb = _load_embedder(args.bundle)
    profile.check(space_id=emb.space_id, source="the profile")

    def scores(path: str) -> ScoreTrack:
        return recording_scores(Path(path), args.bundle, args.anchors, profile, args.hop,
                                det_cfg, args.progress, embedder=emb)
    tracks = [scores(r) for r in args.recording]
    bg = Background(tracks[0].anchors, [t.scores for t in tracks], sum(t.hours for t in tracks),
                    args.hop, {}, emb.space_id)
    for spec in args.positives:
        name, _, f = spec.partition("=")
        if not f or name not in bg.anchors:
            raise ValueError(f"--positives {spec!r}: expected ANCHOR=FILE.mcap with ANCHOR one "
                             f"of {bg.anchors}")
        t = scores(f)
        col = t.scores[:, t.anchors.index(name)]
        bg.positives.setdefault(name, []).append(float(np.nanmax(col)) if np.isfinite(col).any()
                                                 else -np.inf)
    return bg


def run(args: argparse.Namespace, profile: Profile) -> Result:
    bg = (_from_scores_file(args.scores) if args.scores is not None
          else _from_recordings(args, profile))
    hours = bg.hours
    gap = max(1, int(round(args.gap / bg.hop_s))) if args.gap else 1
    res = Result("thresholds")
    res.estimates.update({"background_hours": hours, "target_fa_per_hour": args.target_fa,
                          "anchors": {}})
    if allowed_alarms(args.target_fa, hours, args.confidence) < 0:
        res.notes.append(f"{hours * 60:.1f} min of background cannot show {args.target_fa} "
                         f"false alarms/h at {args.confidence:.0%} confidence: thresholds are set "
                         "above every background score; record more background")
    plt = pyplot() if args.plot_dir is not None and bg.positives else None
    for j, name in enumerate(bg.anchors):
        col = [s[:, j] for s in bg.segments]
        ch = threshold_for_rate(col, hours, args.target_fa, gap, args.confidence)
        profile.thresholds[name] = round(ch.threshold, 6)
        info = {"threshold": ch.threshold, "background_alarms": ch.alarms,
                "background_fa_per_hour": ch.rate_per_hour, "allowed_alarms": ch.allowed,
                "above_all_background": ch.limited_by_data}
        if name in bg.positives:
            peaks = np.array(bg.positives[name])
            rec = float(np.mean(peaks >= ch.threshold))
            info.update({"recall_at_threshold": rec, "positive_clips": len(peaks)})
            res.checks.append(Check(f"{name} recall at threshold", rec, 0.8, ">="))
            if plt is not None:
                res.plots.append(_plot_pr(plt, args.plot_dir, name,
                                          pr_curve(peaks, col, hours, gap), ch.threshold))
        res.estimates["anchors"][name] = info
        res.checks.append(Check(f"{name} background false alarms/h", ch.rate_per_hour,
                                args.target_fa, unit="/h"))
    res.estimates["thresholds"] = {a: profile.thresholds[a] for a in bg.anchors}
    if bg.space_id:
        profile.space_id = bg.space_id
    return res


def _plot_pr(plt: Any, plot_dir: Path, name: str, pc: PRCurve, threshold: float) -> str:
    """Precision/recall and false alarms per hour over the threshold; returns the PNG path."""
    out = plot_path(plot_dir, f"thresholds_pr_{_safe(name)}.png")
    fig, axs = plt.subplots(1, 2, figsize=(10, 4))
    axs[0].plot(pc.recall, pc.precision)
    axs[0].set_xlabel("recall")
    axs[0].set_ylabel("precision")
    axs[0].set_title(f"{name}: precision / recall")
    axs[1].plot(pc.thresholds, pc.false_alarms_per_hour, label="false alarms / h")
    axs[1].plot(pc.thresholds, pc.recall * max(1.0, pc.false_alarms_per_hour.max()),
                label="recall (scaled)")
    axs[1].axvline(threshold, color="r", ls="--", label="chosen threshold")
    axs[1].set_xlabel("threshold")
    axs[1].legend()
    return save_figure(fig, out)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
