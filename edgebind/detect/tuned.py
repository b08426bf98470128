"""Tuned-detector files (``edgebind.detector/1``): detector settings and per-anchor levels tuned
for one anchor set in one embedding space (``edgebind.detect.tune`` writes them), and the one rule
by which ``edgebind run``, ``Pipeline.from_files`` and ``edgebind demo`` pick and apply them.

Where a tuned detector lives: ``detector.json`` beside the anchor set it was tuned for. Its levels
are per anchor, so it belongs with the anchors rather than with the bundle: one bundle serves many
anchor sets, a bundle is a hashed artefact exported before anyone tunes, and retuning must not
mean re-exporting. The shipped default follows the rule (``edgebind/assets/default/anchors.json``
and ``detector.json``), and a user's own bundle carries one the same way. The file records the
embedding space (checked against the bundle) and a fingerprint of each anchor it was tuned with
(checked against the anchor set), so a stale file beside rebuilt anchors is refused, not applied.

How it combines with explicit settings (most specific last): the file's settings, then the
caller's (the daemon's ``[detector]`` table, key by key); the file's levels, then a profile's
thresholds, then explicit ``[thresholds]``. Levels are for one decision mode: when the settings
change the mode, the file's levels are left out.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgebind.detect.config import DetectorConfig, DetectorConfigError, check_levels

FORMAT = "edgebind.detector/1"
FILE_NAME = "detector.json"
log = logging.getLogger("edgebind.detect")


@dataclass(frozen=True)
class TunedDetector:
    """A validated tuned-detector file."""

    path: Path
    settings: dict[str, Any]              # DetectorConfig fields, as tuned
    thresholds: dict[str, float]          # per-anchor on-levels in the settings' decision mode
    space_id: str | None
    anchors: dict[str, str] | None        # anchor name -> fingerprint; None in files before it

    @property
    def config(self) -> DetectorConfig:
        return DetectorConfig.from_dict(self.settings, source=f"{self.path}: detector")


def fingerprint(anchor: Any) -> str:
    """A short hash of an anchor's embeddings (float32 bytes, per key): equal only for the same
    vectors, which a JSON round trip keeps (anchor files store 9 significant digits)."""
    h = hashlib.sha256()
    for key in sorted(anchor.embeddings):
        h.update(key.encode() + b"\0")
        h.update(np.ascontiguousarray(anchor.embeddings[key], dtype="<f4").tobytes())
    return h.hexdigest()[:16]


def save_tuned(path: Any, tuned: Mapping[str, Any], space_id: str | None,
               tuned_on: Mapping[str, Any], anchors: Any = None) -> Path:
    """Write ``{"format", "space_id", "anchors", "detector", "thresholds", "score",
    "tuned_on"}``; ``anchors`` (the AnchorSet tuned with) is recorded by fingerprint."""
    from edgebind.fileio import atomic_write
    doc = {"format": FORMAT, "space_id": space_id,
           "anchors": None if anchors is None else {a.name: fingerprint(a) for a in anchors},
           "detector": tuned["detector"], "thresholds": tuned["thresholds"],
           "score": tuned["score"], "tuned_on": dict(tuned_on)}
    return atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode())


def read_tuned(path: str | os.PathLike) -> TunedDetector:
    """Parse and validate a tuned-detector file; errors name the file and the key."""
    from edgebind.fileio import parse_json
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DetectorConfigError(f"{path}: not a readable tuned-detector file ({exc})") from None
    doc = parse_json(raw, str(path), DetectorConfigError, "not a readable tuned-detector file")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise DetectorConfigError(f"{path}: expected format {FORMAT!r}, got {got!r:.80}")
    cfg = DetectorConfig.from_dict(doc.get("detector"), source=f"{path}: detector")
    thresholds = check_levels(doc.get("thresholds") or {}, f"{path}: thresholds", cfg.decision)
    space = doc.get("space_id")
    if space is not None and not isinstance(space, str):
        raise DetectorConfigError(f"{path}: space_id: expected a string, got {space!r:.80}")
    anchors = doc.get("anchors")
    if anchors is not None and not (isinstance(anchors, dict) and all(
            isinstance(v, str) for v in anchors.values())):
        raise DetectorConfigError(f"{path}: anchors: expected a table of anchor name = "
                                  f"fingerprint, got {anchors!r:.80}")
    return TunedDetector(path, cfg.to_dict(), thresholds, space, anchors)


def check_fits(tuned: TunedDetector, space_id: str | None, anchor_set: Any = None,
               anchors_path: Any = None) -> None:
    """Refuse a file tuned in another embedding space, or for other vectors under the same
    anchor names (levels tuned for one anchor mean nothing for another)."""
    if space_id is not None and tuned.space_id not in (None, space_id):
        raise DetectorConfigError(f"{tuned.path}: tuned for embedding space {tuned.space_id!r:.80}"
                                  f", but the bundle is {space_id}; retune it for this bundle")
    if anchor_set is None or tuned.anchors is None:
        return
    changed = [a.name for a in anchor_set
               if a.name in tuned.anchors and tuned.anchors[a.name] != fingerprint(a)]
    if changed:
        where = f" {anchors_path}" if anchors_path else ""
        raise DetectorConfigError(
            f"{tuned.path}: tuned for other anchors than the anchor set{where} "
            f"({', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''} changed since); "
            "retune it (edgebind.detect.tune) or do without it")


def load_tuned(path: Any, space_id: str | None = None) -> tuple[DetectorConfig, dict[str, float]]:
    """(DetectorConfig, per-anchor thresholds) from a tuned-detector file; refuses another
    embedding space's file (its levels mean nothing in this one)."""
    tuned = read_tuned(path)
    check_fits(tuned, space_id)
    return tuned.config, dict(tuned.thresholds)


