"""The metrics log of a run: JSON lines (appended as training goes), a CSV copy and a PNG of the
curves (matplotlib, Agg backend: no display needed). Torch-free."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Mapping

JSONL, CSV, PNG = "metrics.jsonl", "metrics.csv", "curves.png"


class MetricsLog:
    """``log(step, {...})`` appends a row; ``truncate(step)`` drops rows after a resumed step."""

    def __init__(self, folder: str | Path, enabled: bool = True) -> None:
        self.folder = Path(folder)
        self.enabled = enabled
        self.path = self.folder / JSONL

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by a crash ends the log
        return out

    def truncate(self, step: int) -> None:
        """Keep rows with ``step <= step`` (a resumed run rewrites what came after)."""
        if self.enabled and self.path.is_file():
            keep = [r for r in self.rows() if r.get("step", 0) <= step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in keep))

    def log(self, step: int, values: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        row = {"step": int(step), **{k: _plain(v) for k, v in values.items()}}
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def finish(self) -> None:
        """Write the CSV and the PNG from the JSON lines."""
        if not self.enabled:
            return
        rows = self.rows()
        if not rows:
            return
        write_csv(rows, self.folder / CSV)
        plot_curves(rows, self.folder / PNG)


def _plain(v: Any) -> Any:
    if isinstance(v, (int, str, bool)) or v is None:
        return v
    v = float(v)
    return v if math.isfinite(v) else None


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def plot_curves(rows: list[dict[str, Any]], path: Path, title: str | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in rows[0] if k not in ("step", "time_s", "samples_per_s")
            and isinstance(rows[0][k], (int, float))]
    for r in rows[1:]:
        keys += [k for k in r if k not in keys and k not in ("step", "time_s", "samples_per_s")
                 and isinstance(r[k], (int, float))]
    n = max(1, len(keys))
    fig, axes = plt.subplots(n, 1, figsize=(6, 1.8 * n + 0.6), sharex=True, squeeze=False)
    for ax, k in zip(axes[:, 0], keys):
        pts = [(r["step"], r[k]) for r in rows if isinstance(r.get(k), (int, float))]
        if pts:
            ax.plot(*zip(*pts), lw=1.2)
        ax.set_ylabel(k, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
