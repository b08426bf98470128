"""The demo's timeline: per-event score curves over the ground truth and the detections, as a PNG
and as one self-contained HTML page with the log."""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Sequence


# Detections: a bar in the top band of each panel, in axes coordinates so that it stays whole
# inside the panel whatever the scores' range (a line at the top y limit was half clipped).
DETECTION_BAND = (0.86, 0.1)   # bottom, height as fractions of the panel's height


def write_png(path: Path, names: Sequence[str], times_s: Sequence[float],
              scores: dict[str, list[float]], levels: dict[str, float],
              truth: Sequence[tuple[str, float, float]], detected: Sequence[tuple[str, float, float]],
              title: str) -> Path:
    import matplotlib.pyplot as plt
    fig = timeline_figure(names, times_s, scores, levels, truth, detected, title)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def timeline_figure(names: Sequence[str], times_s: Sequence[float],
                    scores: dict[str, list[float]], levels: dict[str, float],
                    truth: Sequence[tuple[str, float, float]],
                    detected: Sequence[tuple[str, float, float]], title: str):
    """The timeline as a matplotlib figure: one panel per event name; detections are the
    artists with gid ``"detected"``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(names))
    fig, axes = plt.subplots(n, 1, figsize=(12, 1.25 * n + 1.0), sharex=True, squeeze=False)
    end = max([*times_s, *(b for _, _, b in truth), 1.0])
    for ax, name in zip(axes[:, 0], names):
        for tname, a, b in truth:
            if tname == name:
                ax.axvspan(a, b, color="tab:green", alpha=0.25, lw=0)
        ys = scores.get(name, [])
        ax.plot(times_s[:len(ys)], ys, color="tab:blue", lw=1.2)
        if name in levels:
            ax.axhline(levels[name], color="tab:red", ls="--", lw=0.8)
        spans = [(a, max(b - a, 0.1)) for dname, a, b in detected if dname == name]
        if spans:
            ax.broken_barh(spans, DETECTION_BAND, transform=ax.get_xaxis_transform(),
                           color="tab:orange", gid="detected")
        ax.set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, end)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"{title}\nblue: score, red dashed: on-level, green: ground truth, "
                 "orange: detected", fontsize=9)
    fig.tight_layout()
    return fig


def write_html(path: Path, png: Path | None, title: str, summary: dict[str, Any],
               rows: Sequence[tuple[float, str, str, str]]) -> Path:
    """A single self-contained page: the timeline (embedded PNG), the scores and the log."""
    img = ""
    if png is not None and png.exists():
        b64 = base64.b64encode(png.read_bytes()).decode()
        img = f'<img alt="timeline" style="max-width:100%" src="data:image/png;base64,{b64}">'
    trs = "\n".join(f"<tr><td>{t:7.2f}</td><td>{html.escape(k)}</td><td>{html.escape(w)}</td>"
                    f"<td>{html.escape(x)}</td></tr>" for t, k, w, x in rows)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>precision <b>{summary['precision']:.3f}</b>, recall <b>{summary['recall']:.3f}</b>
({summary['true_positives']} of {summary['detections']} detections matched,
{summary['occurrences']} occurrences; tolerance {summary['tolerance_s']} s)</p>
{img}
<h2>Log</h2><table><tr><th>time (s)</th><th>kind</th><th>what</th><th>details</th></tr>
{trs}
</table></body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
