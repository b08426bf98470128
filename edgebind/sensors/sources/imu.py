"""IMU (and thermal-array) streams from a microcontroller over the firmware bridge.

One :class:`BridgeSource` owns one serial port (any pyserial URL) and can deliver both of that
device's streams: IMU batches (float32 N×6 ``[ax ay az gx gy gz]`` in m/s², rad/s, one host
monotonic stamp per row in ``row_t_ns``; the sample is stamped at its first row) and complete
thermal frames (float32 H×W kelvin). Time sync, reconnects with backoff and link health are the
:class:`~edgebind.firmware_bridge.BridgeClient`'s; this class maps them onto the Source contract
(link connected/degraded/disconnected -> ok/degraded/disconnected; device-side losses -> dropped).
"""
from __future__ import annotations

import queue

import numpy as np

from edgebind.sample import Sample, StreamInfo
from edgebind.sensors.base import HealthState, Source
from edgebind.sensors.sources._renamed import renamed


class BridgeSource(Source):
    """``imu_stream`` / ``thermal_stream``: stream names to deliver (None = not wanted; at least
    one). ``imu_rate_hz``, ``imu_batch``, ``thermal_rate_hz``: sent to the device (CONFIG_SET) on
    every connect when given (``imu_rate`` / ``thermal_rate``: their old names).

    :meth:`imu` and :meth:`thermal` make the usual one-stream sources by name."""

    kind = "bridge"

    def __init__(self, port: str, *, imu_stream: str | None = "imu",
                 thermal_stream: str | None = None, baudrate: int = 3_000_000,
                 imu_rate_hz: float | None = None, imu_batch: int | None = None,
                 thermal_rate_hz: float | None = None, imu_rate: float | None = None,
                 thermal_rate: float | None = None, **kw) -> None:
        kw.setdefault("backoff", (0.05, 1.0))
        super().__init__(**kw)
        owner = f"bridge {port!r}"
        imu_rate_hz = renamed(imu_rate_hz, imu_rate, "imu_rate_hz", "imu_rate", owner)
        thermal_rate_hz = renamed(thermal_rate_hz, thermal_rate, "thermal_rate_hz",
                                  "thermal_rate", owner)
        if imu_stream is None and thermal_stream is None:
            raise ValueError(f"bridge {port!r}: ask for an imu_stream, a thermal_stream or both")
        if imu_stream is not None and imu_stream == thermal_stream:
            raise ValueError(f"bridge {port!r}: imu and thermal streams need different names")
        self.port, self.baudrate = port, baudrate
        self.imu_stream, self.thermal_stream = imu_stream, thermal_stream
        self.imu_rate_hz, self.imu_batch = imu_rate_hz, imu_batch
        self.thermal_rate_hz = thermal_rate_hz
        self._client = None
        self._configured_connects = 0
        self._thermal_shape: tuple[int, int] = (-1, -1)
        self._applied: dict[str, float] = {}

    @classmethod
    def imu(cls, name: str = "imu", *, port: str, thermal_stream: str | None = None,
            **kw) -> "BridgeSource":
        """An IMU stream from the firmware bridge (optionally the same device's thermal
        array)."""
        return cls(port, imu_stream=name, thermal_stream=thermal_stream, **kw)

    @classmethod
    def thermal(cls, name: str = "thermal", *, port: str, **kw) -> "BridgeSource":
        """A thermal-array stream from the firmware bridge (kelvin)."""
        return cls(port, imu_stream=None, thermal_stream=name, **kw)

    @property
    def imu_rate(self) -> float | None:
        """The old name of :attr:`imu_rate_hz`."""
        return self.imu_rate_hz

    @property
    def thermal_rate(self) -> float | None:
        """The old name of :attr:`thermal_rate_hz`."""
        return self.thermal_rate_hz

    def _stream_infos(self) -> list[StreamInfo]:
        info = self._client.device_info if self._client is not None else None
        dev = f"firmware-bridge:{self.port}"
        if info is not None:
            dev += f" board={info.board} id={info.device_id:#x}"
        out = []
        if self.imu_stream is not None:
            rate = (self._applied.get("imu") or (info.imu_rate_hz if info is not None else 0.0)
                    or self.imu_rate_hz or 0.0)
            extra = {"columns": ["ax", "ay", "az", "gx", "gy", "gz"]}
            if info is not None and info.imu_model:
                extra["model"] = info.imu_model
            out.append(StreamInfo(self.imu_stream, "imu", rate, (-1, 6), "m/s^2, rad/s", dev, extra))
        if self.thermal_stream is not None:
            rate = (self._applied.get("thermal")
                    or (info.thermal_rate_hz if info is not None else 0.0)
                    or self.thermal_rate_hz or 0.0)
            shape = self._thermal_shape
            if shape == (-1, -1) and info is not None and info.thermal_width:
                shape = (info.thermal_height, info.thermal_width)
            extra = {"model": info.thermal_model} if info is not None and info.thermal_model else {}
            out.append(StreamInfo(self.thermal_stream, "thermal", rate, shape, "float32 kelvin",
                                  dev, extra))
        return out

    def _open(self) -> None:
        from edgebind.firmware_bridge import BridgeClient

        # The client opens (and re-opens, with its own backoff) the port on its reader thread.
        self._client = BridgeClient(self.port, baudrate=self.baudrate,
                                    reconnect_backoff_s=(self.backoff.initial_s, self.backoff.max_s))
        self._configured_connects = 0

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _link_state(self) -> HealthState | None:
        client = self._client
        if client is None:
            return "disconnected"
        return {"connected": "ok", "degraded": "degraded"}.get(client.health.state.value,
                                                               "disconnected")

    def _extra_counts(self, stream: str) -> dict[str, int]:
        client = self._client
        if client is None:
            return {}
        h = client.health
        errors = int(h.decoder.get("errors", 0)) if isinstance(h.decoder, dict) else 0
        dropped = h.imu_samples_missed if stream == self.imu_stream else h.thermal_frames_dropped
        return {"dropped": int(dropped), "errors": errors + h.callback_errors,
                "reconnects": max(0, h.connects - 1)}

    def _maybe_configure(self) -> None:
        client = self._client
        fields = {k: v for k, v in (("imu_rate_hz", self.imu_rate_hz),
                                    ("imu_batch", self.imu_batch),
                                    ("thermal_rate_hz", self.thermal_rate_hz)) if v is not None}
        if client is None or not fields or not client.connected:
            return
        connects = client.health.connects
        if connects == self._configured_connects:
            return
        self._configured_connects = connects
        ack = client.configure(timeout=1.0, **fields)
        if ack is None:
            self._configured_connects = 0  # retry on the next read
            self._note_problem(None, f"{self.port}: device did not acknowledge the configuration",
                               error=True)
            return
        # The device snaps rates to what its sensors support: report what it applied.
        self._applied = {"imu": ack.imu_rate_hz, "thermal": ack.thermal_rate_hz}
        if ack.status == ack.REJECTED:
            self._note_problem(None, f"{self.port}: device rejected the configuration {fields}",
                               error=True)

    def _read(self) -> list[Sample]:
        client = self._client
        if client is None:
            raise OSError("bridge client is not open")
        self._maybe_configure()
        out: list[Sample] = []
        try:
            imu = client.imu_queue.get(timeout=0.05)
            out.append(self._imu_sample(imu))
        except queue.Empty:
            pass
        while True:
            try:
                out.append(self._imu_sample(client.imu_queue.get_nowait()))
            except queue.Empty:
                break
        while True:
            try:
                img = client.thermal_queue.get_nowait()
            except queue.Empty:
                break
            if self.thermal_stream is not None:
                k = np.asarray(img.kelvin, dtype=np.float32)
                self._thermal_shape = k.shape
                out.append(Sample(self.thermal_stream, "thermal", int(img.t_ns), k,
                                  {"frame_id": img.frame_id, "device_us": img.device_us,
                                   "sync_error_ns": img.sync_error_ns}))
        out = [s for s in out if s is not None]
        out.sort(key=lambda s: s.t_ns)
        return out

    def _imu_sample(self, imu) -> Sample | None:
        if self.imu_stream is None:
            return None
        t = np.asarray(imu.t_ns, dtype=np.int64)
        if t.size == 0:
            return None
        return Sample(self.imu_stream, "imu", int(t[0]), np.asarray(imu.data, dtype=np.float32),
                      {"first_index": imu.first_index, "sync_error_ns": imu.sync_error_ns}, t)


# The factory functions' names from before they were classmethods (the docs use imu_source).
imu_source = BridgeSource.imu
bridge_thermal_source = BridgeSource.thermal
