"""WindowAssembler on synthetic streams whose content encodes time, so every window is checkable."""
from __future__ import annotations

import numpy as np
import pytest

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.windows import Window, WindowAssembler, WindowSet

NS = 1_000_000_000
T0 = 100 * NS                      # streams start here (host monotonic ns)
RATE = 16000
CHUNK = 512

INFOS = [StreamInfo("cam", "vision", 15, (8, 8, 3), "RGB uint8"),
         StreamInfo("mic", "audio", RATE, (-1, 1), "pcm f32"),
         StreamInfo("imu", "imu", 400, (-1, 6), "SI"),
         StreamInfo("th", "thermal", 8, (4, 4), "K")]


def tone(idx: np.ndarray) -> np.ndarray:
    return (0.5 * np.sin(idx / 7.0)).astype(np.float32)


def frames(stream, modality, fps, dur, t0=T0, start=0.0):
    out = []
    for i in range(int(round(start * fps)), int(round((start + dur) * fps))):
        t = t0 + int(round(i * NS / fps))
        data = (np.full((8, 8, 3), i % 256, np.uint8) if modality == "vision"
                else np.full((4, 4), 280.0 + i, np.float32))
        out.append(Sample(stream, modality, t, data))
    return out


def audio(dur, t0=T0, start=0.0, jitter_ns=None, rng=None, stream="mic"):
    out = []
    for i in range(int(start * RATE / CHUNK), int((start + dur) * RATE / CHUNK)):
        idx = np.arange(i * CHUNK, (i + 1) * CHUNK)
        t = t0 + int(round(i * CHUNK * NS / RATE))
        if jitter_ns:
            t += int(rng.integers(-jitter_ns, jitter_ns + 1))
        out.append(Sample(stream, "audio", t, tone(idx)[:, None]))
    return out


def imu(dur, t0=T0, start=0.0, batch=20, stream="imu"):
    """IMU rows whose every column is seconds since T0: the resampled window is checkable."""
    out = []
    for i in range(int(start * 400 / batch), int((start + dur) * 400 / batch)):
        rt = t0 + np.round(np.arange(i * batch, (i + 1) * batch) * NS / 400).astype(np.int64)
        x = np.tile(((rt - t0) / NS)[:, None], (1, 6)).astype(np.float32)
        out.append(Sample(stream, "imu", int(rt[0]), x, row_t_ns=rt))
    return out


def world(dur=5.0, **kw):
    s = frames("cam", "vision", 15, dur) + audio(dur) + imu(dur) + frames("th", "thermal", 8, dur)
    return sorted(s, key=lambda x: x.t_ns)


def run(wa: WindowAssembler, samples, poll_every=1) -> list[WindowSet]:
    out = []
    for i, s in enumerate(samples):
        wa.push(s)
        if i % poll_every == 0:
            out += wa.poll()
    return out + wa.poll() + wa.flush()


def by_end(sets):
    return {(ws.t_end_ns - T0) / NS: ws for ws in sets}


def test_full_windows_have_the_right_content():
    wa = WindowAssembler(INFOS, window_s=2.0, hop_s=0.5)
    sets = by_end(run(wa, world()))
    assert sorted(sets) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
    ws = sets[3.0]
    assert set(ws.windows) == {"vision", "audio", "imu", "thermal"} and ws.skipped == {}
    v = ws.windows["vision"]
    assert v.data[0, 0, 0] == 45 and v.meta["frame_t_ns"] == T0 + 3 * NS and v.streams == ("cam",)
    assert ws.windows["thermal"].data[0, 0] == 280.0 + 24
    a = ws.windows["audio"]
    assert a.data.shape == (2 * RATE, 1) and a.t_start_ns == T0 + 1 * NS and a.t_end_ns == T0 + 3 * NS
    np.testing.assert_array_equal(a.data[:, 0], tone(np.arange(RATE, 3 * RATE)))
    assert a.meta["zero_filled_frames"] == 0
    m = ws.windows["imu"]
    assert m.data.shape == (2000, 6) and m.timestamps_ns[-1] == ws.t_end_ns
    np.testing.assert_allclose(m.data[:, 0], (m.timestamps_ns - T0) / NS, atol=1e-6)
    # Early windows: frames present, audio/imu skipped with a reason, and counted.
    early = sets[1.0]
    assert set(early.windows) == {"vision", "thermal"}
    assert "missing" in early.skipped["audio"] and "imu" in early.skipped
    st = wa.stats
    assert st["skipped"]["audio"] == 4 and st["skip_reasons"]["audio"]["too_much_missing"] == 3
    assert st["late"] == st["out_of_order"] == st["clock_jumps"] == st["invalid"] == 0


