"""The Source base class: reconnect with backoff, health states, consumer isolation."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors import Backoff, Source


class Flaky(Source):
    """A device that fails to open ``fail_opens`` times, then delivers ``per_read`` samples per
    read and raises once after ``break_after`` samples (an unplug)."""

    kind = "flaky"

    def __init__(self, fail_opens=2, break_after=None, rate=100.0, **kw):
        super().__init__(**kw)
        self.fail_opens, self.break_after, self.rate = fail_opens, break_after, rate
        self.opens = self.closes = self.n = 0
        self.open_times: list[float] = []
        self.silent = threading.Event()

    def _stream_infos(self):
        return [StreamInfo("f", "audio", self.rate, (4, 1), "x")]

    def _open(self):
        self.open_times.append(time.monotonic())
        self.opens += 1
        if self.opens <= self.fail_opens:
            raise OSError(f"device busy ({self.opens})")

    def _read(self):
        if self.silent.is_set():
            time.sleep(0.01)
            return []
        if self.break_after is not None and self.n == self.break_after:
            self.break_after = None
            raise OSError("unplugged")
        time.sleep(1 / self.rate)
        self.n += 1
        return [Sample("f", "audio", time.monotonic_ns(), np.zeros((4, 1), np.float32))]

    def _close(self):
        self.closes += 1


def test_backoff_doubles_and_resets():
    b = Backoff(0.1, 0.5)
    assert [b.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    b.reset()
    assert b.next() == 0.1


def test_open_retries_with_backoff_then_recovers_from_unplug():
    src = Flaky(fail_opens=3, break_after=5, backoff=(0.02, 0.08))
    got = list(src.iter_samples(max_samples=10, timeout_s=10))
    assert len(got) == 10
    gaps = np.diff(src.open_times[:4])
    assert gaps[0] >= 0.018 and gaps[1] >= 0.038 and gaps[2] >= 0.075  # doubling
    h = src.health()["f"]
    assert h.errors == 4 and h.reconnects == 1 and h.samples == 10
    assert "unplugged" in h.last_error
    assert src.opens == 5 and src.closes == src.opens  # every open (even failed) closed


def test_health_states_and_consumer_errors():
    src = Flaky(fail_opens=0, rate=200.0, degraded_hold_s=0.2, stale_after_s=0.15)
    assert src.health()["f"].state == "disconnected"
    calls = []

    def consumer(s):
        calls.append(s)
        if len(calls) == 3:
            raise RuntimeError("consumer bug")

    src.start(consumer)
    try:
        time.sleep(0.1)
        assert src.health()["f"].state == "degraded"  # the consumer error just happened
        time.sleep(0.3)
        h = src.health()["f"]
        assert h.state == "ok" and h.errors == 1 and "consumer bug" in h.last_error
        assert len(calls) > 10  # delivery went on after the exception
        src.silent.set()
        time.sleep(0.3)
        assert src.health()["f"].state == "degraded"  # connected but silent
        src.silent.clear()
        time.sleep(0.1)
        assert src.health()["f"].state == "ok"
        with pytest.raises(RuntimeError, match="already started"):
            src.start(consumer)
        with pytest.raises(RuntimeError, match="already started"):
            next(src.iter_samples())
    finally:
        src.stop()
    assert src.health()["f"].state == "disconnected"
    src.stop()  # idempotent
