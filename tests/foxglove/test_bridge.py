"""The live Foxglove view, checked with an independent WebSocket client (tests/foxglove/
client.py: the protocol spec, `websockets`, protobuf from the advertised descriptors)."""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from edgebind.foxglove import layout_for, layout_path, parse_address
from edgebind.foxglove.layout import shipped_layout
from edgebind.sample import Sample, StreamInfo
from tests.conftest import missing

K = 10 ** 18      # the bridge's clock offset in these tests: header time = t_ns + K


def _need_sdk() -> None:
    try:
        import foxglove  # noqa: F401
        import google.protobuf  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        missing(f"the Foxglove view tests need foxglove-sdk, websockets and protobuf ({exc})")


@pytest.fixture(scope="module")
def world():
    from edgebind.sim import World
    w = World("demo", seed=0, duration_s=14)
    return w, [s for s in w.samples() if s.t_ns <= 1_600_000_000]


def test_address_forms():
    assert parse_address("8765") == ("127.0.0.1", 8765)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("", "host:", "x:99999", "80a"):
        with pytest.raises(ValueError, match=r"\[HOST:\]PORT"):
            parse_address(bad)


def test_shipped_layout_is_the_generated_one_and_names_published_topics(world):
    w, _ = world
    doc = json.loads(layout_path().read_text())
    assert doc == shipped_layout()
    text = json.dumps(doc)
    for t in ("/camera/image", "/depth/preview", "/thermal/preview", "/mic/level.rms_dbfs",
              "/edgebind/scores.scores.glass_breaking", "/edgebind/log", "/edgebind/health"):
        assert t in text
    assert layout_for([], ["a"])["content"]["items"][0]["content"]["panelType"] == "RawMessages"


def test_layout_panels_are_what_the_sdk_layouts_module_writes():
    """Each panel type and config key exists in foxglove.layouts (generated from the app)."""
    _need_sdk()
    import dataclasses
    import foxglove.layouts as fl

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(p.title() for p in rest)
    sdk = {}
    for cls in (fl.ImagePanel, fl.PlotPanel, fl.LogPanel, fl.RawMessagesPanel):
        kind = json.loads(cls().to_json())["panelType"]
        config = cls.__dataclass_fields__["config"].default_factory()
        sdk[kind] = {camel(f.name) for f in dataclasses.fields(config)}

    def panels(node):
        if node.get("type") == "panel":
            yield node
        for item in node.get("items", []):
            yield from panels(item["content"])
    found = list(panels(shipped_layout()["content"]))
    assert {p["panelType"] for p in found} == {"Image", "Plot", "Log", "RawMessages"}
    for p in found:
        assert set(p["config"]) <= sdk[p["panelType"]], p


def _bridge(infos, **kw):
    from edgebind.foxglove import FoxgloveBridge
    return FoxgloveBridge(infos, "127.0.0.1", 0, time_offset_ns=K, **kw).start()


def _feed(bridge, samples, realtime=True):
    t0 = time.monotonic()
    for s in samples:
        d = t0 + s.t_ns / 1e9 - time.monotonic()
        if realtime and d > 0:
            time.sleep(d)
        bridge.on_sample(s)


def _event(state, name="glass_breaking", t=800_000_000):
    from edgebind.detect.event import Event
    return Event(name=name, state=state, start_ns=t, end_ns=None if state == "start" else t,
                 t_ns=t, score=0.7, threshold=0.5, decision="threshold",
                 evidence={"vision": 0.3}, streams=("camera",), space_id="s", seq=1)


