"""The live pipeline's two threads: ``worker`` (batches queued windows through the stages) and
``windows`` (polls the assembler into the queue). Each runs guarded: a death is recorded with
its cause, for health to report, rather than only logged."""
from __future__ import annotations

import threading
from typing import Callable

from edgebind.pipeline.metrics import log

NAMES = {"worker": "edgebind-infer", "windows": "edgebind-windows"}   # health name: thread name


class PipelineThreads:
    def __init__(self) -> None:
        self.deaths: dict[str, str] = {}
        self.stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}

    def start(self, loops: dict[str, Callable[[], None]]) -> None:
        """Start one thread per entry of ``NAMES`` running ``loops[name]``."""
        self.stopping.clear()
        self._threads = {n: threading.Thread(target=self._guard, args=(n, loops[n]), name=t,
                                             daemon=True) for n, t in NAMES.items()}
        for t in self._threads.values():
            t.start()

    def _guard(self, name: str, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException as exc:
            self.deaths[name] = f"{type(exc).__name__}: {exc}"
            log.critical("the %s thread died: %s", name, self.deaths[name])

    def join(self, name: str, timeout_s: float) -> None:
        self._threads[name].join(timeout_s)

    def alive(self) -> dict[str, bool]:
        """``{"worker": bool, "windows": bool}``; both False before the first start."""
        return {n: n in self._threads and self._threads[n].is_alive() for n in NAMES}
