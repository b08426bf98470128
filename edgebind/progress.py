"""Progress display for long work: tqdm bars where installed and stderr is a terminal (or
``EDGEBIND_PROGRESS=1`` forces them), plain stderr lines or nothing otherwise, so the logs of
unattended runs (systemd, CI, ``2> file``) never fill with redrawn bars. ``EDGEBIND_PROGRESS=0``
turns the bars off on a terminal too."""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator


def bars_wanted(enabled: bool = True) -> bool:
    """Whether to draw a progress bar on stderr: asked for, and stderr a terminal unless
    ``EDGEBIND_PROGRESS`` says 1 (draw anyway) or 0 (never)."""
    forced = os.environ.get("EDGEBIND_PROGRESS", "").strip()
    if not enabled or forced == "0":
        return False
    return forced == "1" or sys.stderr.isatty()


def tqdm_bar(enabled: bool = True, **kwargs):
    """A tqdm bar on stderr when :func:`bars_wanted` and tqdm is installed, else None."""
    if not bars_wanted(enabled):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(file=sys.stderr, **kwargs)


class Steps:
    """A named sequence of steps: ``with steps.step("export vision fp32"): ...``."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.enabled = total, label, enabled
        self.done = 0
        self._bar = tqdm_bar(enabled, total=total, desc=label, unit="step")

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
    """Counts the items of long work (clips rendered, settings tried) on a tqdm bar where
    :func:`bars_wanted`; silent otherwise. A context manager; ``update()`` after each item."""

    def __init__(self, total: int, label: str, unit: str, enabled: bool = True):
        self._bar = tqdm_bar(enabled, total=total, desc=label, unit=unit)

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
