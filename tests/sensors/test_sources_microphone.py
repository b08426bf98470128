"""MicrophoneSource on a real PortAudio device: ALSA's ``pulse`` device reading the monitor of a
private PulseAudio null sink into which the test plays a known chirp."""
from __future__ import annotations

import time

import numpy as np
import pytest

from edgebind.sensors import MicrophoneSource
from edgebind.sensors.sources.microphone import AdcClock, BlockStamper
from tests.conftest import wait_until

RATE, BLOCK = 16000, 512


def chirp(seconds: float = 1.5, lead_s: float = 0.25) -> np.ndarray:
    """Silence (PulseAudio may swallow the first few ms of a playback), then a chirp."""
    t = np.arange(int(seconds * RATE)) / RATE
    sig = 0.5 * np.sin(2 * np.pi * (300 + 1500 * t) * t)
    return np.concatenate([np.zeros(int(lead_s * RATE)), sig]).astype("<f4")


def test_capture_equals_what_was_played(pulse, tmp_path):
    fed = chirp()
    raw = tmp_path / "chirp.raw"
    fed.tofile(raw)
    mic = MicrophoneSource("mic0", device="pulse", rate=RATE, channels=1, block=BLOCK)
    got = []
    mic.start(got.append)
    try:
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got, mic.health()
        player = pulse.play(raw)
        assert player.wait(15) == 0
        time.sleep(0.4)
        health = mic.health()["mic0"]
    finally:
        mic.stop()
    end_ns = time.monotonic_ns()
    assert health.state in ("ok", "degraded")
    # After stop() the delivery queue is drained: every captured block reached the callback.
    assert mic.health()["mic0"].samples == len(got)
    info = mic.streams[0]
    assert info.rate_hz == RATE and info.shape == (BLOCK, 1) and info.modality == "audio"
    for s in got:
        assert s.data.dtype == np.float32 and s.data.shape == (BLOCK, 1) and s.stream == "mic0"

    # The captured audio contains the fed chirp exactly (float32 end to end, no resampling).
    y = np.concatenate([s.data[:, 0] for s in got])
    sig = fed[int(0.25 * RATE):]
    lag = int(np.argmax(np.correlate(y, sig[:4000], mode="valid")))
    assert lag + sig.size <= y.size, "the chirp was cut off"
    np.testing.assert_array_equal(y[lag:lag + sig.size], sig)

    # Stamps: strictly increasing, spaced by the block duration, ending before now, and their
    # span agrees with the number of frames at the nominal rate.
    t = np.array([s.t_ns for s in got], dtype=np.int64)
    d = np.diff(t)
    block_ns = BLOCK * 1e9 / RATE
    assert (d > 0).all()
    assert abs(np.median(d) - block_ns) < 0.02 * block_ns
    assert t[-1] + block_ns <= end_ns
    span = (t[-1] - t[0]) / 1e9
    assert abs(span - (len(got) - 1) * BLOCK / RATE) < 0.05 + 0.01 * span


def test_unknown_device_is_disconnected_with_reason(pulse):
    mic = MicrophoneSource("nomic", device="no such microphone", backoff=(0.01, 0.02))
    assert list(mic.iter_samples(timeout_s=0.3)) == []
    h = mic.health()["nomic"]
    assert h.state == "disconnected" and h.errors >= 1
    assert "no such microphone" in h.last_error


@pytest.mark.slow
def test_server_gone_then_back_reconnects(pulse):
    """The sound server dies (like a USB microphone unplugged): disconnected with the reason;
    it comes back under the same name: the source re-opens on its own and samples flow."""
    mic = MicrophoneSource("mic1", device="pulse", rate=RATE, block=BLOCK, backoff=(0.05, 0.2))
    got = []
    mic.start(got.append)
    try:
        assert wait_until(lambda: len(got) >= 3, 10), mic.health()
        pulse.stop()
        assert wait_until(lambda: mic.health()["mic1"].state == "disconnected", 5), mic.health()
        assert mic.health()["mic1"].errors >= 1
        pulse.start()
        n = len(got)
        assert wait_until(lambda: len(got) > n + 5 and mic.health()["mic1"].state == "ok", 15), \
            mic.health()
        assert mic.health()["mic1"].reconnects >= 1
    finally:
        mic.stop()
    t = np.array([s.t_ns for s in got])
    assert (np.diff(t) > 0).all()



def test_adc_clock_takes_the_least_delayed_callback():
    clock = AdcClock(window=8)
    offset = 5_000_000_000  # host monotonic = stream clock + 5 s
    rng = np.random.default_rng(0)
    for k in range(20):
        now_s = 100.0 + k * 0.032
        late = int(rng.integers(20_000, 3_000_000)) if k != 13 else 5_000
        clock.update(now_s, round(now_s * 1e9) + offset + late)
    assert clock.offset_ns == offset + 5_000
    assert clock.to_host_ns(0.0) is None  # "no ADC time" stays unknown


def test_block_stamper_falls_back_and_keeps_blocks_contiguous():
    st = BlockStamper(RATE)
    dur = round(BLOCK * 1e9 / RATE)
    arrival = 10_000_000_000
    t0 = st.stamp(BLOCK, 0.0, 0.0, arrival)  # driver reports no times: arrival - duration
    assert t0 == arrival - dur
    # The next block is handed over 0.5 ms late: still stamped right after the previous one.
    t1 = st.stamp(BLOCK, 0.0, 0.0, arrival + dur + 500_000)
    assert t1 == t0 + dur
    # An overflow lost 100 ms: a new anchor, the gap is kept, not hidden.
    st.reset()
    t2 = st.stamp(BLOCK, 0.0, 0.0, arrival + 2 * dur + 100_000_000)
    assert t2 == arrival + dur + 100_000_000