def test_a_client_subscribes_and_decodes_every_view(world):
    _need_sdk()
    from tests.foxglove.client import watch
    w, samples = world
    topics = ["/camera/image", "/depth/image", "/depth/preview", "/thermal/image",
              "/thermal/preview", "/mic/level", "/imu/imu", "/edgebind/scores",
              "/edgebind/events", "/edgebind/log", "/edgebind/health"]
    bridge = _bridge(w.stream_infos)
    ready, out = threading.Event(), {}
    th = threading.Thread(target=lambda: out.update(watch(bridge.url, topics, 2.6,
                                                          ready=ready.set)))
    th.start()
    try:
        assert ready.wait(10)
        time.sleep(0.2)
        _feed(bridge, samples)
        start = _event("start")
        bridge.on_event(start)
        bridge.on_window(SimpleNamespace(t_start_ns=0, t_end_ns=900_000_000,
                                         scores={"glass_breaking": 0.7, "footsteps": float("nan")},
                                         levels={"glass_breaking": 0.5}, events=[start]))
        bridge.tick(lambda: {"status": "ok", "reasons": [], "lag": float("nan")})
    finally:
        th.join(15)
        bridge.stop()
    got = out["messages"]
    assert out["channels"]["/camera/image"]["schemaName"] == "foxglove.RawImage"
    by_t = {(s.stream, s.t_ns): s for s in samples}
    for topic, enc, dtype in (("/camera/image", "rgb8", np.uint8),
                              ("/depth/image", "32FC1", "<f4"), ("/thermal/image", "32FC1", "<f4")):
        assert got[topic], topic
        for _, m in got[topic]:
            assert m.encoding == enc
            t = m.timestamp.seconds * 10 ** 9 + m.timestamp.nanos - K
            src = by_t[(topic.split("/")[1], t)]
            arr = np.frombuffer(m.data, dtype=dtype).reshape(src.data.shape)
            np.testing.assert_array_equal(arr, src.data)     # raw values, bit-exact
            assert m.frame_id == f"{src.stream}_optical_frame"
        # ≤ 10 fps each over ~1.6 s of sensor time (15 fps camera and depth)
        assert len(got[topic]) <= 19
    for topic in ("/depth/preview", "/thermal/preview"):
        m = got[topic][0][1]
        assert m.encoding == "rgb8" and len(m.data) == m.width * m.height * 3
        assert len(set(m.data[::97])) > 8              # colour-mapped, not a white square
    level = got["/mic/level"][-1][1]
    assert -120 < level["rms_dbfs"] <= 0 and level["frames"] > 0
    imu = got["/imu/imu"][0][1]
    assert imu["frame_id"] == "imu_link" and 9 < imu["linear_acceleration"]["z"] < 10.6
    scores = got["/edgebind/scores"][0][1]
    assert scores["scores"] == {"glass_breaking": 0.7, "footsteps": None}
    assert scores["active"]["glass_breaking"] == 1
    assert got["/edgebind/events"][0][1]["name"] == "glass_breaking"
    assert "start glass_breaking" in got["/edgebind/log"][0][1].message
    assert got["/edgebind/health"][0][1] == {"status": "ok", "reasons": [], "lag": None}


def test_nothing_is_encoded_while_nobody_watches(world, monkeypatch):
    _need_sdk()
    from edgebind.foxglove import streams
    w, samples = world
    calls = []
    monkeypatch.setattr(streams, "colourise", lambda *a: calls.append(a))
    for cls in set(streams.PUBLISHERS.values()):
        monkeypatch.setattr(cls, "publish", lambda self, s: calls.append(s))
    bridge = _bridge(w.stream_infos)
    try:
        t = time.process_time()
        _feed(bridge, samples, realtime=False)
        per_sample = (time.process_time() - t) / len(samples)
        asked = []
        bridge.tick(lambda: asked.append(1) or {})
    finally:
        bridge.stop()
    assert calls == [] and asked == []
    assert sum(bridge.stats()["published"].values()) == 0
    assert per_sample < 2e-4, per_sample        # a has_sinks() call per topic, no more


def test_a_slow_client_costs_bounded_memory_and_never_blocks_the_feed(world):
    _need_sdk()
    from tests.foxglove.client import watch
    w, _ = world
    info = StreamInfo("big", "vision", 60.0, (480, 640, 3), "RGB uint8")
    frame = np.zeros((480, 640, 3), np.uint8)
    bridge = _bridge([info], image_fps=60, backlog=8)
    ready, out = threading.Event(), {}
    th = threading.Thread(target=lambda: out.update(watch(bridge.url, ["/big/image"], 2.5,
                                                          slow_s=0.2, ready=ready.set)))
    th.start()
    import resource
    try:
        assert ready.wait(10)
        time.sleep(0.2)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.monotonic()
        for k in range(120):              # 110 MB of frames at 60 fps for 2 s
            bridge.on_sample(Sample("big", "vision", k * 16_666_667, frame))
            time.sleep(max(0.0, t + (k + 1) / 60 - time.monotonic()))
        fed = time.monotonic() - t
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    finally:
        th.join(15)
        bridge.stop()
    # The feed never waited for the client: held back by it, the 112 frames beyond the backlog
    # would take 0.2 s each (22 s). Half that leaves any machine's own speed out of it.
    assert fed < (120 - 8) * 0.2 / 2, fed
    got = len(out["messages"]["/big/image"])
    assert 0 < got < 60                  # the SDK dropped what the client could not take
    assert grown_mib < 40, grown_mib     # backlog of 8 frames (~7 MB), not the 110 MB sent


def test_the_bridge_refuses_a_bad_rate_and_a_busy_port(world):
    _need_sdk()
    from edgebind.foxglove import FoxgloveBridge
    w, _ = world
    with pytest.raises(ValueError, match="image_fps"):
        FoxgloveBridge(w.stream_infos, image_fps=0)
    first = _bridge(w.stream_infos)
    try:
        with pytest.raises(OSError, match=f"cannot serve Foxglove on 127.0.0.1:{first.port}"):
            FoxgloveBridge(w.stream_infos, "127.0.0.1", first.port).start()
    finally:
        first.stop()
