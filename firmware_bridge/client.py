"""BridgeClient: the host end of the link over any pyserial URL.

One reader thread per client does everything that touches the port: reading and decoding,
time-sync requests, sequence-gap accounting, thermal reassembly, delivery, and reconnecting with
backoff when the device goes away. ``close()`` stops and joins it and closes the port.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import serial

from .codec import FrameDecoder, encode
from .health import Health, LinkCounters, LinkState, link_state  # noqa: F401 - LinkState re-exported
from .messages import (
    ConfigAck, ConfigSet, DeviceInfo, Heartbeat, ImuBatch, InfoRequest, Log, Message,
    ThermalFragment, TimeSyncRequest, TimeSyncResponse,
)
from .samples import ImuSamples, ThermalImage
from .thermal import ThermalAssembler
from .timesync import ClockEstimator, ClockMapping, SyncExchange

log = logging.getLogger(__name__)


@dataclass
class SyncSchedule:
    fast_interval_s: float = 0.1  # while settling
    fast_count: int = 40
    interval_s: float = 0.5


def _stamp_now(message: Message) -> None:
    message.timestamp_us = time.monotonic_ns() // 1000


def _stamp_t1(request: TimeSyncRequest) -> None:
    """A sync request carries its send time (t1) at full resolution."""
    request.t1 = time.monotonic_ns()
    request.timestamp_us = request.t1 // 1000


def _put_drop_oldest(q: queue.Queue, item) -> None:
    while True:
        try:
            q.put_nowait(item)
            return
        except queue.Full:
            try:
                q.get_nowait()
            except queue.Empty:
                pass


class BridgeClient:
    """Connects to a device at a pyserial URL (``/dev/ttyACM0``, ``socket://host:port``,
    ``loop://``) and delivers :class:`ImuSamples` and :class:`ThermalImage` records.

    Delivery: callbacks (``on_imu``, ``on_thermal``, ``on_message`` for every decoded message; run
    on the reader thread, so keep them short) and the bounded queues ``imu_queue`` and
    ``thermal_queue`` (oldest dropped when full).
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 3_000_000,
        on_imu: Callable[[ImuSamples], None] | None = None,
        on_thermal: Callable[[ThermalImage], None] | None = None,
        on_message: Callable[[Message, int], None] | None = None,
        queue_size: int = 1024,
        sync: SyncSchedule | None = None,
        estimator: ClockEstimator | None = None,
        reconnect_backoff_s: tuple[float, float] = (0.05, 1.0),
        read_timeout_s: float = 0.02,
        stale_after_s: float = 1.5,
        degraded_hold_s: float = 2.0,
        crc: str = "auto",
        start: bool = True,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.on_imu, self.on_thermal, self.on_message = on_imu, on_thermal, on_message
        self.imu_queue: queue.Queue[ImuSamples] = queue.Queue(queue_size)
        self.thermal_queue: queue.Queue[ThermalImage] = queue.Queue(max(1, queue_size // 16))
        self.sync = sync or SyncSchedule()
        self.estimator = estimator or ClockEstimator()
        self.backoff = reconnect_backoff_s
        self.read_timeout_s = read_timeout_s
        self.stale_after_s = stale_after_s
        self.degraded_hold_s = degraded_hold_s
        self.decoder = FrameDecoder(crc=crc)
        self.assembler = ThermalAssembler()
        self._c = LinkCounters()
        self._lock = threading.Lock()  # counters / snapshot
        self._wlock = threading.Lock()  # port writes
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self._tx_seq = 0
        self._next_imu_index: int | None = None
        self._sync_id = 0
        self._sync_sent = 0
        self._sync_outstanding: dict[int, int] = {}
        self._next_sync_ns = 0
        self._device_info: DeviceInfo | None = None
        self._acks: dict[int, ConfigAck] = {}
        self._ack_cond = threading.Condition()
        self._config_id = 0
        if start:
            self.start()

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"firmware-bridge[{self.url}]",
                                        daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stops the reader thread, joins it and closes the port. Idempotent."""
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None:
            t.join(timeout)
            if t.is_alive():  # pragma: no cover - would be a bug
                log.error("firmware-bridge reader thread did not stop")
        self._close_port()

    def __enter__(self) -> "BridgeClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- public state -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    @property
    def device_info(self) -> DeviceInfo | None:
        return self._device_info

    @property
    def clock(self) -> ClockMapping | None:
        """The current device→host clock mapping (None before any frame arrived)."""
        return self.estimator.mapping

    def wait_synced(self, timeout: float, max_error_ns: float = 1e6, min_span_s: float = 0.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.clock
            if m is not None and m.synced and m.error_ns <= max_error_ns and m.span_s >= min_span_s:
                return True
            time.sleep(0.02)
        return False

    @property
    def health(self) -> Health:
        now = time.monotonic_ns()
        with self._lock:
            c = self._c
            age = None if c.last_rx_ns is None else (now - c.last_rx_ns) / 1e9
            state = link_state(self._connected.is_set(), age,
                               None if c.last_problem_ns is None else now - c.last_problem_ns,
                               self.stale_after_s, self.degraded_hold_s)
            m = self.estimator.mapping
            synced = m is not None and m.synced
            return Health(
                state=state, decoder=self.decoder.stats.as_dict(), seq_gaps=self.decoder.stats.seq_gaps,
                frames_missed=self.decoder.stats.frames_missed, imu_samples_missed=c.imu_missed,
                thermal_frames=self.assembler.stats.frames_complete,
                thermal_frames_dropped=self.assembler.stats.frames_dropped,
                connects=c.connects, disconnects=c.disconnects, last_rx_age_s=age,
                sync_exchanges=self.estimator.exchanges,
                sync_error_ns=m.error_ns if synced else None,
                drift_ppm=m.drift_ppm if synced else None,
                callback_errors=c.callback_errors, device=c.heartbeat, last_error=c.last_error,
            )

    # ---- commands -----------------------------------------------------------------------------
    def send(self, message: Message) -> bool:
        """Writes a message (sequence number and host timestamp filled in); False if not connected."""
        return self._write(message, _stamp_now)

    def _write(self, message: Message, stamp: Callable[[Message], None]) -> bool:
        """Numbers, stamps (``stamp``, as late as possible) and writes ``message``; False when
        the port is closed or the write fails."""
        with self._wlock:
            port = self._port
            if port is None:
                return False
            message.seq = self._tx_seq
            self._tx_seq = (self._tx_seq + 1) & 0xFFFF
            stamp(message)
            try:
                port.write(encode(message))
                return True
            except (serial.SerialException, OSError) as e:
                self._note_error(f"write failed: {e}")
                return False

    def configure(self, timeout: float = 2.0, **fields) -> ConfigAck | None:
        """Sends CONFIG_SET with the given fields (see :class:`ConfigSet`) and waits for the ack."""
        self._config_id = (self._config_id + 1) & 0xFFFFFFFF
        cid = self._config_id
        if not self.send(ConfigSet(config_id=cid, **fields)):
            return None
        deadline = time.monotonic() + timeout
        with self._ack_cond:
            while cid not in self._acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._ack_cond.wait(left)
            return self._acks.pop(cid)

    def request_info(self) -> bool:
        return self.send(InfoRequest())

    # ---- reader thread --------------------------------------------------------------------------
    def _note_error(self, text: str) -> None:
        with self._lock:
            self._c.last_error = text
            self._c.last_problem_ns = time.monotonic_ns()

    def _close_port(self) -> None:
        with self._wlock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - closing a dead port must not raise
                pass

    def _open(self) -> bool:
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate,
                                         timeout=self.read_timeout_s, write_timeout=0.5)
        except (serial.SerialException, OSError, ValueError) as e:
            self._note_error(f"open failed: {e}")
            return False
        try:
            port.reset_input_buffer()  # stale bytes from before we were listening
        except (serial.SerialException, OSError, NotImplementedError):
            pass
        with self._wlock:
            self._port = port
        self.decoder.reset()
        self.assembler.reset()
        self.estimator.reset()  # the device may have rebooted: its clock is a new one
        self._next_imu_index = None
        self._sync_sent = 0
        self._sync_outstanding.clear()
        self._next_sync_ns = 0
        with self._lock:
            self._c.connects += 1
            self._c.last_rx_ns = None
        self._connected.set()
        self.request_info()
        return True

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            if self._port is None:
                if not self._open():
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                delay = self.backoff[0]
            port = self._port
            try:
                data = port.read(1)
                if data:
                    n = port.in_waiting
                    if n:
                        data += port.read(n)
                t_rx = time.monotonic_ns()
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                self._disconnected(f"read failed: {e}")
                continue
            if data:
                self._handle_bytes(data, t_rx)
            self.assembler.expire()  # a frame incomplete for 2 s is given up even if none follows
            self._maybe_sync()

    def _disconnected(self, why: str) -> None:
        self._connected.clear()
        self._close_port()
        self.assembler.reset()
        with self._lock:
            self._c.disconnects += 1
        self._note_error(why)

    def _maybe_sync(self) -> None:
        now = time.monotonic_ns()
        if now < self._next_sync_ns:
            return
        s = self.sync
        interval = s.fast_interval_s if self._sync_sent < s.fast_count else s.interval_s
        self._next_sync_ns = now + int(interval * 1e9)
        self._sync_id = (self._sync_id + 1) & 0xFFFFFFFF
        self._sync_outstanding[self._sync_id] = now
        if len(self._sync_outstanding) > 16:
            self._sync_outstanding.pop(next(iter(self._sync_outstanding)))
        self._sync_sent += 1
        self._write(TimeSyncRequest(self._sync_id, 0), _stamp_t1)

    def _handle_bytes(self, data: bytes, t_rx: int) -> None:
        st = self.decoder.stats
        before = (st.errors, st.seq_gaps)
        msgs = self.decoder.feed(data)  # also counts sequence gaps, over every CRC-valid frame
        with self._lock:
            self._c.last_rx_ns = t_rx
            if (st.errors, st.seq_gaps) != before:
                self._c.last_problem_ns = t_rx
        for msg in msgs:
            if self.estimator.mapping is None:
                self.estimator.seed(msg.timestamp_us, t_rx)
            try:
                self._dispatch(msg, t_rx)
            except Exception as e:  # noqa: BLE001 - a user callback must never kill the reader
                with self._lock:
                    self._c.callback_errors += 1
                log.exception("firmware-bridge: error while handling %s", type(msg).__name__)
                self._note_error(f"callback error: {e!r}")

    def _dispatch(self, msg: Message, t_rx: int) -> None:
        if self.on_message is not None:
            self.on_message(msg, t_rx)
        if isinstance(msg, ImuBatch):
            self._deliver_imu(msg)
        elif isinstance(msg, ThermalFragment):
            frame = self.assembler.add(msg, t_rx)
            if frame is not None:
                m = self.estimator.mapping
                img = ThermalImage(m.to_host_ns(frame.capture_us), frame.kelvin, frame.capture_us,
                                   frame.frame_id, m.error_ns)
                if self.on_thermal is not None:
                    self.on_thermal(img)
                _put_drop_oldest(self.thermal_queue, img)
        elif isinstance(msg, TimeSyncResponse):
            if self._sync_outstanding.pop(msg.request_id, None) is not None:
                self.estimator.add(SyncExchange(msg.t1, msg.t2_us, msg.t3_us, t_rx))
        elif isinstance(msg, Heartbeat):
            with self._lock:
                self._c.heartbeat = msg
        elif isinstance(msg, DeviceInfo):
            self._device_info = msg
        elif isinstance(msg, ConfigAck):
            with self._ack_cond:
                self._acks[msg.config_id] = msg
                self._ack_cond.notify_all()
        elif isinstance(msg, Log):
            level = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING}.get(msg.level, logging.ERROR)
            log.log(level, "device: [%d] %s", msg.code, msg.text)

    def _deliver_imu(self, batch: ImuBatch) -> None:
        expected = self._next_imu_index
        if expected is not None and batch.first_index != expected:
            missed = (batch.first_index - expected) & 0xFFFFFFFF
            if missed < 1 << 31:
                with self._lock:
                    self._c.imu_missed += missed
        self._next_imu_index = (batch.first_index + len(batch)) & 0xFFFFFFFF
        m = self.estimator.mapping
        dev = batch.timestamps_us()
        rec = ImuSamples(m.to_host_ns(dev), batch.to_si(), dev, batch.first_index, m.error_ns)
        if self.on_imu is not None:
            self.on_imu(rec)
        _put_drop_oldest(self.imu_queue, rec)
