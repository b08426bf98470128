"""A real mosquitto broker on a free port, started and stopped by the tests."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float = 10.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Broker:
    """mosquitto with persistence (so sessions survive a restart), bound to 127.0.0.1:port;
    with ``users`` ({name: password}) it refuses anonymous clients and wrong passwords."""

    def __init__(self, workdir: Path, port: int, tls: dict[str, Path] | None = None,
                 users: dict[str, str] | None = None):
        self.port = port
        self.dir = workdir
        self.conf = workdir / "mosquitto.conf"
        tls_lines = "".join(f"{k} {v}\n" for k, v in (tls or {}).items())
        auth = "allow_anonymous true\n"
        if users:
            pw = workdir / "passwords"
            pw.write_text("")
            for name, secret in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), name, secret], check=True,
                               capture_output=True, timeout=60)
            auth = f"allow_anonymous false\npassword_file {pw}\n"
        self.conf.write_text(f"listener {port} 127.0.0.1\n{tls_lines}{auth}persistence true\n"
                             f"persistence_location {workdir}/\nlog_dest file {workdir}/broker.log\n"
                             # as root, mosquitto would switch to its own user and could not
                             # write the persistence file in our temporary folder
                             + ("user root\n" if os.geteuid() == 0 else ""))
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Broker":
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up() -> bool:
            if self.proc.poll() is not None:
                log = (self.dir / "broker.log").read_text() if (self.dir / "broker.log").exists() else ""
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {log[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "mosquitto to listen")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None



def _missing(reason: str) -> None:
    # Skip on a user's machine; CI installs the broker and sets EDGEBIND_REQUIRE_DEVICES=1.
    if os.environ.get("EDGEBIND_REQUIRE_DEVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)

@pytest.fixture
def broker_factory(tmp_path):
    if shutil.which("mosquitto") is None:
        _missing("mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)")
    pytest.importorskip("paho.mqtt")
    made: list[Broker] = []

    def make(port: int | None = None, start: bool = True, tls: dict[str, Path] | None = None,
             users: dict[str, str] | None = None) -> Broker:
        d = tmp_path / f"broker{len(made)}"
        d.mkdir()
        b = Broker(d, port or free_port(), tls, users)
        made.append(b)
        return b.start() if start else b

    yield make
    for b in made:
        b.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        _missing("the openssl command is not installed")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=edgebind-test-ca", "-days", "2")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return {"cafile": d / "ca.crt", "certfile": d / "server.crt", "keyfile": d / "server.key"}
