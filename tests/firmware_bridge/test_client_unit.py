"""BridgeClient against a scripted device on a real TCP socket (pyserial's ``socket://``): what it
counts as a sequence gap, and giving up on a thermal frame that stays incomplete."""
from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from edgebind.firmware_bridge import (
    BridgeClient, Heartbeat, ThermalFragment, TimeSyncResponse, encode, encode_frame,
)
from tests.conftest import wait_until


class ScriptedDevice:
    """Accepts one connection and, once the client has written (its INFO_REQUEST, sent after it
    flushed its input), sends ``data``; then reads and ignores until closed."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        with conn:
            conn.settimeout(0.05)
            sent = False
            while not self.stop.is_set():
                try:
                    if not conn.recv(4096):
                        return
                    if not sent:
                        conn.sendall(self.data)
                        sent = True
                except socket.timeout:
                    continue
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.srv.close()


@pytest.fixture
def device():
    made: list[ScriptedDevice] = []

    def make(data: bytes) -> ScriptedDevice:
        made.append(ScriptedDevice(data))
        return made[-1]

    yield make
    for d in made:
        d.close()


def test_skipped_frames_are_not_sequence_gaps(device):
    frames = [encode(Heartbeat(seq=0)), encode_frame(0x7E, b"a newer type", seq=1),
              encode_frame(0x02, b"short", seq=2), encode(TimeSyncResponse(99, seq=3)),
              encode(Heartbeat(seq=6))]  # 4 and 5 were lost
    dev = device(b"".join(frames))
    with BridgeClient(dev.url, read_timeout_s=0.01) as client:
        assert wait_until(lambda: client.health.decoder["frames_ok"] == 3, 10), client.health
        h = client.health
    assert h.decoder["unknown_type"] == 1 and h.decoder["malformed"] == 1
    assert (h.seq_gaps, h.frames_missed) == (1, 2)


def test_incomplete_thermal_frame_is_dropped_without_a_newer_one(device):
    px = np.arange(496, dtype=np.uint16)
    first = ThermalFragment(1, 1, 32, 24, 0, 2, 0, 0.01, 0.0, px, seq=0)  # fragment 2 never comes
    dev = device(encode(first))
    with BridgeClient(dev.url, read_timeout_s=0.01) as client:
        assert wait_until(lambda: client.health.thermal_frames_dropped == 1, 15), client.health
        h = client.health
    assert h.thermal_frames == 0 and client.assembler.stats.frames_timed_out == 1
