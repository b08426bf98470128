"""One error root: every exception class EdgeBind defines derives from ``EdgeBindError``, so one
``except EdgeBindError`` (and the CLI's one-line report) covers them; the firmware bridge, which
stands alone without the rest of the SDK, has its own root ``BridgeError``."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from edgebind.errors import EdgeBindError
from edgebind.firmware_bridge import BridgeError

ROOTS = ("edgebind", "edgebind.export", "edgebind.calibration", "edgebind.firmware_bridge")
# Signals, not errors: a source raising EndOfStream says it has nothing more to give; Cut marks
# where a damaged bag's readable prefix ends (caught inside the reader).
NOT_ERRORS = {"edgebind.sensors.base.EndOfStream", "edgebind.record.ros.salvage.Cut"}


def defined_exceptions() -> dict[str, type]:
    names = set(ROOTS)
    for root in ROOTS:
        names.update(m.name for m in pkgutil.walk_packages(
            importlib.import_module(root).__path__, root + "."))
    found = {}
    for name in sorted(names):
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) \
                    and not issubclass(obj, Warning) and obj.__module__ == name:
                found[f"{name}.{attr}"] = obj
    return found


def test_every_error_class_has_the_root():
    found = defined_exceptions()
    assert len(found) >= 20, sorted(found)
    orphans = [n for n, cls in found.items() if n not in NOT_ERRORS and not issubclass(cls, BridgeError if ".firmware_bridge." in n else EdgeBindError)]
    assert not orphans, orphans


def test_errors_keep_their_builtin_base():
    # ``except ValueError`` written before the root existed keeps working.
    from edgebind.firmware_bridge import MalformedPayload
    from edgebind.record.reader import RecordingError
    assert issubclass(RecordingError, ValueError) and issubclass(MalformedPayload, ValueError)
