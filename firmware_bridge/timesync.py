"""Mapping device microseconds onto host monotonic nanoseconds (PROTOCOL.md §3, 0x20/0x21).

The host sends TIME_SYNC_REQUEST with t1 (its ``time.monotonic_ns()``), the device answers with
t2/t3 (its µs clock at receipt and reply) and the host stamps t4 on arrival. Each exchange gives a
point (device midpoint, host midpoint) whose error is at most half its round trip. The estimator
keeps a sliding window, uses only the exchanges with the smallest round trips (least queueing),
and fits ``host = a + b·device`` by least squares, so offset *and* drift are tracked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyncExchange:
    t1_ns: int  # host, request sent
    t2_us: int  # device, request received
    t3_us: int  # device, response sent
    t4_ns: int  # host, response received

    @property
    def rtt_ns(self) -> int:
        return (self.t4_ns - self.t1_ns) - (self.t3_us - self.t2_us) * 1000

    @property
    def host_mid_ns(self) -> float:
        return (self.t1_ns + self.t4_ns) / 2.0

    @property
    def device_mid_us(self) -> float:
        return (self.t2_us + self.t3_us) / 2.0


@dataclass(frozen=True)
class ClockMapping:
    """``host_ns = host_ref_ns + ns_per_us · (device_us − device_ref_us)``."""

    device_ref_us: float
    host_ref_ns: float
    ns_per_us: float  # 1000 for a perfect device clock; 1000/(1+drift) for a drifting one
    error_ns: float  # estimated bound: fit residual RMS + half the smallest round trip
    exchanges: int  # exchanges used by the fit (0: seeded from one frame's arrival, unsynced)
    span_s: float  # device-time span covered by those exchanges

    @property
    def synced(self) -> bool:
        return self.exchanges > 0

    @property
    def drift_ppm(self) -> float:
        """How fast the device clock runs relative to the host's, in ppm."""
        return (1000.0 / self.ns_per_us - 1.0) * 1e6

    def to_host_ns(self, device_us):
        """Host monotonic ns (int64, or a numpy int64 array) for device µs (scalar or array)."""
        d = np.asarray(device_us, dtype=np.float64) - self.device_ref_us
        h = np.rint(self.host_ref_ns + self.ns_per_us * d).astype(np.int64)
        return int(h) if h.ndim == 0 else h


class ClockEstimator:
    """Filters sync exchanges into a :class:`ClockMapping`.

    window: exchanges kept; quantile: fraction with the smallest round trips used for the fit;
    min_fit_span_s: below this device-time span the drift is not estimated (slope fixed at the
    last estimate, initially 1); jump_ns: a new exchange this far from the current mapping means
    the device clock jumped (reboot) and the history is discarded.
    """

    def __init__(self, window: int = 64, quantile: float = 0.3, min_fit_span_s: float = 2.0,
                 jump_ns: float = 50e6) -> None:
        self.window = window
        self.quantile = quantile
        self.min_fit_span_s = min_fit_span_s
        self.jump_ns = jump_ns
        self._ex: list[SyncExchange] = []
        self._mapping: ClockMapping | None = None
        self._slope = 1000.0
        self.resets = 0
        self.rejected = 0

    @property
    def mapping(self) -> ClockMapping | None:
        return self._mapping

    @property
    def exchanges(self) -> int:
        return len(self._ex)

    def reset(self) -> None:
        self._ex.clear()
        self._mapping = None
        self._slope = 1000.0

    def seed(self, device_us: int, host_ns: int) -> ClockMapping:
        """A rough mapping from one frame's arrival, used until the first exchange completes."""
        if self._mapping is None:
            self._mapping = ClockMapping(float(device_us), float(host_ns), 1000.0, math.inf, 0, 0.0)
        return self._mapping

    def add(self, ex: SyncExchange) -> ClockMapping | None:
        if ex.rtt_ns < 0 or ex.t4_ns < ex.t1_ns:
            self.rejected += 1
            return self._mapping
        m = self._mapping
        if m is not None and m.synced:
            err = abs(m.to_host_ns(ex.device_mid_us) - ex.host_mid_ns)
            if err > self.jump_ns + ex.rtt_ns:
                self.resets += 1
                self.reset()
        self._ex.append(ex)
        if len(self._ex) > self.window:
            del self._ex[: len(self._ex) - self.window]
        self._mapping = self._fit()
        return self._mapping

    def _fit(self) -> ClockMapping:
        rtt = np.array([e.rtt_ns for e in self._ex], dtype=np.float64)
        dev = np.array([e.device_mid_us for e in self._ex], dtype=np.float64)
        host = np.array([e.host_mid_ns for e in self._ex], dtype=np.float64)
        k = max(3, int(math.ceil(self.quantile * len(rtt))))
        sel = np.argsort(rtt, kind="stable")[:k]
        d, h = dev[sel], host[sel]
        d_ref, h_ref = float(d.mean()), float(h.mean())
        x, y = d - d_ref, h - h_ref
        span_s = float(d.max() - d.min()) * 1e-6
        if span_s >= self.min_fit_span_s and len(sel) >= 3:
            slope = float((x @ y) / (x @ x))
            self._slope = slope
        else:
            slope = self._slope
        resid = y - slope * x
        a = float(resid.mean())
        rms = float(np.sqrt(np.mean((resid - a) ** 2)))
        error = rms + float(rtt[sel].min()) / 2.0
        return ClockMapping(d_ref, h_ref + a, slope, error, int(len(sel)), span_s)