def test_windows_preprocess():
    from edgebind import preprocess as pp
    from edgebind.embedder import window_input
    from edgebind.preprocess.imu import ImuParams
    sets = by_end(run(WindowAssembler(INFOS, window_s=2.0, hop_s=0.5), world()))
    ws = sets[4.0]
    cfg = pp.PreprocessConfig(imu=ImuParams(window_s=2.0))
    a = ws.windows["audio"]
    assert a.rate_hz == RATE
    x = window_input("audio", a, cfg, fold_audio_clips=False)
    assert x.shape == (1, 3, 1, 128, 204)
    # The window's trusted path gives what the raw-input path gives for the same samples.
    np.testing.assert_array_equal(x[0], pp.audio(a.data, RATE, layout="frames_first"))
    x = window_input("imu", ws.windows["imu"], cfg)
    # Our grid is the preprocessor's grid, so resampling again is the identity.
    np.testing.assert_allclose(x[0], ws.windows["imu"].data.T, atol=1e-6)
    assert ws.windows["vision"].data.dtype == np.uint8
    assert window_input("vision", ws.windows["vision"], cfg).shape == (1, 3, 224, 224)


def test_audio_timestamp_jitter_is_absorbed():
    rng = np.random.default_rng(0)
    base = by_end(run(WindowAssembler(INFOS[1:2]), audio(4.0)))
    jit = by_end(run(WindowAssembler(INFOS[1:2]), audio(4.0, jitter_ns=3_000_000, rng=rng)))
    assert sorted(base) == sorted(jit)
    for k in (2.5, 3.0, 3.5):
        w = jit[k].windows["audio"]
        assert w.meta["zero_filled_frames"] == 0
        first = int(round((k - 2.0) * RATE))
        # Seamless: the whole window is the source signal at one small constant shift.
        shifts = [d for d in range(-48, 49)
                  if np.array_equal(w.data[:, 0], tone(np.arange(first + d, first + d + 2 * RATE)))]
        assert len(shifts) == 1 and abs(shifts[0]) <= 16, shifts


def test_audio_gaps_are_zero_filled_or_skipped():
    chunks = audio(4.0)
    # Drop 5 chunks (160 ms, 8 % of a 2 s window) around 2.5 s: filled with zeros and counted.
    small = [c for c in chunks if not (T0 + 2.4 * NS <= c.t_ns < T0 + 2.4 * NS + 5 * CHUNK * NS / RATE)]
    wa = WindowAssembler(INFOS[1:2])
    ws = by_end(run(wa, small))[3.0].windows["audio"]
    assert ws.meta["zero_filled_frames"] == 5 * CHUNK
    zero = np.flatnonzero(np.all(ws.data == 0, axis=1))
    np.testing.assert_array_equal(zero, np.arange(75 * CHUNK, 80 * CHUNK) - RATE)   # chunks 75..79
    kept = np.flatnonzero(np.any(ws.data != 0, axis=1))
    np.testing.assert_array_equal(ws.data[kept, 0], tone(np.arange(RATE, 3 * RATE))[kept])
    assert wa.stats["audio_zero_filled_frames"] >= 5 * CHUNK
    # Drop 0.5 s: 25 % missing -> skipped, with the reason.
    big = [c for c in chunks if not (T0 + 2.0 * NS <= c.t_ns < T0 + 2.5 * NS)]
    wa = WindowAssembler(INFOS[1:2])
    sets = by_end(run(wa, big))
    assert 3.0 not in sets and 4.0 not in sets          # a set with no window is not emitted
    assert wa.stats["skip_reasons"]["audio"]["too_much_missing"] >= 2 and wa.stats["empty"] >= 2


def test_frame_outside_tolerance_is_skipped_and_counted():
    cam = [s for s in frames("cam", "vision", 15, 5.0) if not (T0 + 2.8 * NS < s.t_ns < T0 + 3.3 * NS)]
    samples = sorted(cam + frames("th", "thermal", 8, 5.0), key=lambda s: s.t_ns)
    wa = WindowAssembler([INFOS[0], INFOS[3]], frame_tolerance_s=0.1)
    ws = by_end(run(wa, samples))[3.0]
    assert "vision" not in ws.windows and "no frame within 0.1 s" in ws.skipped["vision"]
    assert "thermal" in ws.windows
    assert wa.stats["skipped"]["vision"] == 1 and wa.stats["skip_reasons"]["vision"] == {"no_frame": 1}


