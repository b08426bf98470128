"""Detector settings, and their validation from a ``[detector]`` config table."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from edgebind.checks import in_range, is_finite_number
from edgebind.errors import EdgeBindError
from edgebind.modality import MODALITIES
from edgebind.validate import Fields, shown

DECISIONS = ("threshold", "margin", "softmax")
FUSIONS = ("weighted", "embedding_sum")
SMOOTHINGS = ("ema", "mean", "none")
EVENT_MODES = ("interval", "instant")
# What an on-level means in each decision mode: a cosine, a cosine difference, a probability.
LEVEL_RANGES = {"threshold": (-1.0, 1.0), "margin": (-2.0, 2.0), "softmax": (0.0, 1.0)}
# A per-anchor threshold in a file that does not say which mode it is for (a profile).
ANY_LEVEL = (-2.0, 2.0)
CHOICES = {"decision": DECISIONS, "fusion": FUSIONS, "smoothing": SMOOTHINGS,
           "events": EVENT_MODES}
# The range of each numeric setting (decision-value units where it is a level).
RANGES = {"threshold": (-1.0, 1.0), "margin": (-2.0, 2.0), "probability": (0.0, 1.0),
          "hysteresis": (0.0, 2.0), "ema_alpha": (1e-6, 1.0), "min_duration_s": (0.0, 1e6),
          "refractory_s": (0.0, 1e6), "temperature": (1e-6, 10.0)}


class DetectorConfigError(EdgeBindError, ValueError):
    """Invalid detector settings or thresholds; the message names the source and the key."""


def check_levels(thresholds: Any, source: str, decision: str | None = None,
                 where: str = "{source}.{name}") -> dict[str, float]:
    """Per-anchor thresholds as ``{name: float}``; each must lie in the range of ``decision``'s
    levels (any mode's when None). Errors name the anchor as ``where`` puts it."""
    lo, hi = LEVEL_RANGES.get(decision, ANY_LEVEL) if decision else ANY_LEVEL
    if not isinstance(thresholds, dict):
        raise DetectorConfigError(f"{source}: expected a table of anchor name = number, got "
                                  f"{type(thresholds).__name__}")
    out = {}
    for name, v in thresholds.items():
        if not in_range(v, lo, hi):
            mode = f" for decision = {decision!r}" if decision else ""
            raise DetectorConfigError(f"{where.format(source=source, name=name)}: expected a "
                                      f"number in [{lo:g}, {hi:g}]{mode}, got {shown(v)}")
        out[str(name)] = float(v)
    return out


@dataclass
class DetectorConfig:
    """How scores become events (docs/detection.md explains each setting).

    decision   "threshold": the fused cosine against the anchor's level;
               "margin": fused cosine minus the best background anchor's, against ``margin``;
               "softmax": probability against the background anchors at ``temperature``, against
               ``probability``.
    fusion     "weighted": per-anchor weighted mean of per-modality cosines;
               "embedding_sum": cosine of the renormalised sum of the modality embeddings (ImageBind).
    Per-anchor levels (calibrated ``thresholds``, then the anchor file's threshold in "threshold"
    mode) replace the default level of the decision mode. An anchor turns on at its level and off
    below ``level - hysteresis``.
    """

    decision: str = "threshold"
    fusion: str = "weighted"
    threshold: float = 0.25          # default on-level for decision = "threshold" (cosine)
    margin: float = 0.05             # default on-level for decision = "margin"
    probability: float = 0.5         # default on-level for decision = "softmax"
    temperature: float = 0.05        # softmax temperature (cosine units)
    hysteresis: float = 0.03         # off-level = on-level - hysteresis (decision-value units)
    smoothing: str = "ema"
    ema_alpha: float = 0.6           # weight of the newest window
    mean_windows: int = 3            # windows averaged by smoothing = "mean"
    min_duration_s: float = 0.0      # above the level this long before a "start" is emitted
    refractory_s: float = 0.0        # after an "end", no new start of that anchor for this long
    events: str = "interval"         # "interval": start + end; "instant": one event per onset
    modality_weights: dict[str, float] = field(default_factory=dict)
    anchor_modality_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    use_anchor_thresholds: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def default_level(self) -> float:
        return {"threshold": self.threshold, "margin": self.margin,
                "softmax": self.probability}[self.decision]

    def validate(self, source: str = "detector config") -> None:
        """Raise DetectorConfigError naming ``source`` and the key unless every setting is in
        range; numbers are stored as floats (TOML and JSON give ``1`` where ``1.0`` is meant)."""
        f = Fields(self.to_dict(), source, DetectorConfigError, quote_keys=True)
        for key, choices in CHOICES.items():
            f.choice(key, choices)
        for key, (lo, hi) in RANGES.items():
            setattr(self, key, f.number(key, lo=lo, hi=hi))
        f.integer("mean_windows", lo=1, hi=1000, want="an integer in [1, 1000]")
        f.boolean("use_anchor_thresholds")
        _check_weights(self.modality_weights, f"{source}: {f.label('modality_weights')}")
        if not isinstance(self.anchor_modality_weights, dict):
            raise f.fail("anchor_modality_weights", "a table of anchor name -> {modality = weight}")
        for name, w in self.anchor_modality_weights.items():
            _check_weights(w, f"{source}: {f.label(f'anchor_modality_weights.{name}')}")

    @classmethod
    def from_dict(cls, d: Any, source: str = "[detector]") -> "DetectorConfig":
        """From a ``[detector]`` TOML table; errors name ``source``, the key and the expectation."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise DetectorConfigError(f"{source}: expected a table of detector settings, got "
                                      f"{d!r:.80}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise DetectorConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; expected "
                                      f"some of {', '.join(sorted(known))}")
        cfg = cls.__new__(cls)          # not cls(**d): its check would not name ``source``
        for f in fields(cls):
            default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
            setattr(cfg, f.name, d.get(f.name, default))
        cfg.validate(source)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_weights(w: Any, where: str) -> None:
    if not isinstance(w, dict):
        raise DetectorConfigError(f"{where}: expected a table of modality = weight, got {w!r:.80}")
    for m, v in w.items():
        if m not in MODALITIES:
            raise DetectorConfigError(f"{where}: {m!r} is not a modality ({', '.join(MODALITIES)})")
        if not is_finite_number(v) or v < 0:
            raise DetectorConfigError(f"{where}.{m}: expected a weight >= 0, got {shown(v)}")
