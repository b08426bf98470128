"""What ``edgebind run --check`` reports, as data: the same validation as
:func:`edgebind.daemon.service.check` (bundle, anchors, profile, detector, sinks), with what it
found kept as fields so that ``--check --json`` prints the same information as the text line."""
from __future__ import annotations

from typing import Any

from edgebind.daemon.config import DaemonConfig


def check_report(cfg: DaemonConfig) -> dict[str, Any]:
    """Validate ``cfg`` as ``service.check`` does (raises on the first problem) and return
    what the check found."""
    from edgebind import assets
    from edgebind.daemon.service import detection_parts
    from edgebind.embedder import Embedder
    bundle = cfg.bundle or assets.default_bundle_path()
    emb = Embedder.from_bundle(bundle, text=False, **cfg.load_kwargs())
    _, aset, _, tuned_file = detection_parts(cfg, emb.space_id)
    return {"config": str(cfg.path), "ok": True, "bundle": str(bundle),
            "space_id": emb.space_id,
            "streams": [s.name for s in cfg.streams],
            "sinks": [str(t.get("kind")) for t in cfg.sinks],
            "event_anchors": [a.name for a in aset.targets],
            "tuned_detector": str(tuned_file) if tuned_file else None}


def format_check(report: dict[str, Any]) -> str:
    """The text line of ``edgebind run --check`` (the words ``service.check`` returns)."""
    return (f"{report['config']}: ok ({len(report['streams'])} streams, {len(report['sinks'])} sinks, "
            f"{len(report['event_anchors'])} event anchors, space {report['space_id']}, tuned "
            f"detector {report['tuned_detector'] or 'none'})")
