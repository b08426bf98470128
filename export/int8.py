"""INT8 variants per CPU target: which weight encoding each target gets, with or without
SmoothQuant, measured on held-out inputs exactly as the target will compute them.

For every target (``edgebind.runtime.cpu.TARGETS``) the candidates are its weight encodings
(``quantize.TARGET_WEIGHTS``, fastest first), each with and without SmoothQuant. SmoothQuant is
kept only where it measurably helps (it enlarges weights, which can cost more than it gains). A
faster encoding is kept unless a slower one is clearly more accurate (by more than ``SLACK``
centred cosine) or it misses ``--min-cosine``. Targets that end up with the same file share
one variant (``int8`` for s8 weights, ``int8-s7`` / ``int8-u8`` otherwise).

Accuracy is measured with ONNX Runtime on this machine; where this CPU would not compute an
encoding exactly (s8 weights on AVX2 without VNNI), the measurement runs on ``exact_copy``,
the same model re-encoded for exact u8 x u8 kernels, so the report is the target's, not ours.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgebind.export import quantize
from edgebind.runtime import accuracy

SLACK = 0.002          # centred cosine a faster encoding may lose to a slower one
SMOOTHQUANT_GAIN = 1e-4  # SmoothQuant is kept only when it gains more than this


@dataclass
class Trial:
    weights: str
    smoothquant: bool
    path: Path | None = None
    info: dict = field(default_factory=dict)
    accuracy: dict = field(default_factory=dict)
    embeddings: np.ndarray | None = None
    sec_per_batch8: float | None = None
    error: str | None = None

    @property
    def score(self) -> float:
        return self.accuracy.get("centred_cosine_mean", -1.0) if not self.error else -1.0

    def summary(self) -> dict:
        if self.error:
            return {"error": self.error}
        return {"centred_cosine_mean": round(self.score, 6),
                **({"sec_per_batch8": round(self.sec_per_batch8, 5)}
                   if self.sec_per_batch8 is not None else {})}


@dataclass
class Int8Variant:
    key: str                # manifest variant key
    targets: list[str]
    trial: Trial
    trials: dict[str, dict]  # everything measured for these targets, for the manifest


def variant_key(weights: str) -> str:
    return "int8" if weights == "s8" else f"int8-{weights}"


def candidate_weights(target: str, only: tuple[str, ...] | None) -> tuple[str, ...]:
    """The weight encodings tried for ``target``: its own (fastest first), or those of ``only``
    that are exact on it (``("u8",)``: one file every CPU runs exactly, where size matters more
    than speed)."""
    if not only:
        return quantize.TARGET_WEIGHTS[target]
    exact = tuple(w for w in only if w in quantize.EXACT_ON[target])
    if not exact:
        raise ValueError(f"int8 weights {', '.join(only)}: none is exact on {target} "
                         f"(exact there: {', '.join(quantize.EXACT_ON[target])})")
    return exact


def measure_path(trial: Trial, here: str | None, work: Path) -> Path:
    """The file whose outputs on this CPU are what ``trial``'s targets compute."""
    assert trial.path is not None
    if here is not None and trial.weights in quantize.EXACT_ON.get(here, ()):
        return trial.path
    exact = work / (trial.path.stem + ".exact.onnx")
    if not exact.exists():
        quantize.exact_copy(trial.path, exact)
    return exact


@dataclass
class _Bench:
    """Quantizes and measures each (weights, SmoothQuant) form once, however many targets ask
    for it; a form ONNX Runtime cannot build or run is kept with its error."""

    sources: dict[bool, Path]
    m: str
    scheme: str
    calib: Any
    ref: Any
    options: Any
    work: Path
    here: str | None
    external: bool
    embed: Callable[[Path, np.ndarray], tuple[np.ndarray, float]]
    trials: dict[tuple[str, bool], Trial] = field(default_factory=dict)

    def trial(self, weights: str, sq: bool) -> Trial:
        if (weights, sq) in self.trials:
            return self.trials[(weights, sq)]
        t = Trial(weights, sq)
        path = self.work / f"{self.m}.int8-{self.scheme}-{weights}{'-sq' if sq else ''}.onnx"
        try:
            t.info = quantize.to_int8(self.sources[sq], path, self.scheme, self.m,
                                      self.calib.calibration, external=self.external,
                                      weights=weights, quantize_stems=self.options.quantize_stems)
            t.path = path
            got, sec = self.embed(measure_path(t, self.here, self.work), self.calib.held_out)
            t.embeddings = got
            t.accuracy = accuracy.compare(self.ref, got, self.options.anchors)
            if t.path == measure_path(t, self.here, self.work):
                t.sec_per_batch8 = sec   # speed only where this CPU runs the file as-is
        except Exception as exc:  # a form ONNX Runtime cannot build or run is reported
            t.error = f"{type(exc).__name__}: {exc}"[:300]
        self.trials[(weights, sq)] = t
        return t