def test_block_stamper_survives_wrong_adc_times_while_settling():
    """As seen with PulseAudio: for a while after a stream starts the reported ADC times are
    far too early (a latency of 0.5 s that is not real), then correct. Stamps stay evenly
    spaced, never later than arrival allows, and end up on the true capture times."""
    st = BlockStamper(RATE, max_latency_ns=128_000_000)
    dur = BLOCK / RATE
    offset = 7.0  # host monotonic = stream clock + 7 s
    true0 = 100.0
    stamps = []
    for k in range(80):
        cap = true0 + k * dur  # true capture time of the block's first frame (stream clock)
        now = cap + dur + 0.004  # handed over 4 ms after its last frame
        adc = cap - (0.58 if 10 <= k < 30 else 0.0) - (0.157 if k < 10 else 0.0)
        stamps.append(st.stamp(BLOCK, adc, now, round((now + offset) * 1e9)))
    t = np.array(stamps)
    truth = np.round((true0 + offset + np.arange(80) * dur) * 1e9)
    assert (np.diff(t) > 0).all()
    assert np.abs(np.diff(t) - dur * 1e9).max() < 5e6  # evenly spaced (up to the 4 ms delay)
    assert np.abs(t - truth).max() < 5e6  # never more than the 4 ms hand-over delay off
    np.testing.assert_allclose(t[-20:], truth[-20:], atol=2)


def _run(st: BlockStamper, caps, arrivals, offset: float = 3.0):
    """Feeds blocks with true capture times ``caps`` (stream clock, s) handed over at
    ``arrivals`` (stream clock, s); host monotonic = stream clock + ``offset``."""
    return np.array([st.stamp(BLOCK, c, a, round((a + offset) * 1e9))
                     for c, a in zip(caps, arrivals)])


def test_block_stamper_delivery_stall_keeps_true_times():
    dur = BLOCK / RATE
    caps = 50.0 + np.arange(60) * dur
    arrivals = caps + dur + 0.003
    arrivals[20:40] = np.maximum(arrivals[20:40], arrivals[39])  # a 0.6 s stall, then a burst
    t = _run(BlockStamper(RATE), caps, arrivals)
    np.testing.assert_allclose(t, np.round((caps + 3.0) * 1e9), atol=2)


def test_block_stamper_unflagged_loss_is_reanchored():
    dur = BLOCK / RATE
    caps = 50.0 + np.arange(40) * dur
    caps[20:] += 0.5  # a sound server silently dropped 0.5 s of frames
    t = _run(BlockStamper(RATE, gap_blocks=3), caps, caps + dur + 0.003)
    truth = np.round((caps + 3.0) * 1e9)
    np.testing.assert_allclose(t[:20], truth[:20], atol=2)
    np.testing.assert_allclose(t[22:], truth[22:], atol=2)  # from the 3rd block after the gap
    assert (np.diff(t) > 0).all()


def test_overflow_counts_a_drop_and_reanchors():
    """The callback path with PortAudio's status flags (as sounddevice passes them)."""
    from types import SimpleNamespace

    mic = MicrophoneSource("m", rate=RATE, block=BLOCK)
    block = np.zeros((BLOCK, 1), np.float32)
    now = time.monotonic()
    ok = SimpleNamespace(input_overflow=False)
    over = SimpleNamespace(input_overflow=True)
    mic._callback(block, BLOCK, SimpleNamespace(inputBufferAdcTime=now - 0.04, currentTime=now), ok)
    time.sleep(0.25)  # 0.25 s pass; the device lost the frames in between and says so
    now2 = time.monotonic()
    mic._callback(block, BLOCK, SimpleNamespace(inputBufferAdcTime=now2 - 0.04, currentTime=now2),
                  over)
    got = mic._read()
    assert len(got) == 2 and got[1].meta == {"overflow": True}
    assert got[1].t_ns - got[0].t_ns == pytest.approx((now2 - now) * 1e9, abs=2e6)  # gap kept
    assert mic.overflows == 1
    h = mic.health()["m"]
    assert h.dropped == 1 and "overflow" in h.last_error


def test_rate_hz_and_its_deprecated_alias():
    assert MicrophoneSource("m", rate_hz=8000).streams[0].rate_hz == 8000
    with pytest.warns(DeprecationWarning, match="rate_hz"):
        old = MicrophoneSource("m", rate=8000)
    assert old.rate_hz == old.rate == 8000
    with pytest.raises(ValueError, match="disagree"):
        MicrophoneSource("m", rate=8000, rate_hz=16000)


def test_one_drop_oldest_buffer():
    """Read synchronously, the callback hand-off is the only buffer and drops (counted); under
    start() it never drops: the source's own queue does."""
    from types import SimpleNamespace

    block = np.zeros((BLOCK, 1), np.float32)
    ok = SimpleNamespace(input_overflow=False)

    def feed(mic, n):
        for _ in range(n):
            now = time.monotonic()
            mic._callback(block, BLOCK, SimpleNamespace(inputBufferAdcTime=0.0, currentTime=now), ok)

    mic = MicrophoneSource("m", rate_hz=RATE, block=BLOCK, buffer_blocks=4)
    feed(mic, 6)
    assert len(mic._read()) == 4 and mic.health()["m"].dropped == 2
    mic = MicrophoneSource("m", rate_hz=RATE, block=BLOCK, buffer_blocks=4)
    mic._threads = [object()]          # as under start(): the capture thread drains the hand-off
    feed(mic, 6)
    assert len(mic._read()) == 6 and mic.health()["m"].dropped == 0
