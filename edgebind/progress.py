"""Progress display for long work: tqdm where installed and the output is a terminal or forced,
plain stderr lines otherwise (logs of unattended runs stay readable)."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator


class Steps:
    """A named sequence of steps: ``with steps.step("export vision fp32"): ...``."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.enabled = total, label, enabled
        self.done = 0
        self._bar = None
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr)
            except ImportError:
                pass

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        t0 = time.perf_counter()
        if self._bar is not None:
            self._bar.set_postfix_str(what)
        elif self.enabled:
            print(f"[{self.label} {self.done + 1}/{self.total}] {what} ...", file=sys.stderr, flush=True)
        yield
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif self.enabled:
            print(f"[{self.label} {self.done}/{self.total}] {what}: {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Counter:
    """Counts the items of long work (clips rendered, settings tried) on a tqdm bar where tqdm
    is installed; silent otherwise. A context manager; ``update()`` after each item."""

    def __init__(self, total: int, label: str, unit: str, enabled: bool = True):
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr)
            except ImportError:
                pass

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Counter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
