"""Decompression bombs (issue 14, item 5): a 32 KB zstd chunk that expands to 1 GiB must be
refused before it is decompressed, and no chunk may ever be decompressed past its cap.

Peak memory is the high-water RSS of a child process that runs the real `edgebind replay`
(ru_maxrss), compared with its own high-water mark after imports: no timing, and nothing else
on the machine can raise a child's own peak."""
from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from edgebind.record import ReadLimits, Recorder, Sample, StreamInfo, open_recording
from tests.conftest import REPO
from tests.record.helpers import data_end, sixteen_chunks, zstd_bomb_chunk

MiB = 1 << 20
GROWTH_BOUND = 160 * MiB   # the bombs below would need 1 GiB or 200 MiB, twice over

CHILD = """
import resource, sys
from edgebind.cli import main
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rc = main(sys.argv[1:])
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(f"GROWTH_KIB={grown}", file=sys.stderr)
sys.exit(rc)
"""


def replay(*args: str) -> tuple[str, int]:
    """Run ``edgebind replay ARGS`` in a child; (stdout, how far its peak RSS grew, bytes)."""
    r = subprocess.run([sys.executable, "-c", CHILD, "replay", *args], capture_output=True,
                       text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    grown = [ln for ln in r.stderr.splitlines() if ln.startswith("GROWTH_KIB=")]
    return r.stdout, int(grown[-1].split("=")[1]) * 1024


@pytest.fixture(scope="module")
def unclosed(tmp_path_factory):
    """A recording whose writer died (no summary): 16 good chunks, 179 messages; bombs are
    appended as its next chunk, as a hostile or broken writer would."""
    path = tmp_path_factory.mktemp("bomb") / "base.mcap"
    sixteen_chunks(path)
    return path.read_bytes()[:data_end(path)]


BOMBS = {
    # 1 GiB of zeros in 32 KB, declared honestly: over the size cap.
    "1GiB": (dict(payload_size=1 << 30), "ReadLimits.max_chunk_bytes"),
    # The same frame behind a header claiming 1 MiB: a one-shot decompressor trusts the
    # frame's own content size and allocates 1 GiB; bounded decompression stops at 1 MiB + 1.
    "1GiB-declared-1MiB": (dict(payload_size=1 << 30, declared_size=1 << 20),
                           "expands beyond the 1048576 bytes its header declares"),
    # Under the size cap, but 200 MiB out of 7 KB: over the ratio cap.
    "200MiB": (dict(payload_size=200 * MiB), "ReadLimits.max_ratio"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_refused_with_bounded_memory(tmp_path, unclosed, name):
    kw, why = BOMBS[name]
    path = tmp_path / f"{name}.mcap"
    path.write_bytes(unclosed + zstd_bomb_chunk(**kw))
    assert path.stat().st_size < 200_000
    out, grown = replay(str(path), "--summary", "--json")
    assert grown < GROWTH_BOUND, f"peak RSS grew {grown / MiB:.0f} MiB"
    s = json.loads(out)
    assert s["message_count"] == 179            # every real message, the bomb's not counted
    [lost] = s["lost"]
    assert (lost["start"], lost["end"], lost["chunks"]) == (len(unclosed), path.stat().st_size,
                                                            1)
    assert why in lost["reason"] and f"chunk at byte {len(unclosed)}" in lost["reason"]
    # Replaying every sample is bounded the same way.
    out, grown = replay(str(path), "--speed", "0", "--json")
    assert grown < GROWTH_BOUND and len(out.splitlines()) == 179


def black_frames(path, shape, n=2, **kw):
    """A real recording of a camera with its lens cap on: the most compressible real data."""
    h, w = shape
    with Recorder(path, **kw) as rec:
        rec.add_stream(StreamInfo("cam0", "vision", 30.0, (h, w, 3), "RGB uint8", "uvc:1"))
        for k in range(n):
            rec.write(Sample("cam0", "vision", 10**9 + k * 33_000_000,
                             np.zeros((h, w, 3), np.uint8)))
    return path


def test_default_caps_pass_real_worst_cases(tmp_path):
    # A black 4K frame is one 33 MB zstd chunk that shrinks ~28,000 times: still accepted.
    path = black_frames(tmp_path / "4k.mcap", (2160, 3840), n=1)
    with open_recording(path) as rec:
        got = list(rec.samples())
        s = rec.summary()
    assert len(got) == 1 and not s.lost and not s.skipped
    assert got[0].data.shape == (2160, 3840, 3) and not got[0].data.any()


@pytest.mark.parametrize("limits, why", [
    (ReadLimits(max_chunk_bytes=MiB), "above the cap of 1048576 (ReadLimits.max_chunk_bytes)"),
    (ReadLimits(ratio_floor_bytes=MiB, max_ratio=100), "ReadLimits.max_ratio"),
])
def test_caps_are_configurable(tmp_path, limits, why):
    path = black_frames(tmp_path / "vga.mcap", (480, 640), compression="zstd")
    with open_recording(path) as rec:               # defaults: both 1.2 MB frames are fine
        assert len(list(rec.samples())) == 2
    with open_recording(path, limits) as rec:
        assert list(rec.samples()) == []
        s = rec.summary()
    assert len(s.lost) == 2 and all(why in x.reason for x in s.lost)
    out, _ = replay(str(path), "--summary", "--json", "--max-chunk-mib", "1")
    assert json.loads(out)["message_count"] == 0
    out, _ = replay(str(path), "--summary", "--json")
    assert json.loads(out)["message_count"] == 2


CHUNK = 64 * 1024


def overlapping(path):
    """Chunks whose time ranges all overlap (each holds an early and a late frame), so
    log-time order needs many of them decompressed at once."""
    rng = np.random.default_rng(0)
    info = StreamInfo("cam0", "vision", 30.0, (64, 64, 3), "RGB uint8", "uvc:1")
    order = [t for k in range(80) for t in (k, 159 - k)]
    with Recorder(path, chunk_size=CHUNK) as rec:
        rec.add_stream(info)
        for t in order:
            rec.write(Sample("cam0", "vision", 10**9 + t * 10**6,
                             rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    return path


def replay_peak(path, limits=None):
    with open_recording(path, limits) as rec:
        tracemalloc.start()
        try:
            ts = [s.t_ns for s in rec.samples()]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return ts, peak, rec.summary()


def test_replay_of_overlapping_chunks_is_bounded(tmp_path):
    path = overlapping(tmp_path / "overlap.mcap")
    budget = 256 * 1024
    ts, unbounded_peak, s = replay_peak(path)
    assert len(ts) == 160 and ts == sorted(ts) and not s.skipped
    assert unbounded_peak > 3 * budget       # the scenario really needs more than the budget
    ts, peak, s = replay_peak(path, ReadLimits(max_buffered_bytes=budget))
    assert ts == sorted(ts) and 0 < len(ts) < 160
    assert any("ReadLimits.max_buffered_bytes" in x for x in s.skipped)
    # The budget, plus one chunk being decompressed and parsed (twice its size at worst).
    assert peak < budget + 4 * CHUNK