def test_imu_gap_skips_and_resampling_is_linear():
    batches = [b for b in imu(5.0) if not (T0 + 2.0 * NS <= b.t_ns < T0 + 2.3 * NS)]
    wa = WindowAssembler(INFOS[2:3], imu_rows=500)
    sets = by_end(run(wa, batches))
    assert 3.0 not in sets and wa.stats["skip_reasons"]["imu"]["imu_gap"] >= 5
    cam = frames("cam", "vision", 15, 5.0)
    wa = WindowAssembler([INFOS[0], INFOS[2]], imu_rows=500)
    sets = by_end(run(wa, sorted(batches + cam, key=lambda s: s.t_ns)))
    assert "gap of 0.3" in sets[3.0].skipped["imu"] and "vision" in sets[3.0].windows
    w = sets[4.5].windows["imu"]
    assert w.data.shape == (500, 6) and w.rate_hz == pytest.approx(250.0)
    np.testing.assert_allclose(w.data[:, 3], (w.timestamps_ns - T0) / NS, atol=1e-6)


def test_out_of_order_samples_give_the_same_windows():
    ordered = world()
    base = by_end(run(WindowAssembler(INFOS), ordered))
    swapped = list(ordered)
    for i in range(5, len(swapped) - 1, 7):
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    wa = WindowAssembler(INFOS)
    got = by_end(run(wa, swapped))
    assert_same(base, got)
    assert wa.stats["out_of_order"] > 0


def test_late_sample_is_counted():
    samples = world()
    late = next(s for s in samples if s.stream == "th" and s.t_ns == T0 + 2 * NS)
    rest = [s for s in samples if s is not late]
    wa = WindowAssembler(INFOS)
    out = []
    for s in rest:
        wa.push(s)
        out += wa.poll()
        if s.t_ns > T0 + 3 * NS and late is not None:
            wa.push(late)
            late = None
    assert wa.stats["late"] == 1 and wa.stats["streams"]["th"]["late"] == 1
    ws = by_end(out)[2.0]
    assert "thermal" not in ws.windows and "no frame" in ws.skipped["thermal"]   # too late for it


