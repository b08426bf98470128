"""A strict-enough reader of the Prometheus text format (0.0.4) for tests."""
from __future__ import annotations

import re

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """-> ({metric: type}, [(sample name, labels, value)]); raises AssertionError on bad lines."""
    types: dict[str, str] = {}
    samples = []
    finished: set[str] = set()      # families already left: each must be one group
    current = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"TYPE declared twice: {line}"
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or base in types, f"sample before its TYPE: {line}"
        fam = name if name in types else base
        if fam != current:
            assert fam not in finished, f"metric family {fam} is split into several groups"
            if current is not None:
                finished.add(current)
            current = fam
        samples.append((name, dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))
    return types, samples


def check_histograms(types, samples) -> None:
    """Buckets cumulative and ending at +Inf == _count, for every histogram series."""
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series: dict[tuple, list[tuple[float, float]]] = {}
        counts = {}
        for n, labels, v in samples:
            key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            if n == name + "_bucket":
                series.setdefault(key, []).append((float(labels["le"]), v))
            elif n == name + "_count":
                counts[key] = v
        for key, buckets in series.items():
            les = [b[0] for b in buckets]
            vals = [b[1] for b in buckets]
            assert les == sorted(les) and les[-1] == float("inf"), key
            assert vals == sorted(vals), f"buckets not cumulative: {key}"
            assert vals[-1] == counts[key], key
