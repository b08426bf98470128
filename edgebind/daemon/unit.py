"""The shipped systemd unit, fitted to the systemd that will run it.

``Type=notify-reload`` (what ``edgebind.service`` ships: ``systemctl reload`` returns once the
new config runs) needs systemd >= 253; older ones (Debian 12: 252, Ubuntu 22.04 and Jetson
Linux: 249) do not know it and would run the service as ``Type=simple`` with no reload at all.
:func:`unit_text` gives the older form there (``Type=notify`` + an asynchronous
``ExecReload``), so one command installs the right unit on any device::

    python -c "from edgebind.daemon.unit import unit_text; print(unit_text())" \\
        | sudo tee /etc/systemd/system/edgebind.service
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

UNIT_FILE = Path(__file__).with_name("edgebind.service")
NOTIFY_RELOAD = "Type=notify-reload\n"
OLDER_FORM = "Type=notify\nExecReload=/bin/kill -HUP $MAINPID\n"
FIRST_NOTIFY_RELOAD = 253
SHIPPED_START = "/opt/edgebind/.venv/bin/edgebind run"


def systemd_version() -> int | None:
    """This machine's systemd version (``systemctl --version``), None where there is none."""
    tool = shutil.which("systemctl")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"systemd (\d+)", out)
    return int(m.group(1)) if m else None


def unit_text(version: int | None = None, edgebind: str | None = None) -> str:
    """``edgebind.service`` for systemd ``version`` (default: this machine's; unknown: as
    shipped), with ExecStart running ``edgebind`` (a path; default: as shipped,
    /opt/edgebind/.venv/bin/edgebind)."""
    unit = UNIT_FILE.read_text()
    if version is None:
        version = systemd_version()
    if version is not None and version < FIRST_NOTIFY_RELOAD:
        if NOTIFY_RELOAD not in unit:
            raise RuntimeError(f"{UNIT_FILE} has no '{NOTIFY_RELOAD.strip()}' line to replace")
        unit = unit.replace(NOTIFY_RELOAD, OLDER_FORM, 1)
    if edgebind is not None:
        unit = unit.replace(SHIPPED_START, f"{edgebind} run")
    return unit