def test_time_offsets_and_imu_corrections():
    off = {"cam": -NS // 15}                   # camera stamps frames one frame late
    wa = WindowAssembler(INFOS, time_offsets_ns=off,
                         imu_corrections={"imu": lambda x: x - np.array([1, 1, 1, 0, 0, 0])})
    ws = by_end(run(wa, world()))[3.0]
    assert ws.windows["vision"].data[0, 0, 0] == 46                 # frame 46 is now at 3.0 s
    d = ws.windows["imu"].data
    t = (ws.windows["imu"].timestamps_ns - T0) / NS
    np.testing.assert_allclose(d[:, 0], t - 1, atol=1e-5)
    np.testing.assert_allclose(d[:, 4], t, atol=1e-5)


def test_per_modality_window_lengths():
    ws = by_end(run(WindowAssembler(INFOS, window_s={"audio": 1.0, "imu": 3.0}, imu_rows=300),
                    world()))[4.0]
    assert ws.windows["audio"].data.shape == (RATE, 1)
    assert ws.windows["imu"].t_start_ns == T0 + 1 * NS and ws.windows["imu"].data.shape == (300, 6)
    with pytest.raises(ValueError, match="unknown modalities"):
        WindowAssembler(INFOS, window_s={"smell": 1.0})


def test_first_configured_stream_wins_and_fallback_is_recorded():
    cam0 = [s for s in frames("cam0", "vision", 15, 5.0) if s.t_ns < T0 + 2 * NS]   # unplugged at 2 s
    cam1 = frames("cam1", "vision", 10, 5.0)
    infos = [StreamInfo("cam0", "vision", 15, (8, 8, 3), ""), StreamInfo("cam1", "vision", 10, (8, 8, 3), "")]
    sets = by_end(run(WindowAssembler(infos), sorted(cam0 + cam1, key=lambda s: s.t_ns)))
    assert sets[1.0].windows["vision"].streams == ("cam0",)
    assert sets[3.0].windows["vision"].streams == ("cam1",)


def test_streams_come_and_go():
    cam = [s for s in frames("cam", "vision", 15, 8.0) if not (T0 + 2 * NS <= s.t_ns < T0 + 5 * NS)]
    extra = frames("new", "thermal", 8, 3.0, start=4.0)       # a stream nobody configured
    samples = sorted(cam + audio(8.0) + extra, key=lambda s: s.t_ns)
    wa = WindowAssembler(INFOS[:2])
    sets = by_end(run(wa, samples))
    assert "vision" not in sets[3.0].windows and "audio" in sets[3.0].windows
    assert sets[6.0].windows["vision"].data[0, 0, 0] == 90
    assert sets[6.0].windows["thermal"].streams == ("new",)
    assert wa.stats["clock_jumps"] == 0


def test_backward_clock_jump_of_every_stream_resets_the_timeline():
    first = world(4.0)
    second = [Sample(s.stream, s.modality, s.t_ns - 50 * NS, s.data, s.meta,
                     None if s.row_t_ns is None else s.row_t_ns - 50 * NS) for s in world(4.0)]
    wa = WindowAssembler(INFOS)
    sets = run(wa, first + second)
    ends = [(ws.t_end_ns - T0) / NS for ws in sets]
    assert ends[:8] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert ends[8:] == [e - 50 for e in ends[:8]]           # the new epoch, from its start
    st = wa.stats
    # Three of the four streams jump off the old timeline; then most streams are on the new
    # clock, the timeline follows them and the fourth arrives on it (no jump of its own).
    assert st["clock_jumps"] == 3 and st["timeline_resets"] == 1
    np.testing.assert_array_equal(sets[5].windows["audio"].data, sets[13].windows["audio"].data)


def test_one_stream_jumping_ahead_is_isolated():
    samples = world(6.0)
    bad = [Sample(s.stream, s.modality, s.t_ns + 3600 * NS, s.data) if s.stream == "th"
           and s.t_ns >= T0 + 3 * NS else s for s in samples]
    wa = WindowAssembler(INFOS)
    sets = by_end(run(wa, bad))
    assert max(sets) == 5.5                                  # the timeline did not follow it
    assert "thermal" in sets[2.5].windows and "thermal" not in sets[4.0].windows
    assert "clock" in sets[4.0].skipped["thermal"]
    assert set(sets[4.0].windows) == {"vision", "audio", "imu"}
    assert wa.stats["streams"]["th"]["clock_jumps"] == 1 and wa.stats["timeline_resets"] == 0


def test_bad_samples_are_dropped_and_counted_not_raised():
    wa = WindowAssembler(INFOS)
    good = world(3.0)
    bad = [Sample("mic", "audio", T0 + NS, np.full((512, 1), np.nan, np.float32)),
           Sample("mic", "audio", T0 + NS, np.zeros((512, 2), np.float32)),
           Sample("cam", "vision", T0 + NS, np.zeros((8, 8), np.uint8)),
           Sample("cam", "audio", T0 + NS, np.zeros((512, 1), np.float32)),
           Sample("imu", "imu", T0 + NS, np.zeros((5, 3), np.float32)),
           Sample("imu", "imu", T0 + NS, np.zeros((5, 6), np.float32), row_t_ns=np.arange(4)),
           Sample("x", "text", T0, np.zeros(3))]
    run(wa, good[:100] + bad + good[100:])
    st = wa.stats
    assert st["invalid"] == 6 and st["dropped"] == 6 and st["ignored"] == 1
    assert "imu" in st["last_error"] and "row_t_ns" in st["last_error"]


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="hop_s"):
        WindowAssembler(INFOS, hop_s=0)
    with pytest.raises(ValueError, match="lateness_s"):
        WindowAssembler(INFOS, lateness_s=-1)
    with pytest.raises(ValueError, match="imu_rows"):
        WindowAssembler(INFOS, imu_rows=1)
    with pytest.raises(ValueError, match="configured twice"):
        WindowAssembler(INFOS + INFOS[:1])
    with pytest.raises(ValueError, match="imu_corrections"):
        WindowAssembler(INFOS, imu_corrections={"imu": 3})


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert set(a[k].windows) == set(b[k].windows), k
        assert a[k].skipped == b[k].skipped, k
        for m, w in a[k].windows.items():
            v = b[k].windows[m]
            assert (w.t_start_ns, w.t_end_ns, w.streams) == (v.t_start_ns, v.t_end_ns, v.streams)
            np.testing.assert_array_equal(w.data, v.data)


__all__ = ["assert_same", "world", "run", "by_end", "Window", "INFOS"]


