"""Depth and thermal: known answers on synthetic frames, params round-trip, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgebind.preprocess import DepthParams, ThermalParams, depth, thermal
from edgebind.preprocess.depth import disparity


def test_constant_depth_gives_constant_disparity():
    p = DepthParams(mean=0.0, std=1.0)
    out = depth(np.full((480, 640), 2.0, np.float32), p)
    assert out.shape == (1, 224, 224) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.075 * 518.86 / 2.0, rtol=1e-5)
    d = DepthParams()
    np.testing.assert_allclose(depth(np.full((100, 100), 2.0)), (0.075 * 518.86 / 2 - d.mean) / d.std,
                               rtol=1e-5)


def test_uint16_millimetres_and_clipping():
    p = DepthParams(mean=0.0, std=1.0)
    mm = np.full((240, 320), 1500, np.uint16)
    np.testing.assert_allclose(depth(mm, p), depth(np.full((240, 320), 1.5), p), rtol=1e-6)
    np.testing.assert_allclose(depth(np.full((50, 50), 1e-4), p), 0.075 * 518.86 / 0.01, rtol=1e-5)
    np.testing.assert_allclose(depth(np.full((50, 50), 1e3), p), 0.075 * 518.86 / 50, rtol=1e-5)


def test_invalid_pixels_policy():
    m = np.full((10, 10), 2.0)
    m[0, :5] = [0.0, np.nan, np.inf, -1.0, -np.inf]
    disp, frac = disparity(m)
    assert frac == pytest.approx(0.05)
    np.testing.assert_allclose(disp[0, :5], 0.075 * 518.86 / 50.0)
    disp0, _ = disparity(m, DepthParams(invalid="zero_disparity"))
    assert (disp0[0, :5] == 0).all()
    with pytest.raises(ValueError, match="invalid"):
        depth(np.zeros((20, 20)))
    assert depth(np.zeros((20, 20)), DepthParams(max_invalid_fraction=1.0)).shape == (1, 224, 224)


def test_depth_geometry_matches_image_rules():
    # A left/right step: the crop of a 640x480 frame keeps the centre 224 columns of 298.
    m = np.ones((480, 640))
    m[:, 320:] = 4.0
    out = depth(m, DepthParams(mean=0.0, std=1.0))[0]
    assert out[:, 0] == pytest.approx(38.9145, rel=1e-4) and out[:, -1] == pytest.approx(9.7286, rel=1e-4)


@pytest.mark.parametrize("bad,exc,msg", [
    (np.ones((10, 10, 3)), ValueError, "H×W"),
    (np.ones((0, 10)), ValueError, "non-empty"),
    (np.ones((10, 10), np.int32), TypeError, "uint16"),
    ("depth.png", TypeError, "numpy array"),
])
def test_depth_bad_input(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        depth(bad)


def test_thermal_fixed_mapping():
    out = thermal(np.full((120, 160), 288.15, np.float32))
    assert out.shape == (1, 224, 224) and out.dtype == np.float32
    np.testing.assert_allclose(out, (288.15 - 253.15) / 70.0, rtol=1e-5)
    assert thermal(np.full((30, 30), 400.0)).max() == 1.0
    assert thermal(np.full((30, 30), 200.0)).min() == 0.0
    p = ThermalParams(mean=0.5, std=0.25)
    np.testing.assert_allclose(thermal(np.full((30, 30), 288.15), p), ((35 / 70) - 0.5) / 0.25, atol=1e-5)


def test_thermal_per_frame_stretch():
    k = np.linspace(290.0, 310.0, 300 * 300).reshape(300, 300)
    out = thermal(k, ThermalParams(mode="per_frame", low_percentile=0, high_percentile=100))[0]
    assert out.min() >= 0 and out.max() <= 1 and out.max() - out.min() > 0.6
    flat = thermal(np.full((50, 50), 300.0), ThermalParams(mode="per_frame"))
    np.testing.assert_allclose(flat, 0.5, atol=1e-6)  # min_span_k keeps a uniform scene mid-grey


@pytest.mark.parametrize("bad,exc,msg", [
    (np.full((10, 10), np.nan), ValueError, "finite"),
    (np.full((10, 10), -5.0), ValueError, "kelvin"),
    (np.full((10, 10), 300, np.uint16), TypeError, "kelvin"),
    (np.ones((3, 10, 10)), ValueError, "H×W"),
])
def test_thermal_bad_input(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        thermal(bad)


@pytest.mark.parametrize("cls,bad", [
    (DepthParams, {"baseline_m": 0}), (DepthParams, {"invalid": "nearest"}),
    (DepthParams, {"max_depth_m": 0.001}), (DepthParams, {"max_invalid_fraction": 2}),
    (ThermalParams, {"mode": "auto"}), (ThermalParams, {"t_min_k": 300, "t_max_k": 290}),
    (ThermalParams, {"low_percentile": 50, "high_percentile": 10}),
])
def test_params_validation(cls, bad):
    with pytest.raises((ValueError, TypeError), match=next(iter(bad)).split("_")[0]):
        cls(**bad)


@pytest.mark.parametrize("cls", [DepthParams, ThermalParams])
def test_params_json_roundtrip(cls):
    p = cls()
    assert cls.from_dict(json.loads(json.dumps(p.to_dict()))) == p
