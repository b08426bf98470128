"""Building and running the virtual device (``firmware/build/fb_virtual_device``) from Python.

Used by the tests, the benchmark and demos. It needs the repository's ``firmware/`` sources, gcc
and make; it is not needed to talk to a real device.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BridgeError

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"


class FirmwareBuildError(BridgeError, RuntimeError):
    """The C sources could not be built (missing tools or a compile error)."""


def build_firmware(firmware_dir: Path = FIRMWARE_DIR) -> Path:
    """Runs ``make -C firmware_dir`` and returns the build directory."""
    missing = [tool for tool in ("make", "gcc") if shutil.which(tool) is None]
    if missing:
        raise FirmwareBuildError(f"cannot build the firmware: {', '.join(missing)} not found on PATH")
    if not (firmware_dir / "Makefile").is_file():
        raise FirmwareBuildError(f"no firmware sources at {firmware_dir}")
    proc = subprocess.run(["make", "-s", "-C", str(firmware_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise FirmwareBuildError(f"make -C {firmware_dir} failed:\n{proc.stdout}\n{proc.stderr}")
    return firmware_dir / "build"


@dataclass
class VirtualDeviceOptions:
    offset_us: float = 0.0
    drift_ppm: float = 0.0
    imu_rate: float = 1000.0
    imu_batch: int = 10
    thermal: str = "mlx90640"  # none | mlx90640 | lepton
    thermal_rate: float = 4.0
    bitflip_rate: float = 0.0
    drop_rate: float = 0.0
    fragment_drop_rate: float = 0.0
    pause_every: float = 0.0
    pause_ms: float = 100.0
    disconnect_after: float = 0.0
    reconnect_ms: float = 500.0
    seed: int = 1
    link: str | None = None

    def argv(self) -> list[str]:
        args = []
        for name, value in vars(self).items():
            if value is None:
                continue
            args += ["--" + name.replace("_", "-"), str(value)]
        return args

    # The clock model (ground truth for tests): d = floor((h_us + offset) * (1 + drift * 1e-6)).
    def device_us(self, host_ns: int) -> int:
        return int((host_ns / 1000.0 + self.offset_us) * (1.0 + self.drift_ppm * 1e-6))

    def true_host_ns(self, device_us):
        """Host monotonic ns at which the device clock read ``device_us`` (±1 µs)."""
        return (device_us / (1.0 + self.drift_ppm * 1e-6) - self.offset_us) * 1000.0


class VirtualDevice:
    """A running ``fb_virtual_device`` process. ``path`` is its pty; ``url`` the stable link if
    one was asked for, else the pty. Use as a context manager or call :meth:`stop`."""

    def __init__(self, options: VirtualDeviceOptions | None = None, *,
                 build_dir: Path | None = None, start_timeout: float = 5.0) -> None:
        self.options = options or VirtualDeviceOptions()
        self.build_dir = build_dir or build_firmware()
        exe = self.build_dir / "fb_virtual_device"
        self.proc = subprocess.Popen([str(exe), *self.options.argv()], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.path = self._read_line(start_timeout)
        if not self.path:
            err = self.stop()
            raise RuntimeError(f"virtual device did not print its pty path: {err}")

    def _read_line(self, timeout: float) -> str:
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return ""
            chunk = os.read(fd, 1)
            if not chunk:
                return ""
            buf += chunk
        return buf.decode().strip()

    def next_path(self, timeout: float = 5.0) -> str:
        """Waits for the next pty path line (printed after a simulated replug)."""
        self.path = self._read_line(timeout)
        return self.path

    @property
    def url(self) -> str:
        return self.options.link or self.path

    def stop(self, timeout: float = 5.0) -> str:
        """SIGTERM (the device removes its link), wait, close pipes; returns its stderr (the
        first call's; later calls are no-ops returning "")."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        stderr = self.proc.stderr
        err = "" if stderr is None or stderr.closed else stderr.read().decode(errors="replace")
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
        return err

    def __enter__(self) -> "VirtualDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
