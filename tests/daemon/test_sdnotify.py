"""sd_notify spoken to a real unix datagram socket, as systemd listens."""
from __future__ import annotations

import os
import socket
import time

import pytest

from edgebind.daemon.sdnotify import Notifier


@pytest.fixture
def listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(2.0)
    yield path, s
    s.close()


def recv(s) -> dict[str, str]:
    data = s.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_messages_arrive_on_the_socket(listener):
    path, s = listener
    n = Notifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
    assert n.enabled and n.watchdog_interval_s() == 2.0
    assert n.ready(status="starting up")
    assert recv(s) == {"READY": "1", "STATUS": "starting up"}
    n.watchdog()
    assert recv(s) == {"WATCHDOG": "1"}
    n.status("3 streams\nok")
    assert recv(s) == {"STATUS": "3 streams ok"}
    n.reloading()
    msg = recv(s)
    assert msg["RELOADING"] == "1" and int(msg["MONOTONIC_USEC"]) > 0
    n.stopping()
    assert recv(s) == {"STOPPING": "1"}
    assert n.sent == 5 and n.errors == 0
    n.close()


def test_abstract_socket_address():
    name = f"edgebind-test-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(2.0)
    try:
        Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert recv(s) == {"READY": "1"}
    finally:
        s.close()


def test_no_socket_is_a_no_op_and_a_dead_manager_is_counted(tmp_path):
    n = Notifier.from_env({})
    assert not n.enabled and n.watchdog_interval_s() is None
    assert n.ready() is False
    dead = Notifier(str(tmp_path / "nobody-listens.sock"))
    assert dead.watchdog() is False and dead.errors == 1


def test_watchdog_for_another_pid_is_not_ours():
    n = Notifier.from_env({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000",
                           "WATCHDOG_PID": str(os.getpid() + 1)})
    assert n.watchdog_interval_s() is None
    n = Notifier.from_env({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000",
                           "WATCHDOG_PID": str(os.getpid())})
    assert n.watchdog_interval_s() == 0.5


def raw(s) -> list[str]:
    return s.recv(4096).decode().split("\n")


@pytest.mark.parametrize("text", ["ok\nREADY=1", "ok\r\nMAINPID=1", "ok\n\nSTOPPING=1\n",
                                  "ok\x00WATCHDOG=1", "ok\u2028ERRNO=5"])
def test_a_status_text_cannot_inject_another_assignment(listener, text):
    """A newline in a value would be read as the next KEY=VALUE (systemd obeys READY=1,
    MAINPID=, STOPPING=1 ... wherever they appear): every value goes out as one line."""
    path, s = listener
    n = Notifier(path)
    n.ready(status=text)
    lines = raw(s)
    assert lines[0] == "READY=1" and len(lines) == 2 and lines[1].startswith("STATUS=ok ")
    n.status(text)
    lines = raw(s)
    assert len(lines) == 1 and lines[0].startswith("STATUS=ok ")
    n.reloading(status=text)
    lines = raw(s)
    assert [x.split("=", 1)[0] for x in lines] == ["RELOADING", "MONOTONIC_USEC", "STATUS"]
    n.notify(status=text, errno=3)
    assert [x.split("=", 1)[0] for x in raw(s)] == ["STATUS", "ERRNO"]
    n.close()


def test_reloading_is_stamped_on_the_monotonic_clock_systemd_reads(listener):
    """Type=notify-reload counts a reload as started by a RELOADING=1 whose MONOTONIC_USEC is
    not older than its reload signal: the stamp is CLOCK_MONOTONIC, in microseconds."""
    path, s = listener
    n = Notifier(path)
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    n.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    msg = recv(s)
    assert msg["RELOADING"] == "1" and before <= int(msg["MONOTONIC_USEC"]) <= after
    n.close()