def test_ring_overflow_is_counted_as_dropped():
    wa = WindowAssembler(INFOS[1:2], max_items_per_stream=10)
    run(wa, audio(2.0))
    st = wa.stats
    assert st["dropped"] == len(audio(2.0)) - 10 and st["invalid"] == 0
    assert st["skip_reasons"]["audio"]["too_much_missing"] >= 1   # 10 chunks: 16 % of 2 s


def test_poll_with_live_clock_keeps_windows_coming_when_streams_stall():
    wa = WindowAssembler(INFOS[:1])
    for s in frames("cam", "vision", 15, 2.0):
        wa.push(s)
    sampled = [ws.t_end_ns for ws in wa.poll()]
    live = [ws.t_end_ns for ws in wa.poll(now_ns=T0 + 3600 * NS)]      # an hour later
    assert sampled and live and max(live) == T0 + 2 * NS                # frames up to 1.93 s
    assert wa.poll(now_ns=T0 + 7200 * NS) == []                         # nothing left, no loop


def test_duplicated_chunks_and_batches_change_nothing():
    # A driver that re-sends a block (reconnect, retransmission): duplicate audio is dropped,
    # duplicate IMU rows are kept once, so the windows are those of the clean streams.
    samples = world(4.0)
    dup = []
    for i, s in enumerate(samples):
        dup.append(s)
        if s.stream in ("mic", "imu") and i % 5 == 0:
            dup.append(s)
    assert_same(by_end(run(WindowAssembler(INFOS), samples)),
                by_end(run(WindowAssembler(INFOS), dup)))


def test_stream_paused_longer_than_the_jump_threshold_is_not_a_clock_jump():
    # A camera unplugged for 8 s (> clock_jump_s = 5 s) while the microphone goes on: when it
    # comes back its stamps are on the timeline, so it simply contributes again.
    cam = [s for s in frames("cam", "vision", 15, 14.0) if not (T0 + 2 * NS <= s.t_ns < T0 + 10 * NS)]
    wa = WindowAssembler(INFOS[:2], clock_jump_s=5.0)
    sets = by_end(run(wa, sorted(cam + audio(14.0), key=lambda s: s.t_ns)))
    assert "vision" in sets[1.5].windows
    assert all("vision" not in sets[k].windows and "audio" in sets[k].windows
               for k in (3.0, 6.0, 9.5))
    assert sets[11.0].windows["vision"].data[0, 0, 0] == 165
    assert wa.stats["clock_jumps"] == 0 and wa.stats["timeline_resets"] == 0
    assert wa.stats["skip_reasons"]["vision"] == {"no_frame": wa.stats["skipped"]["vision"]}


def test_forward_clock_jump_of_every_stream_follows_without_a_flood_of_windows():
    # Host suspended for an hour: every stream's stamps jump forward together. The timeline
    # follows; no window is produced for the hour in between, and content stays right.
    jump = 3600 * NS
    first = world(4.0)
    second = [Sample(s.stream, s.modality, s.t_ns + jump, s.data, s.meta,
                     None if s.row_t_ns is None else s.row_t_ns + jump) for s in world(4.0)]
    wa = WindowAssembler(INFOS)
    sets = run(wa, first + second)
    ends = [(ws.t_end_ns - T0) / NS for ws in sets]
    assert ends == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5] + [3600 + e for e in
                                                               [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]]
    assert wa.stats["timeline_resets"] == 1 and wa.stats["empty"] == 0
    np.testing.assert_array_equal(sets[14].windows["audio"].data, sets[6].windows["audio"].data)
    assert sets[14].windows["vision"].data[0, 0, 0] == 45


def test_frame_timestamp_jitter_still_picks_the_right_frame():
    # Frame stamps jitter by up to ±25 ms (less than half the 66.7 ms period): the frame
    # nearest each window end is still the one captured there.
    rng = np.random.default_rng(3)
    cam = [Sample(s.stream, s.modality, s.t_ns + int(rng.integers(-25_000_000, 25_000_001)),
                  s.data) for s in frames("cam", "vision", 15, 6.0)]
    wa = WindowAssembler(INFOS[:1], hop_s=0.2, frame_tolerance_s=0.05)   # 3 frames
    sets = run(wa, sorted(cam, key=lambda s: s.t_ns))
    checked = 0
    for ws in sets:
        k = (ws.t_end_ns - T0) * 15 / NS          # frame index at the window end
        if abs(k - round(k)) < 1e-6 and 0 < k < 89:
            assert ws.windows["vision"].data[0, 0, 0] == round(k), ws.t_end_ns
            assert abs(ws.windows["vision"].meta["frame_offset_ns"]) <= 25_000_000
            checked += 1
    assert checked >= 15


