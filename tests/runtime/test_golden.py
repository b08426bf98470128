"""Golden-set files: round trip, compact encoding, agreement, and hostile files."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgebind.runtime.golden import (GoldenSet, GoldenSetError, choose, decode_inputs,
                                     encode_inputs, quantised_copy)


def _set(seed=0, n=4, shape=(3, 32, 32)):
    rng = np.random.default_rng(seed)
    x = quantised_copy(rng.normal(size=(n, *shape)).astype(np.float32))
    ref = rng.normal(size=(n, 16)).astype(np.float32)
    return GoldenSet(x, ref, ref.mean(0))


def test_round_trip_keeps_inputs_exactly(tmp_path):
    g = _set()
    path = g.save(tmp_path / "v.golden.npz")
    back = GoldenSet.load(path)
    assert back.inputs.dtype == np.float32
    assert np.array_equal(back.inputs, g.inputs)       # decoded identically, bit for bit
    assert np.array_equal(back.reference, g.reference) and np.array_equal(back.centre, g.centre)


def test_inputs_cost_a_byte_per_value(tmp_path):
    g = _set(n=4, shape=(3, 224, 224))
    size = g.save(tmp_path / "v.golden.npz").stat().st_size
    assert size < 4 * 3 * 224 * 224 * 1.05   # uint8 codes, not float32


def test_token_ids_round_trip(tmp_path):
    ids = np.zeros((3, 77), np.int64)
    ids[:, 0], ids[:, 1:4], ids[:, 4] = 49406, [[320, 1929, 3326]], 49407
    ref = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    back = GoldenSet.load(GoldenSet(ids, ref, ref.mean(0)).save(tmp_path / "t.npz"), "int64")
    assert back.inputs.dtype == np.int64 and np.array_equal(back.inputs, ids)


def test_codes_reproduce_the_input_within_one_step():
    x = np.random.default_rng(2).normal(size=(2, 6, 500)).astype(np.float32) * [[[1], [1], [1], [50], [50], [50]]]
    q, lo, step = encode_inputs(x)
    y = decode_inputs(q, lo, step)
    assert np.all(np.abs(y - x) <= step[..., None] * 0.5001 + 1e-6)   # per (sample, channel)


def test_agreement_is_centred_cosine():
    g = _set()
    same = g.agreement(g.reference)
    assert same["min"] == pytest.approx(1.0) and same["mean"] == pytest.approx(1.0)
    # A constant offset along the mean direction keeps raw cosine high, centred cosine not.
    other = g.reference[::-1].copy()
    assert g.agreement(other)["min"] < 0.9
    nan = g.reference.copy()
    nan[0, 0] = np.nan
    bad = g.agreement(nan)
    assert bad["min"] != bad["min"]          # NaN: fails any threshold


def test_choose_starts_with_the_worst_input_and_spreads():
    ref = np.random.default_rng(3).normal(size=(40, 8))
    worst = np.ones(40)
    worst[17] = 0.5
    idx = choose(ref, worst, 5)
    assert idx[0] == 17 and len(set(idx)) == 5


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong-format", "bomb", "pickle"])
def test_hostile_files_are_refused(tmp_path, damage):
    path = _set().save(tmp_path / "g.npz")
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 300)
    elif damage == "wrong-format":
        buf = io.BytesIO()
        np.savez(buf, format=np.int64(99), reference=np.zeros((1, 2), np.float32),
                 centre=np.zeros(2, np.float32), inputs=np.zeros((1, 3), np.int32))
        path.write_bytes(buf.getvalue())
    elif damage == "bomb":   # a tiny file whose member inflates to 64 MB
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("reference.npy", b"\x00" * (64 << 20))
    else:
        buf = io.BytesIO()
        np.savez(buf, format=np.int64(1), reference=np.array([object()], dtype=object))
        path.write_bytes(buf.getvalue())
    with pytest.raises(GoldenSetError):
        GoldenSet.load(path)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzzed_files_give_a_clear_error_or_a_valid_set(tmp_path_factory, data):
    path = _set(n=2, shape=(2, 8, 8)).save(tmp_path_factory.mktemp("g") / "g.npz")
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    path.write_bytes(bytes(raw[:cut]))
    try:
        g = GoldenSet.load(path)
    except GoldenSetError:
        return
    assert np.isfinite(g.reference).all() and g.inputs.shape[0] == g.reference.shape[0]
