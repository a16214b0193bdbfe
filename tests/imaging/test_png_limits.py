"""Upscaled previews stay within MAX_PNG_PIXELS: the fonts model's 64-sheet grid (3616 x 5048) at the
Models page's 3x was a 164 MP PNG (Pillow's DecompressionBombWarning when Streamlit read it back)."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

from explorer.imaging.render import MAX_PNG_PIXELS, png_bytes


def test_png_bytes_lowers_the_scale_of_huge_images():
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(png_bytes(np.zeros((3616, 5048, 1), np.uint8), scale=3)))
        assert im.size == (5048, 3616)                                    # scale 1: 3x would be 164 MP
        im = Image.open(io.BytesIO(png_bytes(np.zeros((1000, 2000, 3), np.uint8), scale=8)))
        assert im.width * im.height <= MAX_PNG_PIXELS and im.size == (8000, 4000)
    assert Image.open(io.BytesIO(png_bytes(np.zeros((32, 32, 1), np.uint8), scale=4))).size == (128, 128)