def test_a_mis_stamped_stream_that_delivers_first_does_not_capture_the_timeline():
    # The thermal stream is stamped an hour ahead and happens to deliver first: the four good
    # streams outvote it, the timeline follows them, and only thermal is skipped as off-clock.
    hour = 3600 * NS
    samples = world(6.0)
    good = [s for s in samples if s.stream != "th"]
    th = [Sample(s.stream, s.modality, s.t_ns + hour, s.data) for s in samples if s.stream == "th"]
    order = th[:1] + sorted(good + th[1:], key=lambda s: s.t_ns - (hour if s.stream == "th" else 0))
    wa = WindowAssembler(INFOS)
    sets = by_end(run(wa, order))
    assert min(sets) == 0.0 and max(sets) == 5.5
    for k in (2.0, 3.0, 5.0):
        assert set(sets[k].windows) == {"vision", "audio", "imu"}
        assert "clock" in sets[k].skipped["thermal"]
    assert sets[3.0].windows["vision"].data[0, 0, 0] == 45
    st = wa.stats
    assert st["timeline_resets"] == 1 and st["streams"]["th"]["clock_jumps"] == 1
    assert "vision" not in st["skip_reasons"]                 # not a single vision window lost
    assert all("clock_jump" not in st["skip_reasons"].get(m, {}) for m in ("audio", "imu"))


def test_streams_on_several_clocks_settle_without_flip_flopping():
    day, hour = 86400 * NS, 3600 * NS

    def shifted(shift):
        out = []
        for s in world(3.0):
            at, by = shift.get(s.stream, (None, 0))
            if at is not None and s.t_ns >= T0 + at * NS:
                s = Sample(s.stream, s.modality, s.t_ns + by, s.data, s.meta,
                           None if s.row_t_ns is None else s.row_t_ns + by)
            out.append(s)
        return out

    # Four clocks, no two agreeing: the timeline stays where it is (thermal's), the others are
    # skipped as off-clock. (This once flip-flopped dozens of times, walking a day of empty
    # window ends each time.)
    wa = WindowAssembler(INFOS, window_s=1.0, hop_s=0.25)
    sets = run(wa, shifted({"mic": (0.29, day), "cam": (0.88, -day), "imu": (0.43, -hour)}))
    assert [(ws.t_end_ns - T0) / NS for ws in sets] == [k / 4 for k in range(12)]
    assert all("thermal" in ws.windows for ws in sets)
    assert (wa.stats["timeline_resets"], wa.stats["empty"], wa.stats["clock_jumps"]) == (0, 0, 3)
    # Mic and camera agree on the day-earlier clock: they outvote thermal once, and it stays.
    wa = WindowAssembler(INFOS, window_s=1.0, hop_s=0.25)
    sets = run(wa, shifted({"mic": (0.29, -day), "cam": (0.88, -day), "imu": (0.43, -hour)}))
    ends = [(ws.t_end_ns - T0) / NS for ws in sets]
    assert ends[:4] == [0.0, 0.25, 0.5, 0.75]
    assert ends[4:] == [-86399.0 + k / 4 for k in range(8)]
    assert all(set(ws.windows) <= {"vision", "audio"} for ws in sets[4:])
    assert wa.stats["timeline_resets"] == 1 and wa.stats["empty"] < 5


def test_a_long_pause_of_every_stream_is_jumped_over():
    # Every sensor sleeps for an hour (with clock_jump_s set above that): windows resume right
    # after and the hour is counted as empty window ends (jumped over in one step, with the
    # same result as walking it hop by hop).
    pause = 3600 * NS
    second = [Sample(s.stream, s.modality, s.t_ns + pause, s.data, s.meta,
                     None if s.row_t_ns is None else s.row_t_ns + pause) for s in world(3.0)]
    wa = WindowAssembler(INFOS, clock_jump_s=7200.0)
    sets = run(wa, world(3.0) + second)
    ends = [(ws.t_end_ns - T0) / NS for ws in sets]
    assert ends == [k / 2 for k in range(7)] + [3600 + k / 2 for k in range(6)]
    assert 7150 <= wa.stats["empty"] <= 7200
    assert wa.stats["timeline_resets"] == wa.stats["clock_jumps"] == 0
