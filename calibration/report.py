"""What a calibration command reports: estimates, pass/fail checks against recommended limits,
plots; printed for people or as JSON. Also the progress iterator and the lazy plotting import."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class Check:
    """One pass/fail line: ``value`` compared with a recommended ``limit`` (``op`` "<=" / ">=")."""

    name: str
    value: float
    limit: float
    op: str = "<="
    unit: str = ""

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def line(self) -> str:
        u = f" {self.unit}" if self.unit else ""
        return (f"  {'PASS' if self.passed else 'FAIL'}  {self.name}: {_fmt(self.value)}{u} "
                f"(recommended {self.op} {_fmt(self.limit)}{u})")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": _jsonable(self.value), "limit": self.limit,
                "op": self.op, "unit": self.unit, "passed": self.passed}


@dataclass
class Result:
    """The outcome of one command: ``estimates`` (JSON-able), ``checks``, ``plots`` written,
    ``notes`` for people, and the profile path that was updated."""

    command: str
    stream: str | None = None
    estimates: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "stream": self.stream, "passed": self.passed,
                "estimates": _jsonable(self.estimates), "checks": [c.to_dict() for c in self.checks],
                "plots": self.plots, "notes": self.notes, "profile": self.profile}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary(self) -> str:
        head = f"calibrate {self.command}" + (f" ({self.stream})" if self.stream else "")
        lines = [f"{head}: {'PASS' if self.passed else 'FAIL'}"]
        for k, v in self.estimates.items():
            if isinstance(v, dict) or (isinstance(v, (list, np.ndarray)) and np.size(v) > 12):
                continue  # large structures are for --json
            lines.append(f"  {k}: {_fmt(v)}")
        lines += [c.line() for c in self.checks]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  plot: {p}" for p in self.plots]
        if self.profile:
            lines.append(f"  profile updated: {self.profile}")
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        x = float(v)
        return f"{x:.4g}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)) + "]"
    return str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        x = float(v)
        return x if math.isfinite(x) else None
    return v


def progress(it: Iterable[T], total: int | None, label: str, enabled: bool = True) -> Iterator[T]:
    """A tqdm bar where ``edgebind.progress`` draws bars (a terminal, or EDGEBIND_PROGRESS=1);
    silent otherwise, so logs and --json stay clean."""
    from edgebind.progress import tqdm_bar
    bar = tqdm_bar(enabled, total=total, desc=label, leave=False)
    if bar is None:
        yield from it
        return
    with bar:
        for x in it:
            yield x
            bar.update(1)


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), imported only when plotting."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_path(plot_dir: Path | None, name: str) -> Path | None:
    if plot_dir is None:
        return None
    plot_dir.mkdir(parents=True, exist_ok=True)
    return plot_dir / name


def save_figure(fig, out: Path) -> str:
    """Lay out, write (PNG, 100 dpi) and close a figure; the path for ``Result.plots``."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return str(out)
