"""A live Foxglove view of a running pipeline (``edgebind run --foxglove``, ``edgebind demo
--foxglove``): camera, depth and thermal images (raw and colour-mapped), audio level, IMU,
per-anchor scores, detections and health over the Foxglove WebSocket protocol, served with the
optional ``foxglove-sdk`` package (imported only when a bridge starts). See docs/foxglove.md.

Modules: ``bridge`` (``FoxgloveBridge``, ``tap_sources``), ``streams`` (per-stream publishers:
images, audio level, IMU), ``topics`` (topic names, schemas, rate caps), ``address``
(``[HOST:]PORT``), ``layout`` (the importable Foxglove layout shipped as ``layout.json``).
"""
from edgebind.foxglove.address import parse_address
from edgebind.foxglove.bridge import DEFAULT_HOST, DEFAULT_PORT, FoxgloveBridge, tap_sources
from edgebind.foxglove.layout import layout_for, layout_path

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "FoxgloveBridge", "layout_for", "layout_path",
           "parse_address", "tap_sources"]
