"""Pure rendering: generator outputs -> uint8 images, grids and PNG bytes.

(generator, inputs) in, pixels out; no UI, no global state. The explorer's renderer builds on these.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
import torch
from PIL import Image

from explorer import fileio


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) float in [-1, 1] -> (B, H, W, C) uint8, clipping out-of-range values."""
    x = (x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def make_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2, fill: int = 0) -> np.ndarray:
    """(B, H, W, C) uint8 -> one (H', W', C) uint8 image, `nrow` images per row."""
    b, h, w, c = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(b))))
    rows = int(math.ceil(b / nrow))
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), fill, dtype=np.uint8)
    for i in range(b):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def label_columns(grid: np.ndarray, labels: list[str], pad: int, height: int | None = None) -> np.ndarray:
    """A one-row grid (from `make_grid(..., nrow=len(labels), pad=pad)`) with a white band under it
    holding one label centred under each tile; the band is a third of a tile high unless `height` says."""
    from PIL import ImageDraw, ImageFont
    step = (grid.shape[1] - pad) / max(len(labels), 1)            # tile width + pad
    height = height or max(16, int(step / 3))
    band = Image.new("L", (grid.shape[1], height), 255)
    draw, font = ImageDraw.Draw(band), ImageFont.load_default(size=max(8, height - 5))
    for i, text in enumerate(labels):
        x = pad + i * step + (step - pad - draw.textlength(text, font=font)) / 2
        draw.text((x, 1), text, fill=0, font=font)
    rows = np.asarray(band)[..., None].repeat(grid.shape[-1], axis=-1)
    return np.concatenate([grid, rows], axis=0)


def to_pil(image: np.ndarray) -> Image.Image:
    """(H, W, 1 or 3) uint8 -> PIL image (L or RGB)."""
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """PNG-encode an (H, W, C) uint8 image, optionally upscaled with nearest neighbour."""
    im = to_pil(image)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> None:
    """Atomically write an (H, W, C) uint8 image as PNG."""
    fileio.atomic_write_bytes(path, png_bytes(image, scale))


@torch.inference_mode()
def sample_grid(G: torch.nn.Module, n: int = 64, seed: int = 0, psi: float = 1.0,
                classes: torch.Tensor | None = None, nrow: int | None = None,
                device: torch.device | str = "cpu") -> np.ndarray:
    """A grid of n samples from seeds; conditional models cycle through the classes (one class per column)."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    nc = G.cfg.num_classes
    if nc and classes is None:
        classes = torch.arange(n) % nc
        nrow = nrow or nc
    c = classes.to(device) if nc else None
    return make_grid(to_uint8(G(z, c, psi=psi)), nrow=nrow)
