"""Pure rendering: generator outputs -> uint8 images, grids and PNG bytes.

(generator, inputs) in, pixels out; no UI, no global state. The explorer's renderer builds on these.

Glyph stacks (a font face as one channel per glyph, C not 1 or 3, ink = high values) are shown as a
glyph *sheet*: `glyph_sheet` lays the glyphs out in rows of `SHEET_COLUMNS` cells, ink dark on white,
and `to_uint8` does so for every image of a batch, so every feature that displays images shows sheets.

    sheet = glyph_sheet(stack)               # (62, 64, 64) uint8 -> (320, 832, 1): A-M, N-Z, a-m, n-z, 0-9
    stack = stack_from_sheet(sheet, 62)      # and back
"""

from __future__ import annotations

import io
import math
import os
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from explorer import fileio

if TYPE_CHECKING:                   # a type only: imaging never imports gan at run time
    from explorer.gan.protocol import Generator


MAX_PNG_PIXELS = 40_000_000   # png_bytes' output at most (width * height): lowers `scale` to fit (Pillow
                              # warns of a decompression bomb past 89 MP when the page's image is read back)
SHEET_COLUMNS = 13      # A-Z and a-z fill two rows each; the digits one


def is_glyph_stack(channels: int) -> bool:
    """True when images of this many channels are glyph stacks (not greyscale or RGB)."""
    return channels not in (1, 3)


def glyph_sheet(stack: np.ndarray | torch.Tensor, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """One face as a glyph sheet: (G, H, W) uint8 glyph stack, ink = 255 (or float in [-1, 1],
    ink = +1) -> (rows * H, columns * W, 1) uint8, ink dark on white, glyph i in row i // columns,
    column i % columns (62 glyphs A-Z a-z 0-9 at 13 columns: rows A-M, N-Z, a-m, n-z, 0-9; unused
    cells stay white). Raises ValueError on other shapes."""
    if isinstance(stack, torch.Tensor):
        t = stack.detach().cpu()
        if t.dtype != torch.uint8:
            t = ((t.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        stack = t.numpy()
    if stack.ndim != 3 or stack.dtype != np.uint8:
        raise ValueError(f"a glyph stack is (G, H, W) uint8, got {stack.shape} {stack.dtype}")
    g, h, w = stack.shape
    rows = max(1, math.ceil(g / columns))
    cells = np.zeros((rows * columns, h, w), dtype=np.uint8)
    cells[:g] = stack
    sheet = cells.reshape(rows, columns, h, w).transpose(0, 2, 1, 3).reshape(rows * h, columns * w)
    return (255 - sheet)[..., None]


def stack_from_sheet(sheet: np.ndarray, count: int = 62, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """The inverse of `glyph_sheet`: a sheet (rows * R, columns * R[, 1]) uint8, ink
    dark on white -> the glyph stack (count, R, R) uint8, ink = 255. Raises ValueError when the sheet
    cannot hold `count` square cells."""
    a = np.asarray(sheet)
    a = a[..., 0] if a.ndim == 3 else a
    r = a.shape[1] // columns if a.ndim == 2 else 0
    rows = -(-count // columns)
    if r == 0 or a.shape[1] != r * columns or a.shape[0] != rows * r:
        raise ValueError(f"not a glyph sheet of {count} glyphs in {columns} columns: {np.asarray(sheet).shape}")
    cells = (255 - a).reshape(rows, r, columns, r).transpose(0, 2, 1, 3).reshape(rows * columns, r, r)
    return np.ascontiguousarray(cells[:count])


RENDER_BATCH_BYTES = 4 << 20       # float32 output per rendering batch (see render_batch)


def render_batch(channels: int, resolution: int, cap: int = 256) -> int:
    """Images per batch when rendering many: as many as fit RENDER_BATCH_BYTES of float32 output, 1..cap.
    Big batches of big images (a 62-glyph face is 1 MB) made the allocator map and unmap memory for every
    batch: measured on the fonts model, 512 faces in batches of 256 took 3.8 s wall of which 2.5 s were
    system time, in batches of 4 1.35 s (0.1 s system), with the same user time."""
    return max(1, min(cap, RENDER_BATCH_BYTES // max(channels * resolution * resolution * 4, 1)))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) float in [-1, 1] -> (B, H, W, C) uint8, clipping out-of-range values.
    Glyph stacks (C not 1 or 3) become glyph sheets: (B, H', W', 1), see `glyph_sheet`."""
    x = (x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    u8 = x.round().to(torch.uint8)
    if is_glyph_stack(u8.shape[1]):
        return np.stack([glyph_sheet(s) for s in u8.numpy()]) if len(u8) else np.zeros((0, 1, 1, 1), np.uint8)
    return u8.permute(0, 2, 3, 1).numpy()


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
    """PNG-encode an (H, W, C) uint8 image, optionally upscaled `scale` times with nearest neighbour;
    the scale is lowered (to 1 at least) so that the PNG holds at most MAX_PNG_PIXELS pixels."""
    return image_bytes(image, scale)


def image_bytes(image: np.ndarray, scale: int = 1, fmt: str = "PNG", quality: int = 80) -> bytes:
    """`png_bytes` in another of Pillow's formats ("WEBP": lossy at `quality`, for colour pictures a page
    sends many of); the same upscaling and pixel cap."""
    im = to_pil(image)
    scale = max(1, min(int(scale), math.isqrt(MAX_PNG_PIXELS // max(im.width * im.height, 1))))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": quality} if fmt == "WEBP" else {}))
    return buf.getvalue()


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> None:
    """Atomically write an (H, W, C) uint8 image as PNG."""
    fileio.atomic_write_bytes(path, png_bytes(image, scale))


@torch.inference_mode()
def sample_grid(G: Generator, n: int = 64, seed: int = 0, psi: float = 1.0,
                classes: torch.Tensor | None = None, nrow: int | None = None,
                device: torch.device | str = "cpu") -> np.ndarray:
    """A grid of n samples from seeds; conditional models cycle through the classes (one class per column)."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    nc = G.cfg.num_classes
    if nc and classes is None:
        classes = torch.arange(n) % nc
        nrow = nrow or nc
    c = classes.to(device) if nc and classes is not None else None
    x = G(z, c, psi=psi)
    if is_glyph_stack(x.shape[1]):                    # sheets are wide: fewer per row, white gaps
        return make_grid(to_uint8(x), nrow=nrow or max(1, math.ceil(math.sqrt(n / 2.5))), pad=8, fill=255)
    return make_grid(to_uint8(x), nrow=nrow)
