"""The Foxglove layout for the live view: images on the left, scores, audio level, IMU,
detections and health on the right. ``layout.json`` beside this module is the layout of the
simulated robot (``edgebind demo --foxglove``, examples/edgebind.toml) with the shipped anchors;
``layout_for`` makes one for other streams and anchors. Foxglove: Layouts → Import from file.

The JSON is Foxglove's layout format (``version`` 1, ``content``) as the ``foxglove-sdk``
package's ``foxglove.layouts`` writes it; tests/foxglove checks the two agree.

    python -m edgebind.foxglove.layout > layout.json        # the shipped one, regenerated
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from edgebind.foxglove import topics as T
from edgebind.sample import StreamInfo

LAYOUT_FILE = Path(__file__).with_name("layout.json")



def layout_path() -> Path:
    """The shipped layout (the simulated robot's streams, the shipped anchors)."""
    return LAYOUT_FILE


def _panel(kind: str, title: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"type": "panel", "panelType": kind, "config": config, "title": title,
            "version": 1}


def _split(direction: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "split", "direction": direction,
            "items": [{"proportion": 1, "content": c} for c in items]}


def _image(info: StreamInfo) -> dict[str, Any]:
    base = T.stream_topics(info)
    if info.modality in T.VIEWABLE:       # the preview shows with no settings at all
        topic = next(t.topic for t in base if t.kind == "preview")
        return _panel("Image", f"{info.stream} ({info.modality}, colour-mapped)",
                      {"imageMode": {"imageTopic": topic}})
    return _panel("Image", info.stream, {"imageMode": {"imageTopic": base[0].topic}})


def _plot(title: str, series: list[tuple[str, str]]) -> dict[str, Any]:
    return _panel("Plot", title, {"paths": [{"value": v, "label": lab} for v, lab in series]})


def layout_for(infos: Sequence[StreamInfo], anchors: Sequence[str]) -> dict[str, Any]:
    """A layout for these streams and these (event) anchors."""
    images = [_image(i) for i in infos if i.modality in T.IMAGE_MODALITIES]
    senses: list[tuple[str, str]] = []
    for i in infos:
        for t in T.stream_topics(i):
            if t.kind == "level":
                senses.append((f"{t.topic}.rms_dbfs", f"{i.stream} RMS dBFS"))
            elif t.kind == "imu":
                senses += [(f"{t.topic}.linear_acceleration.{a}", f"{i.stream} a{a} m/s²")
                           for a in "xyz"]
    right = [_plot("anchor scores", [(f"{T.SCORES}.scores.{a}", a) for a in anchors]),
             _plot("detections (1 = active)", [(f"{T.SCORES}.active.{a}", a)
                                               for a in anchors])]
    if senses:
        right.append(_plot("audio level, IMU", senses))
    right.append(_split("row", [_panel("Log", "detections", {"topicToRender": T.LOG}),
                                _panel("RawMessages", "health",
                                       {"topicPath": T.HEALTH})]))
    left = _split("column", images) if images else _panel("RawMessages", "streams",
                                                          {"topicPath": T.HEALTH})
    return {"version": 1, "content": _split("row", [left, _split("column", right)])}


def shipped_layout() -> dict[str, Any]:
    """What ``layout.json`` holds: the simulated robot's streams and the shipped anchors."""
    return layout_for(*_sim())


def main() -> None:
    print(json.dumps(shipped_layout(), indent=1, ensure_ascii=False))


def _sim() -> tuple[list[StreamInfo], list[str]]:
    from edgebind import assets
    from edgebind.anchors import AnchorSet
    from edgebind.sim import World
    infos = World("demo", seed=0, duration_s=60).stream_infos
    aset = AnchorSet.load(assets.default_anchors_path())
    return list(infos), [a.name for a in aset.targets]


if __name__ == "__main__":
    main()
