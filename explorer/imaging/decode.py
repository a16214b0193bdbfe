"""Decoding one untrusted image safely, and fitting it to a square training resolution.

`decode_image` never raises on hostile input (truncated files, non-images with image
extensions, decompression bombs, odd modes): it returns (image, None) or (None, reason).
The header's size is checked before any pixel is decoded, and Pillow's
DecompressionBombWarning is turned into an error as a second line of defence.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
FITS = ("crop", "pad")
Background = int | tuple[int, int, int]

@dataclass(frozen=True)
class Limits:
    max_files: int = 20_000                 # image candidates read per folder / zip; the rest are reported, not read
    max_file_bytes: int = 20 * 1024**2      # largest single file (zip: declared uncompressed size)
    max_total_bytes: int = 500 * 1024**2    # bytes read in all; reading stops (and says so) past it
    max_ratio: float = 100.0                # zip member uncompressed/compressed ratio above which it is a bomb
    max_pixels: int = 40_000_000            # width * height of one image, checked from the header before decoding
    max_side: int = 12_000                  # longest side of one image, ditto


def decode_image(data: bytes, name: str, max_pixels: int = Limits.max_pixels, max_side: int = Limits.max_side,
                 background: Background = (255, 255, 255)) -> tuple[Image.Image | None, str | None]:
    """Decode untrusted bytes into an 'L' or 'RGB' image; (image, None) or (None, reason). Never raises.

    Dimensions are checked from the header before any pixel is decoded; GIFs give their first
    frame; alpha and palette transparency are composited onto `background`.
    """
    if not data:
        return None, "empty file"
    try:
        # The header check below is the real guard; this filter only hardens Pillow's own
        # (catch_warnings is process-global: decode in one thread per process).
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
                return None, f"too large: {e}"
            except Exception:
                return None, "unsupported format: not a PNG, JPEG, WEBP, BMP or GIF image"
            w, h = img.size
            if w < 1 or h < 1:
                return None, f"corrupt: image has size {w}x{h}"
            if w * h > max_pixels or max(w, h) > max_side:
                return None, f"too large: {w}x{h} pixels (limit {max_pixels:,} pixels, {max_side} per side)"
            try:
                img.load()  # truncated or corrupt data raises here; LOAD_TRUNCATED_IMAGES stays off
            except Exception as e:
                return None, f"corrupt: {e}"
            return _to_l_or_rgb(img, background), None
    except Exception as e:  # conversion of an exotic mode, MemoryError, ...: still never raise
        return None, f"corrupt: {type(e).__name__}: {e}"


def _to_l_or_rgb(img: Image.Image, background: Background) -> Image.Image:
    """Any Pillow mode -> 'L' or 'RGB' (alpha composited onto `background`, 16-bit scaled to 8)."""
    mode = img.mode
    if mode in ("L", "RGB") and "transparency" not in img.info:
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img, dtype=np.float64)
        if mode == "F" and a.size and np.nanmax(a) <= 1.0:
            a = a * 255.0                            # float image in [0, 1]
        elif mode.startswith("I;16") or (mode != "F" and a.size and a.max() > 255):
            a = a * (255.0 / 65535.0)                # 16-bit range
        return Image.fromarray(np.nan_to_num(a).round().clip(0, 255).astype(np.uint8), "L")
    if "A" in mode or "a" in mode or "transparency" in img.info:
        rgba = img.convert("RGBA")
        bg = (background,) * 3 if isinstance(background, int) else tuple(background)
        base = Image.new("RGBA", rgba.size, (*bg, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return img.convert("RGB")                        # P, CMYK, YCbCr, LAB, HSV


def preprocess(img: Image.Image, resolution: int, channels: int, fit: str = "crop",
               background: Background | None = None) -> np.ndarray:
    """Square (centre crop, or pad with `background`; None = median border colour), resize with
    LANCZOS, convert to L or RGB. Returns (C, H, W) uint8."""
    _check_shape_args(resolution, channels, fit)
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    if fit == "crop":
        s = min(w, h)
        box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
        img = img.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    else:
        if background is None:
            a = np.asarray(img).reshape(h, w, -1)
            border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])                  # (2W + 2H, C)
            fill = tuple(int(v) for v in np.median(border, axis=0))
        else:
            fill = (background,) * 3 if isinstance(background, int) else tuple(background)
        s = max(w, h)
        square = Image.new(img.mode, (s, s), fill[0] if channels == 1 else fill)
        square.paste(img, ((s - w) // 2, (s - h) // 2))
        img = square.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=3.0)
    a = np.asarray(img, dtype=np.uint8).reshape(resolution, resolution, channels)     # (H, W, C)
    return np.ascontiguousarray(a.transpose(2, 0, 1))                                  # (C, H, W)


def _check_shape_args(resolution: int, channels: int, fit: str) -> None:
    if not 1 <= resolution <= 1024:
        raise ValueError(f"resolution must be in 1..1024, not {resolution}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
