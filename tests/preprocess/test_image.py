"""Image preprocessing: bit-exact parity and input handling."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from edgebind.preprocess import ImageParams, image, images
from edgebind.preprocess._geometry import resized_size
from edgebind.preprocess._validate import half_even_offset


def test_fixture_parity_exact(preproc_dir):
    meta = json.loads((preproc_dir / "meta.json").read_text())["vision"]
    ref = np.load(preproc_dir / "vision_preprocessed.npy")
    out = images([preproc_dir / f for f in meta["files"]])
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert np.abs(out - ref).max() == 0.0


def test_array_and_pil_inputs_agree(preproc_dir):
    path = preproc_dir / "images" / "rgba_256x256.png"
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"))
        from_pil = image(im)
    np.testing.assert_array_equal(image(rgba), from_pil)
    np.testing.assert_array_equal(image(rgba[:, :, :3]), image(path))


def test_geometry_rules():
    assert resized_size(320, 240, 224) == (298, 224)
    assert resized_size(225, 301, 224) == (224, 299)
    assert half_even_offset(299, 224) == 38      # banker's rounding: round(37.5) == 38
    assert half_even_offset(297, 224) == 36      # round(36.5) == 36


def test_grayscale_array_replicates_channels():
    g = (np.arange(300 * 200) % 256).astype(np.uint8).reshape(200, 300)
    out = image(g)
    rgb = image(np.repeat(g[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(out, rgb)
    assert out.shape == (3, 224, 224)


def test_params_size_and_roundtrip():
    p = ImageParams(size=112)
    assert image(np.zeros((50, 60, 3), np.uint8), p).shape == (3, 112, 112)
    assert ImageParams.from_dict(p.to_dict()) == p


@pytest.mark.parametrize("bad,exc,msg", [
    (np.zeros((10, 10, 3), np.float32), TypeError, "uint8"),
    (np.zeros((10, 10, 2), np.uint8), ValueError, "H×W×3"),
    (np.zeros((0, 10, 3), np.uint8), ValueError, "non-empty"),
    (np.zeros((2, 10, 10, 3), np.uint8), ValueError, "H×W×3"),
    (None, TypeError, "numpy array"),
])
def test_bad_input(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        image(bad)


def test_images_needs_a_sequence():
    with pytest.raises(TypeError, match="sequence"):
        images(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="at least one"):
        images([])
