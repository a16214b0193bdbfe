"""Tiny glyph stacks for tests: faces of A-Z a-z 0-9 drawn with Pillow's built-in font (no font files).

    stacks = render_stacks(n=6, res=32)      # (6, 62, 32, 32) uint8, ink = 255; face k differs in size and offset
    ds = glyph_dataset(n=8)                  # an ImageDataset of them, with family-style sampling weights
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorer.data.datasets import ImageDataset

GLYPHS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def render_stacks(n: int = 6, res: int = 32, glyphs: str = GLYPHS) -> torch.Tensor:
    """(n, len(glyphs), res, res) uint8 glyph stacks; face k is drawn at its own size, weight and offset,
    on one baseline per face (so it behaves like a font: size and position carry meaning)."""
    out = np.zeros((n, len(glyphs), res, res), dtype=np.uint8)
    for k in range(n):
        size = int(res * (0.5 + 0.25 * (k % 3) / 2))
        font = ImageFont.load_default(size=size)
        stroke = k % 2
        base = int(res * 0.75) + (k % 4) - 2
        for i, ch in enumerate(glyphs):
            im = Image.new("L", (res, res))
            ImageDraw.Draw(im).text((res / 2, base), ch, fill=255, font=font, anchor="ms", stroke_width=stroke,
                                    stroke_fill=255)
            out[k, i] = np.asarray(im)
    return torch.from_numpy(out)


def glyph_dataset(n: int = 8, res: int = 32) -> ImageDataset:
    """`render_stacks` as an ImageDataset (description names the glyphs; weights 1 / family size, two
    faces a family)."""
    x = render_stacks(n, res)
    return ImageDataset(x, None, [], {"source": "glyph-test", "count": n, "glyphs": GLYPHS},
                        weights=torch.full((n,), 0.5))