def locate(choice: Any, anchors_path: str | os.PathLike) -> Path | None:
    """Which tuned-detector file applies: ``None`` -> ``detector.json`` beside the anchor set
    when there is one; ``False`` -> none; a path -> that file."""
    if choice is None:
        beside = Path(anchors_path).parent / FILE_NAME
        return beside if beside.is_file() else None
    if choice is False:
        return None
    if isinstance(choice, (str, os.PathLike)) and str(choice):
        return Path(choice)
    raise DetectorConfigError(f"tuned detector: expected a file path, None (the {FILE_NAME} "
                              f"beside the anchors) or False (none), got {choice!r:.80}")


def combined_config(tuned: TunedDetector | None, settings: Any = None,
                    source: str = "[detector]") -> DetectorConfig:
    """The tuned settings with ``settings`` over them: a mapping replaces the keys it names, a
    ``DetectorConfig`` replaces them all."""
    if isinstance(settings, DetectorConfig):
        return settings
    base = dict(tuned.settings) if tuned is not None else {}
    return DetectorConfig.from_dict({**base, **dict(settings or {})}, source=source)


def combined_levels(tuned: TunedDetector | None, config: DetectorConfig,
                    overrides: Sequence[Mapping[str, float] | None] = ()) -> dict[str, float]:
    """The file's levels (when tuned for ``config``'s decision mode), then each override."""
    levels: dict[str, float] = {}
    if tuned is not None:
        if tuned.settings.get("decision") == config.decision:
            levels.update(tuned.thresholds)
        elif tuned.thresholds:
            log.warning("%s: its levels are for decision = %r, the detector runs %r; left out",
                        tuned.path, tuned.settings.get("decision"), config.decision)
    for more in overrides:
        levels.update(more or {})
    return levels


def build_detector(anchor_set: Any, anchors_path: Any, *, choice: Any = None,
                   space_id: str | None = None, settings: Any = None,
                   thresholds: Sequence[Mapping[str, float] | None] = (),
                   source: str = "[detector]") -> tuple[Any, TunedDetector | None]:
    """(Detector, the tuned file used or None): the one way every entry point builds its
    detector from an anchor set, a tuned-file choice (see :func:`locate`; or a
    :class:`TunedDetector` already read), explicit settings and threshold overrides (applied in
    order)."""
    from edgebind.detect.detector import Detector
    tuned = choice if isinstance(choice, TunedDetector) else None
    if tuned is None:
        path = locate(choice, anchors_path)
        tuned = None if path is None else read_tuned(path)
    if tuned is not None:
        check_fits(tuned, space_id, anchor_set, anchors_path)
    config = combined_config(tuned, settings, source)
    detector = Detector(anchor_set, config, thresholds=combined_levels(tuned, config, thresholds))
    return detector, tuned


__all__ = ["FILE_NAME", "FORMAT", "TunedDetector", "build_detector", "check_fits",
           "combined_config", "combined_levels", "fingerprint", "load_tuned", "locate",
           "read_tuned", "save_tuned"]
