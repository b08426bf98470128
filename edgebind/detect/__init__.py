"""Zero-shot event detection: window embeddings vs anchors -> events (numpy only, no torch)."""
from edgebind.detect.config import DECISIONS, FUSIONS, SMOOTHINGS, DetectorConfig
from edgebind.detect.detector import Detector, ScoreFrame
from edgebind.detect.event import EVENT_SCHEMA, STATES, Event, iso_utc, monotonic_to_wall_ns

__all__ = ["DECISIONS", "EVENT_SCHEMA", "FUSIONS", "SMOOTHINGS", "STATES", "Detector",
           "DetectorConfig", "Event", "ScoreFrame", "event_json_schema", "iso_utc",
           "monotonic_to_wall_ns"]


def event_json_schema() -> dict:
    """The JSON Schema of ``edgebind.event/1`` (shipped as package data)."""
    import json
    from pathlib import Path
    return json.loads((Path(__file__).with_name("event.schema.json")).read_text())
