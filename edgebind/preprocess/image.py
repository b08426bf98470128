"""RGB images -> (3, S, S) float32, exactly as the reference (PIL bicubic, banker's-rounded crop)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PIL import Image

from edgebind.preprocess._geometry import resize_center_crop
from edgebind.preprocess._params import Params, check_positive, check_triple
from edgebind.preprocess._validate import as_array, describe, require_nonempty

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageParams(Params):
    """Vision preprocessing; the defaults are the reference's (CLIP mean/std, 224)."""

    size: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    def __post_init__(self) -> None:
        check_positive("ImageParams", "size", self.size, integer=True)
        check_triple("ImageParams", "mean", self.mean)
        check_triple("ImageParams", "std", self.std, positive=True)



def to_pil_rgb(img: Any) -> Image.Image:
    """A path, PIL image, or uint8 array (H×W, H×W×3, H×W×4) as a PIL 'RGB' image.

    Arrays follow ``convert('RGB')``: grayscale is replicated, alpha is dropped (not composited).
    """
    if isinstance(img, (str, os.PathLike)):
        with Image.open(img) as im:
            return im.convert("RGB")
    if isinstance(img, Image.Image):
        return img if img.mode == "RGB" else img.convert("RGB")
    arr = as_array(img, "image")
    if arr.dtype != np.uint8:
        raise TypeError(f"image: expected a uint8 array (H×W, H×W×3 or H×W×4), got dtype {arr.dtype}")
    require_nonempty(arr, "image")
    if arr.ndim == 2:
        return Image.fromarray(arr).convert("RGB")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(arr[:, :, :3]))
    raise ValueError(f"image: expected shape H×W, H×W×3 or H×W×4, got {describe(arr)}")


def image(img: Any, params: ImageParams | None = None) -> np.ndarray:
    """One image -> (3, size, size) float32 CLIP-normalised, bit-identical to the reference.

    ``img``: a file path, a PIL image (any mode; converted like ``convert('RGB')``), or a uint8
    array H×W (grayscale), H×W×3 (RGB) or H×W×4 (RGBA, alpha dropped).
    """
    p = params or ImageParams()
    pil = resize_center_crop(to_pil_rgb(img), p.size)
    # Same float32 operation order as ToTensor + Normalize: x/255, then (x - mean) / std.
    x = np.asarray(pil, dtype=np.uint8).astype(np.float32) / np.float32(255.0)
    x = x.transpose(2, 0, 1)
    mean = np.asarray(p.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(p.std, dtype=np.float32)[:, None, None]
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def images(imgs: Sequence[Any], params: ImageParams | None = None) -> np.ndarray:
    """A list of images -> (N, 3, size, size) float32."""
    if isinstance(imgs, (str, os.PathLike, Image.Image, np.ndarray)):
        raise TypeError(f"images: expected a sequence of images, got one {describe(imgs)}; use image()")
    if len(imgs) == 0:
        raise ValueError("images: expected at least one image, got an empty sequence")
    return np.stack([image(i, params) for i in imgs])
