"""What a BridgeClient reports about its link: the state, and the counters behind it."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .messages import Heartbeat


class LinkState(str, Enum):
    CONNECTED = "connected"  # data flowing, no recent errors
    DEGRADED = "degraded"  # port open but silent, or recent errors/gaps
    DISCONNECTED = "disconnected"  # port closed; reconnecting


@dataclass(frozen=True)
class Health:
    state: LinkState
    decoder: dict
    seq_gaps: int
    frames_missed: int
    imu_samples_missed: int
    thermal_frames: int
    thermal_frames_dropped: int
    connects: int
    disconnects: int
    last_rx_age_s: float | None
    sync_exchanges: int
    sync_error_ns: float | None
    drift_ppm: float | None
    callback_errors: int
    device: Heartbeat | None = None
    last_error: str | None = None


@dataclass
class LinkCounters:
    """What the reader thread counts (under the client's lock)."""

    imu_missed: int = 0
    connects: int = 0
    disconnects: int = 0
    callback_errors: int = 0
    last_rx_ns: int | None = None
    last_problem_ns: int | None = None
    last_error: str | None = None
    heartbeat: Heartbeat | None = None


def link_state(connected: bool, rx_age_s: float | None, problem_age_ns: int | None,
               stale_after_s: float, degraded_hold_s: float) -> LinkState:
    """DISCONNECTED with the port closed; DEGRADED while nothing arrived for ``stale_after_s``
    or within ``degraded_hold_s`` of an error or gap; CONNECTED otherwise."""
    if not connected:
        return LinkState.DISCONNECTED
    if rx_age_s is None or rx_age_s > stale_after_s or (
        problem_age_ns is not None and problem_age_ns < degraded_hold_s * 1e9
    ):
        return LinkState.DEGRADED
    return LinkState.CONNECTED
