"""Fixtures for the sensor-source tests: the firmware bridge's virtual device and a user-space
PulseAudio server whose null sink serves as a real, virtual microphone."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def firmware_build() -> Path:
    """``make -C firmware_bridge/firmware`` (skipped cleanly without make/gcc)."""
    missing = [t for t in ("make", "gcc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"the virtual device needs {' and '.join(missing)}, not found on PATH")
    from edgebind.firmware_bridge.virtual_device import build_firmware

    return build_firmware(REPO / "firmware_bridge" / "firmware")


class Pulse:
    """A private PulseAudio daemon: ``server`` (its socket), ``sink`` (a null sink at ``rate``,
    float32 mono) whose monitor is the default source, so the ALSA ``pulse`` device captures
    exactly what ``play()`` sends to the sink."""

    def __init__(self, root: Path, rate: int = 16000, channels: int = 1) -> None:
        self.root, self.rate, self.channels = root, rate, channels
        self.start()

    def start(self) -> None:
        root, rate, channels = self.root, self.rate, self.channels
        self.sink = "edgebind_null"
        self.server = f"unix:{root / 'native'}"
        script = root / "default.pa"
        script.write_text(
            f"load-module module-native-protocol-unix socket={root / 'native'} auth-anonymous=1\n"
            f"load-module module-null-sink sink_name={self.sink} rate={rate} "
            f"channels={channels} format=float32le\n"
            f"set-default-source {self.sink}.monitor\n"
            f"set-default-sink {self.sink}\n")
        self.env = {**os.environ, "HOME": str(root), "XDG_RUNTIME_DIR": str(root),
                    "PULSE_RUNTIME_PATH": str(root), "PULSE_SERVER": self.server}
        self.log = open(root / "pulse.log", "wb")
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
             "--use-pid-file=no", "--system=false", "--disable-shm=yes", "--log-target=stderr"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            r = subprocess.run(["pactl", "list", "short", "sources"], env=self.env,
                               capture_output=True, text=True)
            if r.returncode == 0 and f"{self.sink}.monitor" in r.stdout:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("pulseaudio did not start: " + (root / "pulse.log").read_text()[-2000:])

    def play(self, raw_f32: Path) -> subprocess.Popen:
        """Plays a raw float32 file into the null sink (returns the pacat process)."""
        return subprocess.Popen(
            ["pacat", "--playback", "-d", self.sink, "--format=float32le", f"--rate={self.rate}",
             f"--channels={self.channels}", "--raw", str(raw_f32)], env=self.env)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _missing_device(reason: str) -> None:
    # A user's machine may lack the audio stack: skip there. CI installs it and sets
    # EDGEBIND_REQUIRE_DEVICES=1, so a missing part fails instead of silently skipping.
    if os.environ.get("EDGEBIND_REQUIRE_DEVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    """A running private PulseAudio with PortAudio re-initialised to see its ALSA ``pulse``
    device; PortAudio and the environment are restored afterwards."""
    try:
        import sounddevice as sd
    except OSError as exc:
        _missing_device(f"PortAudio cannot be loaded ({exc}); install libportaudio2")
    for tool in ("pulseaudio", "pacat", "pactl"):
        if shutil.which(tool) is None:
            _missing_device(f"{tool} not found: install the Debian packages pulseaudio, "
                            "pulseaudio-utils and libasound2-plugins (.ci/run does)")
    root = tmp_path_factory.mktemp("pulse")
    server = Pulse(root)
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER",)}
    os.environ["PULSE_SERVER"] = server.server
    # PortAudio lists devices once, at initialisation: re-scan now that the server exists.
    sd._terminate()
    sd._initialize()
    try:
        yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sd._terminate()
        sd._initialize()
        server.stop()