def _choose(bench: _Bench, target: str, only: tuple[str, ...] | None, slack: float) -> Trial:
    """``target``'s form: per encoding with SmoothQuant only where it helps, then the fastest
    within ``slack`` of the most accurate that meets ``--min-cosine`` (else the most accurate)."""
    best_per_weights = []
    for w in candidate_weights(target, only):
        plain = bench.trial(w, False)
        smooth = bench.trial(w, True) if True in bench.sources else None
        keep = plain
        if smooth is not None and smooth.score > plain.score + SMOOTHQUANT_GAIN:
            keep = smooth
        best_per_weights.append(keep)
    usable = [t for t in best_per_weights if not t.error]
    if not usable:
        raise RuntimeError(f"{bench.m} int8 for {target}: no INT8 form could be built: "
                           + "; ".join(f"{t.weights}: {t.error}" for t in best_per_weights))
    top = max(t.score for t in usable)
    min_cosine = bench.options.min_cosine
    ok = [t for t in usable if t.score >= top - slack and
          (min_cosine is None or t.score >= min_cosine)]
    return ok[0] if ok else max(usable, key=lambda t: t.score)


def _variants(chosen: dict[str, Trial], trials: dict[tuple[str, bool], Trial],
              only: tuple[str, ...] | None) -> list[Int8Variant]:
    """One variant per distinct chosen form, with everything measured for its targets."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for target, t in chosen.items():
        groups.setdefault((t.weights, t.smoothquant), []).append(target)
    out = []
    for (w, sq), tgts in groups.items():
        measured = {f"{wt}{'+smoothquant' if s else ''}": tr.summary()
                    for (wt, s), tr in trials.items()
                    if any(wt in candidate_weights(x, only) for x in tgts)}
        out.append(Int8Variant(variant_key(w), sorted(tgts), trials[(w, sq)], measured))
    keys = [v.key for v in out]
    if len(set(keys)) != len(keys):  # same weights, different SmoothQuant choice: tell apart
        for v in out:
            if v.trial.smoothquant:
                v.key += "-sq"
    return out


def plan(targets: list[str], sources: dict[bool, Path], m: str, scheme: str, calib, ref,
         options, work: Path, here: str | None, external: bool,
         embed: Callable[[Path, np.ndarray], tuple[np.ndarray, float]],
         slack: float = SLACK) -> list[Int8Variant]:
    """Quantize, measure and choose; returns one Int8Variant per distinct file. ``slack``: the
    accuracy a faster encoding may give up (0: the most accurate one always)."""
    bench = _Bench(sources, m, scheme, calib, ref, options, work, here, external, embed)
    only = getattr(options, "int8_weights", None)
    chosen = {target: _choose(bench, target, only, slack) for target in targets}
    return _variants(chosen, bench.trials, only)


def manifest_info(v: Int8Variant, here: str | None, sq_stats, **quantization) -> dict:
    """The manifest record of a chosen variant: its targets, form, accuracy and how that was
    measured here (``quantization``: extra keys of its form, e.g. an embedding table's)."""
    exact_here = v.trial.weights in quantize.EXACT_ON.get(here or "", ())
    return {"precision": "int8", "targets": v.targets,
            "quantization": {**v.trial.info, **quantization,
                             "smoothquant": sq_stats if v.trial.smoothquant else None},
            "accuracy": v.trial.accuracy,
            "accuracy_measured": ("as run on this CPU" if exact_here else
                                  "exactly (u8 x u8 copy; this CPU would saturate)"),
            "int8_forms_measured": v.trials}


def finalize(v: Int8Variant, dest: Path, external: bool) -> Path:
    """Move the chosen file into the bundle under its final name."""
    from edgebind.export import onnx_export
    assert v.trial.path is not None
    if onnx_export.external_files(v.trial.path):
        import onnx  # re-save so the external-data file name follows the final name
        onnx_export.save_model(onnx.load(str(v.trial.path)), dest, external=True)
    else:
        os.replace(v.trial.path, dest)
    return dest
