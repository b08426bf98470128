"""Resize-short-side + centre-crop, the spatial step shared by image, depth and thermal."""
from __future__ import annotations

from PIL import Image

from edgebind.preprocess._validate import half_even_offset


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) after scaling the short side to ``size``; long side ``int(size*long/short)``.

    Floor, written exactly as the reference (torchvision) computes it in float arithmetic.
    """
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    """Pillow bicubic (antialiased) resize of the short side to ``size``, then a centre crop.

    Works for 'RGB' and for single-channel float 'F' images (depth, thermal).
    """
    w, h = img.size
    nw, nh = resized_size(w, h, size)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.BICUBIC)
    left, top = half_even_offset(nw, size), half_even_offset(nh, size)
    if (left, top, nw, nh) != (0, 0, size, size):
        img = img.crop((left, top, left + size, top + size))
    return img
